"""diff, cp and commit: the throwaway sandbox, reviewed and partly kept."""
import os


def lines(p):
    return sorted(p.stdout.splitlines())


def test_diff_lists_added_changed_deleted(nook):
    nook("run", "--name", "d", "busybox", "--", "sh", "-c",
         "echo new > /root/added; echo more >> /etc/passwd; rm /bin/vi; "
         "mkdir -p /opt/app; echo 1 > /opt/app/f; rm -rf /home", check=True)
    out = lines(nook("diff", "d", check=True))
    assert out == sorted(["A /root/added", "C /etc/passwd", "D /bin/vi", "D /home",
                          "A /opt", "A /opt/app", "A /opt/app/f"])


def test_diff_of_an_untouched_instance_is_empty(nook):
    nook("create", "--name", "u", "busybox", check=True)
    assert nook("diff", "u", check=True).stdout == ""


def test_cp_out_of_and_into_a_stopped_and_a_running_instance(nook, tmp_path):
    nook("run", "--name", "s", "busybox", "--", "sh", "-c", "echo inside > /root/f", check=True)
    nook("cp", "s:/root/f", str(tmp_path / "f"), check=True)
    assert (tmp_path / "f").read_text() == "inside\n"
    nook("cp", "s:/etc/hostname", str(tmp_path / "h"), check=True)  # from the image layer
    assert (tmp_path / "h").read_text() == "nook\n"
    (tmp_path / "in").write_text("from host\n")
    nook("cp", str(tmp_path / "in"), "s:/root/in", check=True)
    nook("start", "-a", "s", timeout=30)
    nook("run", "-d", "--name", "r", "busybox", "--", "sleep", "60", check=True)
    nook("cp", str(tmp_path / "in"), "r:/tmp/in", check=True)
    assert nook("exec", "r", "--", "cat", "/tmp/in", check=True).stdout == "from host\n"
    nook("exec", "r", "--", "sh", "-c", "echo live > /tmp/live", check=True)
    nook("cp", "r:/tmp/live", str(tmp_path / "live"), check=True)
    assert (tmp_path / "live").read_text() == "live\n"


def test_cp_never_leaves_the_instance(nook, tmp_path):
    # A symlink inside pointing at the host's /etc/shadow resolves inside the instance.
    nook("run", "--name", "e", "busybox", "--", "ln", "-s", "/etc/shadow", "/root/link", check=True)
    p = nook("cp", "e:/root/link", str(tmp_path / "x"))
    assert p.returncode == 125
    assert not (tmp_path / "x").exists()
    p = nook("cp", "e:/../../etc/hostname", str(tmp_path / "y"), check=True)
    assert (tmp_path / "y").read_text() == "nook\n"  # the instance's, not the host's


def test_commit_keeps_the_changes_as_an_image(nook):
    nook("run", "--name", "c", "busybox", "--", "sh", "-c",
         "echo kept > /root/kept; rm /bin/vi; echo x >> /etc/passwd", check=True)
    nook("commit", "c", "kept", check=True)
    p = nook("run", "--rm", "kept", "--", "sh", "-c", "cat /root/kept; ls /bin/vi; tail -1 /etc/passwd")
    assert p.stdout == "kept\nx\n"
    assert "No such file" in p.stderr
    assert os.path.isdir(os.path.join(nook.root, "images", "kept", "rootfs"))


def test_errors(nook):
    assert nook("diff", "nosuch").returncode == 125
    assert nook("cp", "a", "b").returncode == 125
    assert nook("cp", "nosuch:/x", "/tmp/x").returncode == 125
    nook("create", "--name", "h", "host", check=True)
    p = nook("commit", "h", "hostcopy")
    assert p.returncode == 125 and "whole host" in p.stderr
