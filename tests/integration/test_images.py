"""Images: the built-in busybox and host images, and `nook image import|ls|rm` for
directories, rootfs tarballs, OCI layouts and `docker save` archives, built here in Python."""
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile

import pytest

from conftest import skip_or_fail

HOST_BUSYBOX = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.access(p, os.X_OK)), None)


@pytest.fixture
def busybox_bin():
    if not HOST_BUSYBOX:
        skip_or_fail("no static busybox on this host (apt-get install busybox-static)")
    return HOST_BUSYBOX


def images_dir(nook):
    return os.path.join(nook.root, "images")


def image_names(nook):
    p = nook("image", "ls")
    assert p.returncode == 0, p.stderr
    return [line.split()[0] for line in p.stdout.splitlines()[1:] if line.strip()]


def leftovers(nook):
    """Image directories other than busybox: staging dirs of failed imports included."""
    return sorted(n for n in os.listdir(images_dir(nook)) if n != "busybox")


def make_rootfs(top, busybox, files=None):
    """A minimal runnable root: static busybox, a few applet links, extra files."""
    os.makedirs(os.path.join(top, "bin"), exist_ok=True)
    shutil.copy2(busybox, os.path.join(top, "bin", "busybox"))
    for applet in ("sh", "cat", "ls", "pwd"):
        os.symlink("busybox", os.path.join(top, "bin", applet))
    for rel, text in (files or {}).items():
        path = os.path.join(top, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


# --- built-in images ----------------------------------------------------------------

def test_busybox_image_is_built_on_first_use(nook):
    shutil.rmtree(os.path.join(images_dir(nook), "busybox"))
    p = nook("run", "--rm", "busybox", "--", "sh", "-c",
             "for a in sh ls cat grep sed awk wget vi; do command -v $a || echo missing-$a; done")
    assert p.returncode == 0, p.stderr
    assert "missing-" not in p.stdout, p.stdout
    rootfs = os.path.join(images_dir(nook), "busybox", "rootfs")
    with open(os.path.join(rootfs, "bin", "busybox"), "rb") as a, open(HOST_BUSYBOX or "/bin/busybox", "rb") as b:
        assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()
    etc = {name: open(os.path.join(rootfs, "etc", name)).read()
           for name in ("passwd", "group", "hosts", "hostname", "resolv.conf")}
    assert etc["passwd"].startswith("root:x:0:0:")
    assert "root:x:0:" in etc["group"]
    assert "127.0.0.1" in etc["hosts"] and "localhost" in etc["hosts"]
    assert etc["hostname"].strip()
    modes = {d: oct(os.stat(os.path.join(rootfs, d)).st_mode & 0o7777)
             for d in ("tmp", "var/tmp", "mnt")}
    assert modes == {"tmp": "0o1777", "var/tmp": "0o1777", "mnt": "0o755"}
    assert "busybox" in image_names(nook)


def test_host_image_changes_are_thrown_away(nook):
    usr_before = sorted(os.listdir("/usr"))
    p = nook("run", "--rm", "host", "--", "sh", "-c",
             "rm -rf /usr 2>/dev/null; [ -e /usr ] && echo present || echo gone", timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "gone\n"
    assert sorted(os.listdir("/usr")) == usr_before
    assert os.access("/usr/bin/env", os.X_OK)


def test_host_image_cannot_see_nook_state(nook):
    secret = os.path.join(nook.root, "images", "secret-marker")
    with open(secret, "w") as f:
        f.write("not for the sandbox\n")
    p = nook("run", "--rm", "host", "--", "sh", "-c",
             f"ls -A {nook.root} {nook.run_dir}; cat {secret} 2>/dev/null || echo unreadable; "
             f"ls -A {nook.root}/images/busybox 2>/dev/null | wc -l")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "unreadable" in lines
    assert "not for the sandbox" not in p.stdout
    assert not any(n in lines for n in ("images", "instances", "busybox")), p.stdout
    assert lines[-1] == "0"


# --- importing ----------------------------------------------------------------------

def test_import_directory(nook, tmp_path, busybox_bin):
    src = tmp_path / "src"
    make_rootfs(src, busybox_bin, {"etc/marker": "from a directory\n"})
    p = nook("image", "import", "dirimg", str(src))
    assert p.returncode == 0, p.stderr
    # The image is a copy: changing the source later changes nothing.
    (src / "etc" / "marker").write_text("changed\n")
    p = nook("run", "--rm", "dirimg", "--", "cat", "/etc/marker")
    assert (p.returncode, p.stdout) == (0, "from a directory\n"), p.stderr
    # No Cmd in a plain directory: the default is /bin/sh, cwd /.
    p = nook("run", "--rm", "-i", "dirimg", input="pwd; echo shell=$0\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["/", "shell=/bin/sh"]
    assert "dirimg" in image_names(nook)


@pytest.mark.parametrize("suffix,mode", [(".tar", "w"), (".tar.gz", "w:gz")])
def test_import_rootfs_tarball(nook, tmp_path, busybox_bin, suffix, mode):
    src = tmp_path / "src"
    make_rootfs(src, busybox_bin, {"etc/marker": f"from {suffix}\n", "srv/deep/file": "deep\n"})
    archive = tmp_path / f"rootfs{suffix}"
    with tarfile.open(archive, mode) as t:
        t.add(src, arcname=".")
    name = "tarimg" + suffix.replace(".", "-")
    p = nook("image", "import", name, str(archive))
    assert p.returncode == 0, p.stderr
    p = nook("run", "--rm", name, "--", "sh", "-c", "cat /etc/marker /srv/deep/file")
    assert (p.returncode, p.stdout) == (0, f"from {suffix}\ndeep\n"), p.stderr
    assert name in image_names(nook)


def tar_bytes(entries, gz=False):
    """entries: (name, kind, payload) with kind file|dir|symlink|hardlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind in ("symlink", "hardlink"):
                ti.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                ti.linkname = payload
                t.addfile(ti)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                ti.size, ti.mode = len(data), 0o755 if name.endswith("busybox") else 0o644
                t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw


def layers(busybox):
    with open(busybox, "rb") as f:
        bb = f.read()
    base = [("bin", "dir", None), ("bin/busybox", "file", bb), ("bin/sh", "symlink", "busybox"),
            ("bin/ls", "symlink", "busybox"), ("bin/cat", "symlink", "busybox"),
            ("etc", "dir", None), ("etc/keep", "file", "keep\n"), ("etc/gone", "file", "gone\n"),
            ("opt", "dir", None), ("opt/dir", "dir", None), ("opt/dir/old", "file", "old\n"),
            ("opt/dir/sub", "dir", None), ("opt/dir/sub/deep", "file", "deep\n")]
    top = [("etc", "dir", None), ("etc/.wh.gone", "file", ""), ("etc/added", "file", "added\n"),
           ("opt/dir", "dir", None), ("opt/dir/.wh..wh..opq", "file", ""),
           ("opt/dir/new", "file", "new\n")]
    return [tar_bytes(base), tar_bytes(top)]


# hosts, hostname and resolv.conf are nook's own, bound over the image's (as Docker does).
SCRIPT = ("echo cwd=$(pwd); echo greeting=$GREETING; "
          "echo etc=$(ls -A /etc | grep -vx -e hosts -e hostname -e resolv.conf); "
          "echo optdir=$(ls -A /opt/dir); cat /etc/added")
EXPECTED = ["cwd=/opt/dir", "greeting=hello from config", "etc=added keep", "optdir=new", "added"]


def image_config(diff_ids, **cfg):
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": dict(Env=["PATH=/bin", "GREETING=hello from config"], WorkingDir="/opt/dir", **cfg),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }).encode()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_oci_layout(top, busybox):
    blobs = top / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data, media):
        (blobs / sha(data)[7:]).write_bytes(data)
        return {"mediaType": media, "digest": sha(data), "size": len(data)}

    raw = layers(busybox)
    gz = [gzip.compress(r, mtime=0) for r in raw]
    config = image_config([sha(r) for r in raw], Cmd=["/bin/sh", "-c", SCRIPT])
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(g, "application/vnd.oci.image.layer.v1.tar+gzip") for g in gz],
    }).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [blob(manifest, "application/vnd.oci.image.manifest.v1+json")]}
    (top / "index.json").write_text(json.dumps(index))
    (top / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


def write_docker_save(path, busybox):
    raw = layers(busybox)
    config = image_config([sha(r) for r in raw], Entrypoint=["/bin/sh", "-c"], Cmd=[SCRIPT])
    config_name = sha(config)[7:] + ".json"
    layer_names = [f"{hashlib.sha256(r).hexdigest()}/layer.tar" for r in raw]
    members = [(config_name, config)] + list(zip(layer_names, raw))
    members.append(("manifest.json", json.dumps([{
        "Config": config_name, "RepoTags": ["nooktest:latest"], "Layers": layer_names}]).encode()))
    members.append(("repositories", json.dumps(
        {"nooktest": {"latest": hashlib.sha256(raw[-1]).hexdigest()}}).encode()))
    with tarfile.open(path, "w") as t:
        for name, data in members:
            if "/" in name:
                d = tarfile.TarInfo(name.split("/")[0])
                d.type, d.mode = tarfile.DIRTYPE, 0o755
                t.addfile(d)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def test_import_oci_layout_applies_layers_whiteouts_and_config(nook, tmp_path, busybox_bin):
    layout = tmp_path / "layout"
    write_oci_layout(layout, busybox_bin)
    p = nook("image", "import", "ociimg", str(layout))
    assert p.returncode == 0, p.stderr
    p = nook("run", "--rm", "ociimg")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == EXPECTED
    rootfs = os.path.join(images_dir(nook), "ociimg", "rootfs")
    assert not os.path.lexists(os.path.join(rootfs, "etc", ".wh.gone"))
    assert sorted(os.listdir(os.path.join(rootfs, "opt", "dir"))) == ["new"]


def test_import_docker_save_tarball(nook, tmp_path, busybox_bin):
    archive = tmp_path / "saved.tar"
    write_docker_save(archive, busybox_bin)
    p = nook("image", "import", "savedimg", str(archive))
    assert p.returncode == 0, p.stderr
    p = nook("run", "--rm", "savedimg")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == EXPECTED
    # Arguments replace Cmd and keep the Entrypoint, as in Docker.
    p = nook("run", "--rm", "savedimg", "--", "echo override in $(pwd)")
    assert (p.returncode, p.stdout) == (0, "override in /opt/dir\n"), p.stderr
    assert {"ociimg", "savedimg"} & set(image_names(nook)) == {"savedimg"}


UP = "../" * 24


def traversal_entries(tmp_path, vector):
    outside, victim = tmp_path / "outside", tmp_path / "victim"
    return {
        "dotdot": [(UP + str(outside / "dotdot").lstrip("/"), "file", "escaped by ..\n")],
        "absolute": [(str(outside / "absolute"), "file", "escaped by an absolute name\n")],
        "abs-symlink": [("esc", "symlink", str(outside)),
                        ("esc/through-link", "file", "escaped through a symlink\n")],
        "rel-symlink": [("esc", "symlink", UP + str(outside).lstrip("/")),
                        ("esc/through-link", "file", "escaped through a symlink\n")],
        "dir-symlink-chain": [("a", "symlink", "."), ("b", "symlink", "a/" + UP.rstrip("/")),
                              ("b" + str(outside) + "/chained", "file", "escaped\n")],
        "abs-hardlink": [("hl", "hardlink", str(victim))],
        "rel-hardlink": [("hl", "hardlink", UP + str(victim).lstrip("/"))],
    }[vector]


@pytest.mark.parametrize("vector", ["dotdot", "absolute", "abs-symlink", "rel-symlink",
                                    "dir-symlink-chain", "abs-hardlink", "rel-hardlink"])
def test_tar_traversal_never_writes_outside_the_image(nook, tmp_path, busybox_bin, vector):
    outside, victim = tmp_path / "outside", tmp_path / "victim"
    outside.mkdir()
    victim.write_text("host secret\n")
    with open(busybox_bin, "rb") as f:
        entries = [("bin", "dir", None), ("bin/busybox", "file", f.read()),
                   ("bin/sh", "symlink", "busybox"), ("bin/cat", "symlink", "busybox")]
    entries += traversal_entries(tmp_path, vector) + [("etc/ok", "file", "fine\n")]
    archive = tmp_path / "evil.tar"
    archive.write_bytes(tar_bytes(entries))
    p = nook("image", "import", "evil", str(archive))
    assert p.returncode in (0, 125), p.stderr
    assert os.listdir(outside) == [], "the archive wrote outside the image"
    assert victim.read_text() == "host secret\n" and os.stat(victim).st_nlink == 1
    assert sorted(os.listdir(tmp_path)) == ["evil.tar", "outside", "victim"]
    if p.returncode == 125:
        assert "evil" in p.stderr
        assert leftovers(nook) == [], "a refused import left a directory behind"
        return
    # Accepted (names made relative, links kept inside): nothing in it is the host's file.
    vino = os.stat(victim).st_ino
    for dirpath, _, files in os.walk(os.path.join(images_dir(nook), "evil")):
        for name in files:
            assert os.lstat(os.path.join(dirpath, name)).st_ino != vino
    r = nook("run", "--rm", "evil", "--", "sh", "-c", "cat /hl /esc/through-link 2>/dev/null; echo end")
    assert r.returncode == 0, r.stderr
    assert "host secret" not in r.stdout


# --- ls and rm ----------------------------------------------------------------------

def test_image_rm_removes_and_is_refused_while_in_use(nook, tmp_path, busybox_bin):
    src = tmp_path / "src"
    make_rootfs(src, busybox_bin)
    assert nook("image", "import", "inuse", str(src)).returncode == 0
    p = nook("run", "-d", "--name", "user1", "inuse", "--", "sh", "-c", "sleep 30")
    assert p.returncode == 0, p.stderr
    p = nook("image", "rm", "inuse")
    assert p.returncode == 125
    assert "user1" in p.stderr and "inuse" in p.stderr
    assert os.path.isdir(os.path.join(images_dir(nook), "inuse", "rootfs"))
    # A stopped instance still stands on the image: restarting it needs the rootfs.
    assert nook("stop", "user1", timeout=30).returncode == 0
    p = nook("image", "rm", "inuse")
    assert p.returncode == 125 and "user1" in p.stderr
    assert nook("rm", "user1").returncode == 0
    p = nook("image", "rm", "inuse")
    assert p.returncode == 0, p.stderr
    assert "inuse" not in image_names(nook)
    assert not os.path.exists(os.path.join(images_dir(nook), "inuse"))


def test_image_rm_refuses_unknown_and_builtin_names(nook):
    p = nook("image", "rm", "no-such-image")
    assert p.returncode == 125
    assert "no-such-image" in p.stderr
    p = nook("image", "rm", "host")
    assert p.returncode == 125 and "host" in p.stderr
    p = nook("image", "rm", "../busybox")
    assert p.returncode == 125
    assert os.path.isdir(os.path.join(images_dir(nook), "busybox"))


def test_bad_import_sources_fail_cleanly(nook, tmp_path):
    missing = tmp_path / "does-not-exist"
    p = nook("image", "import", "ghost", str(missing))
    assert p.returncode == 125
    assert str(missing) in p.stderr
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(4096))
    p = nook("image", "import", "junk", str(junk))
    assert p.returncode == 125
    assert str(junk) in p.stderr
    truncated = tmp_path / "truncated.tar.gz"
    whole = gzip.compress(tar_bytes([("etc/x", "file", os.urandom(100000))]))
    truncated.write_bytes(whole[:len(whole) // 2])
    p = nook("image", "import", "trunc", str(truncated))
    assert p.returncode == 125
    assert str(truncated) in p.stderr
    assert leftovers(nook) == []
    assert not {"ghost", "junk", "trunc"} & set(image_names(nook))


def test_import_refuses_bad_names_and_duplicates(nook, tmp_path, busybox_bin):
    src = tmp_path / "src"
    make_rootfs(src, busybox_bin)
    p = nook("image", "import", "../escape", str(src))
    assert p.returncode == 125 and "escape" in p.stderr
    assert not os.path.exists(os.path.join(nook.root, "escape"))
    assert nook("image", "import", "twice", str(src)).returncode == 0
    p = nook("image", "import", "twice", str(src))
    assert p.returncode == 125 and "twice" in p.stderr
    p = nook("image", "import", "host", str(src))
    assert p.returncode == 125
    assert leftovers(nook) == ["twice"]
