"""An instance's life from the outside: run, create/start/stop, signals, restart, logs,
exec, attach, stdin, environment, and what is left behind (nothing) after rm."""
import json
import os
import subprocess
import time

import pytest
from nooktest import wait_until as wait_for

NOOK = os.path.abspath(os.environ.get("NOOK_BIN")
                       or os.path.join(os.path.dirname(__file__), "..", "..", "nook"))
HIERARCHIES = ("memory", "pids", "cpu", "cpuacct", "freezer", "blkio")


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


def cgroup_dirs(info):
    """The cgroup directories inspect says the instance has, for its layout."""
    paths = info["Paths"]
    cg = paths["cgroup"].lstrip("/")
    if paths["cgroup_layout"] == "v1":
        return [f"/sys/fs/cgroup/{h}/{cg}" for h in HIERARCHIES]
    assert paths["cgroup_layout"] == "v2", paths
    return [f"/sys/fs/cgroup/{cg}"]


def status(nook, name):
    return nook.state(name)["status"]


def wait_status(nook, name, want, timeout=10.0):
    wait_for(lambda: status(nook, name) == want, timeout, what=f"{name} to be {want}")


def run_d(nook, name, *cmd, opts=()):
    p = nook("run", "-d", "--name", name, *opts, "busybox", "--", *cmd)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == name
    return p


def mountinfo_mentions(text):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if text in l]


def assert_nothing_left(nook, name, cgdirs):
    assert not os.path.exists(os.path.join(nook.root, "instances", name))
    assert name not in nook.instances()
    assert not os.path.exists(os.path.join(nook.run_dir, name + ".sock"))
    assert [d for d in cgdirs if os.path.exists(d)] == []
    assert mountinfo_mentions(os.path.join(nook.root, "instances", name)) == []
    leftovers = [e for e in os.listdir(os.path.join(nook.root, "instances"))
                 if e.startswith(".")] if os.path.isdir(os.path.join(nook.root, "instances")) else []
    assert leftovers == []


# --- run ------------------------------------------------------------------------------

def test_run_foreground_output_and_status(nook):
    p = nook("run", "--name", "fg", "busybox", "--", "sh", "-c",
             "echo out; echo err >&2; exit 5")
    assert p.returncode == 5
    assert p.stdout == "out\n"
    assert "err\n" in p.stderr
    st = nook.state("fg")
    assert st["status"] == "stopped"
    assert st["exit_code"] == 5
    assert st["exit_reason"] == "exited"
    assert not pid_alive(st.get("monitor_pid"))


def test_run_detached_shows_running_with_live_pids(nook):
    run_d(nook, "bg", "sleep", "100")
    ls = nook("ls", check=True).stdout
    assert any(line.split()[0] == "bg" and "running" in line for line in ls.splitlines()[1:])
    rows = json.loads(nook("ls", "--json", check=True).stdout)
    assert [r["name"] for r in rows] == ["bg"]
    row = rows[0]
    assert row["state"] == "running"
    assert row["kind"] == "container"
    assert row["image"] == "busybox"
    assert row["command"] == "sleep 100"
    assert pid_alive(row["pid"])

    info = nook.inspect("bg")
    assert info["Name"] == "bg"
    assert info["Image"] == "busybox"
    st = info["State"]
    assert st["status"] == "running"
    assert st["init_pid"] == row["pid"]
    assert pid_alive(st["monitor_pid"]) and pid_alive(st["init_pid"])
    assert "nook monitor bg" in cmdline(st["monitor_pid"])
    assert info["Config"]["process"]["args"] == ["sleep", "100"]
    assert os.path.exists(info["Paths"]["socket"])
    assert info["Paths"]["socket"] == os.path.join(nook.run_dir, "bg.sock")
    for d in cgroup_dirs(info):
        assert os.path.isdir(d), d
    procs_file = os.path.join(cgroup_dirs(info)[0], "cgroup.procs")
    with open(procs_file) as f:
        assert str(st["init_pid"]) in f.read().split()


def test_create_start_stop(nook):
    p = nook("create", "--name", "cs", "busybox", "--", "sleep", "100")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "cs"
    st = nook.state("cs")
    assert st["status"] == "created"
    assert not pid_alive(st.get("monitor_pid"))
    assert "cs" not in nook("ls", check=True).stdout
    assert "cs" in nook("ls", "-a", check=True).stdout

    p = nook("start", "cs")
    assert p.returncode == 0, p.stderr
    st = nook.state("cs")
    assert st["status"] == "running"
    assert pid_alive(st["init_pid"]) and pid_alive(st["monitor_pid"])
    init, mon = st["init_pid"], st["monitor_pid"]

    p = nook("stop", "cs")
    assert p.returncode == 0, p.stderr
    st = nook.state("cs")
    assert st["status"] == "stopped"
    assert st["exit_code"] == 143
    assert st["exit_reason"] == "signaled"
    wait_for(lambda: not pid_alive(init) and not pid_alive(mon), 5, what="init and monitor to go")
    assert "cs" not in nook("ls", check=True).stdout


def test_stop_escalates_to_sigkill_after_grace(nook):
    run_d(nook, "stubborn", "sh", "-c", "trap '' TERM; while :; do sleep 1; done")
    t0 = time.monotonic()
    p = nook("stop", "-t", "1", "stubborn")
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    assert 0.8 <= took < 5, took
    st = nook.state("stubborn")
    assert st["status"] == "stopped"
    assert st["exit_code"] == 137
    assert st["exit_reason"] == "killed"


def test_kill_delivers_signal(nook, tmp_path):
    vol = str(tmp_path)
    run_d(nook, "sig", "sh", "-c",
          "trap 'echo got > /v/usr1' USR1; touch /v/ready; while :; do sleep 0.1; done",
          opts=("-v", f"{vol}:/v"))
    wait_for(lambda: os.path.exists(os.path.join(vol, "ready")), what="the trap to be set")
    p = nook("kill", "-s", "USR1", "sig")
    assert p.returncode == 0, p.stderr
    wait_for(lambda: os.path.exists(os.path.join(vol, "usr1")), 5, what="USR1 to arrive")
    assert status(nook, "sig") == "running"
    # The default signal is KILL.
    assert nook("kill", "sig").returncode == 0
    wait_status(nook, "sig", "stopped")
    st = nook.state("sig")
    assert st["exit_code"] == 137


def test_restart_gives_new_init(nook):
    run_d(nook, "rs", "sleep", "100")
    old = nook.state("rs")["init_pid"]
    p = nook("restart", "rs")
    assert p.returncode == 0, p.stderr
    st = nook.state("rs")
    assert st["status"] == "running"
    assert st["init_pid"] != old
    assert pid_alive(st["init_pid"])
    wait_for(lambda: not pid_alive(old), 5, what="the old init to go")


def test_start_attach_streams_output_and_returns_status(nook):
    assert nook("create", "--name", "sa", "busybox", "--", "sh", "-c",
                "echo one; echo two; exit 7").returncode == 0
    p = nook("start", "-a", "sa")
    assert p.returncode == 7
    assert p.stdout == "one\ntwo\n"
    assert nook.state("sa")["status"] == "stopped"


# --- logs -----------------------------------------------------------------------------

def test_logs_and_tail(nook):
    p = nook("run", "--name", "lg", "busybox", "--", "sh", "-c",
             "for i in 1 2 3 4 5; do echo line$i; done")
    assert p.returncode == 0
    p = nook("logs", "lg")
    assert p.returncode == 0
    assert p.stdout == "".join(f"line{i}\n" for i in range(1, 6))
    p = nook("logs", "-n", "2", "lg")
    assert p.returncode == 0
    assert p.stdout == "line4\nline5\n"


def test_logs_follow_ends_when_instance_stops(nook):
    run_d(nook, "lf", "sh", "-c", "echo first; sleep 1; echo second")
    f = nook.popen("logs", "-f", "lf", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, _ = f.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        f.kill()
        f.communicate()
        pytest.fail("logs -f did not end after the instance stopped")
    assert f.returncode == 0
    assert out == "first\nsecond\n"
    assert nook.state("lf")["status"] == "stopped"


# --- exec -----------------------------------------------------------------------------

def test_exec_same_namespaces_status_env_workdir(nook):
    run_d(nook, "ex", "sleep", "100", opts=("--hostname", "exhost"))
    p = nook("exec", "ex", "--", "hostname")
    assert (p.returncode, p.stdout) == (0, "exhost\n")
    p = nook("exec", "ex", "--", "ps")
    assert p.returncode == 0
    assert "sleep 100" in p.stdout
    # Same pid namespace: the instance's sleep is a low pid there, not the host's pid.
    host_pids = {str(nook.state("ex")["init_pid"])}
    assert not host_pids & {l.split()[0] for l in p.stdout.splitlines()[1:]}
    # Same mount namespace: a file written by exec is seen by another exec.
    assert nook("exec", "ex", "--", "sh", "-c", "echo x > /tmp/mark").returncode == 0
    assert nook("exec", "ex", "--", "cat", "/tmp/mark").stdout == "x\n"
    p = nook("exec", "ex", "--", "sh", "-c", "exit 3")
    assert p.returncode == 3
    p = nook("exec", "-e", "FOO=bar baz", "-w", "/tmp", "ex", "--", "sh", "-c", 'echo "$FOO"; pwd')
    assert (p.returncode, p.stdout) == (0, "bar baz\n/tmp\n")
    assert status(nook, "ex") == "running"


def test_exec_stdin(nook):
    run_d(nook, "exi", "sleep", "100")
    p = nook("exec", "-i", "exi", "--", "cat", input="hello\nworld\n", timeout=10)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hello\nworld\n"
    time.sleep(0.3)
    # An exec ending must not end the instance.
    st = nook.state("exi")
    assert st["status"] == "running", st
    assert nook("exec", "exi", "--", "true").returncode == 0


def test_exec_into_stopped_instance_fails(nook):
    assert nook("run", "--name", "dead", "busybox", "--", "true").returncode == 0
    p = nook("exec", "dead", "--", "true")
    assert p.returncode == 125
    assert "not running" in p.stderr


# --- attach and stdin -----------------------------------------------------------------

def _attach(nook, name):
    pexpect = pytest.importorskip("pexpect")
    c = pexpect.spawn(NOOK, ["attach", name], env=nook.env, timeout=5, encoding="utf-8")
    c.expect("Ctrl-Q")
    return c


def test_attach_detach_reattach(nook):
    pexpect = pytest.importorskip("pexpect")
    run_d(nook, "tt", "sh", "-c", 'while read l; do echo "got:$l"; done; exit 4',
          opts=("-i", "-t"))
    c = _attach(nook, "tt")
    try:
        c.send("abc\r")
        c.expect("got:abc")
        c.send("\x10\x11")  # Ctrl-P Ctrl-Q
        c.expect(pexpect.EOF)
    finally:
        c.close(force=True)
    time.sleep(0.2)
    assert status(nook, "tt") == "running"

    c = _attach(nook, "tt")
    try:
        c.send("def\r")
        c.expect("got:def")
        c.sendeof()  # Ctrl-D on the instance's terminal: read fails, the loop ends.
        c.expect(pexpect.EOF)
    finally:
        c.close(force=True)
    wait_status(nook, "tt", "stopped", 5)
    assert nook.state("tt")["exit_code"] == 4


def test_attach_tty_without_stdin_streams_and_detaches(nook):
    """-t without -i: attach shows the output, and Ctrl-P Ctrl-Q still detaches."""
    pexpect = pytest.importorskip("pexpect")
    run_d(nook, "tick", "sh", "-c", "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1; done",
          opts=("-t",))
    c = _attach(nook, "tick")
    try:
        c.expect(r"tick\d+")
        c.send("\x10\x11")
        c.expect(pexpect.EOF, timeout=3)
    finally:
        c.close(force=True)
    assert status(nook, "tick") == "running"


def test_run_interactive_forwards_stdin(nook):
    p = nook("run", "--rm", "-i", "busybox", "--", "sh", "-c", 'read a; read b; echo "$b-$a"',
             input="one\ntwo\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "two-one\n"
    p = nook("run", "--rm", "-i", "busybox", "--", "wc", "-c", input="x" * 100000)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "100000"


def test_env_workdir_hostname(nook):
    p = nook("run", "--rm", "-e", "A=1", "-e", "B=x y", "-w", "/tmp", "--hostname", "hh",
             "busybox", "--", "sh", "-c", 'echo "$A|$B"; pwd; hostname')
    assert p.returncode == 0, p.stderr
    assert p.stdout == "1|x y\n/tmp\nhh\n"
    # Without --hostname the hostname is the instance name.
    p = nook("run", "--rm", "--name", "named", "busybox", "--", "hostname")
    assert p.stdout == "named\n"


# --- removal --------------------------------------------------------------------------

def test_rm_flag_removes_after_exit(nook):
    p = nook("run", "--rm", "--name", "gone", "busybox", "--", "sh", "-c", "exit 2")
    assert p.returncode == 2
    assert nook.instances() == []
    assert not os.path.exists(os.path.join(nook.run_dir, "gone.sock"))

    run_d(nook, "gone2", "sleep", "0.5", opts=("--rm",))
    cg = cgroup_dirs(nook.inspect("gone2"))
    wait_for(lambda: "gone2" not in nook.instances(), 10, what="--rm instance to disappear")
    wait_for(lambda: not any(os.path.exists(d) for d in cg), 5, what="--rm cgroup to go")
    assert_nothing_left(nook, "gone2", cg)


def test_rm_leaves_nothing(nook, tmp_path):
    run_d(nook, "clean", "sleep", "100", opts=("-v", f"{tmp_path}:/v"))
    info = nook.inspect("clean")
    cg = cgroup_dirs(info)
    mon = info["State"]["monitor_pid"]
    assert nook("stop", "-t", "1", "clean").returncode == 0
    p = nook("rm", "clean")
    assert p.returncode == 0, p.stderr
    assert_nothing_left(nook, "clean", cg)
    assert not pid_alive(mon)
    assert os.path.isdir(tmp_path)  # the volume's source survives

    run_d(nook, "clean2", "sleep", "100", opts=("-v", f"{tmp_path}:/v"))
    info = nook.inspect("clean2")
    cg = cgroup_dirs(info)
    p = nook("rm", "-f", "clean2")
    assert p.returncode == 0, p.stderr
    assert_nothing_left(nook, "clean2", cg)
    wait_for(lambda: not pid_alive(info["State"]["init_pid"]), 5, what="init to go")
