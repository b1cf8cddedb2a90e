"""The monitor: instances outlive the CLI that started them, die with their monitor and
are reconciled afterwards, names are claimed atomically, the console log is capped."""
import json
import os
import signal
import subprocess
import time

import pytest
from nooktest import wait_until as wait_for

HIERARCHIES = ("memory", "pids", "cpu", "cpuacct", "freezer", "blkio")
MiB = 1024 * 1024


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    if not pid or pid <= 0:
        return False
    st = proc_stat(pid)
    return bool(st) and st[0] != "Z"


def cgroup_dirs(info):
    paths = info["Paths"]
    cg = paths["cgroup"].lstrip("/")
    if paths["cgroup_layout"] == "v1":
        return [f"/sys/fs/cgroup/{h}/{cg}" for h in HIERARCHIES]
    assert paths["cgroup_layout"] == "v2", paths
    return [f"/sys/fs/cgroup/{cg}"]


def run_d(nook, name, *cmd, opts=()):
    p = nook("run", "-d", "--name", name, *opts, "busybox", "--", *cmd)
    assert p.returncode == 0, p.stderr
    return p


def ls_all(nook):
    p = nook("ls", "-a", "--json")
    assert p.returncode == 0, p.stderr
    return {r["name"]: r for r in json.loads(p.stdout)}


def assert_alive_and_reachable(nook, name):
    st = nook.state(name)
    assert st["status"] == "running", st
    assert pid_alive(st["monitor_pid"]) and pid_alive(st["init_pid"])
    p = nook("exec", name, "--", "echo", "still-here")
    assert (p.returncode, p.stdout) == (0, "still-here\n"), p.stderr
    assert ls_all(nook)[name]["state"] == "running"


# --- the CLI going away ---------------------------------------------------------------

def test_detached_instance_survives_its_cli_session(nook):
    """`run -d` from a session that is then torn down (SIGHUP + SIGKILL to its group)."""
    cli = nook.popen("run", "-d", "--name", "bg", "busybox", "--", "sleep", "100",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                     start_new_session=True)
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 0, err
    assert out.strip() == "bg"
    for sig in (signal.SIGHUP, signal.SIGKILL):
        try:
            os.killpg(cli.pid, sig)
        except ProcessLookupError:
            pass
    time.sleep(0.3)
    assert_alive_and_reachable(nook, "bg")


def test_foreground_cli_killed_instance_keeps_running(nook):
    cli = nook.popen("run", "--name", "fg", "busybox", "--", "sleep", "100",
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: os.path.exists(os.path.join(nook.root, "instances", "fg", "state.json"))
                 and nook.state("fg")["status"] == "running", 10, what="fg to run")
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=10)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    time.sleep(0.3)
    assert_alive_and_reachable(nook, "fg")


# --- the monitor going away -----------------------------------------------------------

def _kill_monitor(nook, name):
    info = nook.inspect(name)
    st = info["State"]
    mon, init = st["monitor_pid"], st["init_pid"]
    assert pid_alive(mon) and pid_alive(init)
    cg = cgroup_dirs(info)
    sock = info["Paths"]["socket"]
    assert os.path.exists(sock) and all(os.path.isdir(d) for d in cg)
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: not pid_alive(mon), 5, what="the monitor to die")
    # PDEATHSIG: the container's init goes with its monitor.
    wait_for(lambda: not pid_alive(init), 5, what="the init to die with its monitor")
    return cg, sock


def test_monitor_killed_is_reconciled(nook):
    run_d(nook, "ml", "sleep", "100")
    cg, sock = _kill_monitor(nook, "ml")
    row = ls_all(nook)["ml"]
    assert row["state"] == "stopped", row
    assert row["exit_reason"] == "monitor-lost", row
    st = nook.state("ml")
    assert st["status"] == "stopped" and st["exit_reason"] == "monitor-lost"
    assert not pid_alive(st.get("init_pid")) and not pid_alive(st.get("monitor_pid"))
    assert not os.path.exists(sock)
    assert [d for d in cg if os.path.exists(d)] == []
    # And it can be started again and removed normally.
    assert nook("start", "ml").returncode == 0
    assert nook.state("ml")["status"] == "running"
    assert nook("rm", "-f", "ml").returncode == 0
    assert nook.instances() == []


def test_monitor_killed_rm_instance_disappears(nook):
    run_d(nook, "mlrm", "sleep", "100", opts=("--rm",))
    cg, sock = _kill_monitor(nook, "mlrm")
    assert "mlrm" not in ls_all(nook)
    assert not os.path.exists(os.path.join(nook.root, "instances", "mlrm"))
    assert not os.path.exists(sock)
    assert [d for d in cg if os.path.exists(d)] == []


def test_recorded_start_times_match_proc(nook):
    """monitor_start/init_start identify the processes (guard against pid reuse); they must
    be the kernel's start time (field 22 of /proc/PID/stat), which never changes."""
    run_d(nook, "st", "sleep", "100")
    st = nook.state("st")
    for pid_key, start_key in (("monitor_pid", "monitor_start"), ("init_pid", "init_start")):
        if start_key not in st:
            pytest.skip("state.json records no start times")
        fields = proc_stat(st[pid_key])
        assert fields is not None
        assert st[start_key] == int(fields[19]), (start_key, st[start_key], fields[19])


def test_healthy_instance_never_reconciled_as_lost(nook, tmp_path):
    """A running instance whose monitor has been busy (volume, signals, exec, logs) must not
    be declared monitor-lost by later commands."""
    run_d(nook, "busy", "sh", "-c",
          "trap 'echo usr1 >> /v/seen' USR1; touch /v/ready; while :; do echo tick; sleep 0.1; done",
          opts=("-v", f"{tmp_path}:/v"))
    wait_for(lambda: (tmp_path / "ready").exists(), what="ready")
    for _ in range(3):
        p = nook("kill", "-s", "USR1", "busy")
        assert p.returncode == 0, p.stderr
        assert nook("exec", "busy", "--", "true").returncode == 0
        assert nook("logs", "-n", "1", "busy").returncode == 0
        assert ls_all(nook)["busy"]["state"] == "running"
    st = nook.state("busy")
    assert st["status"] == "running" and st["exit_reason"] == ""
    wait_for(lambda: (tmp_path / "seen").exists(), 5, what="USR1 to arrive")


# --- names claimed atomically ---------------------------------------------------------

def test_concurrent_runs_same_name(nook):
    n = 8
    procs = [nook.popen("run", "-d", "--name", "same", "busybox", "--", "sleep", "100",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=30)
        results.append((p.returncode, out, err))
    ok = [r for r in results if r[0] == 0]
    bad = [r for r in results if r[0] != 0]
    assert len(ok) == 1, results
    assert ok[0][1].strip() == "same"
    for rc, _, err in bad:
        assert rc == 125, (rc, err)
        assert "already in use" in err, err
    assert sorted(os.listdir(os.path.join(nook.root, "instances"))) == ["same"]
    assert nook.state("same")["status"] == "running"
    assert list(ls_all(nook)) == ["same"]
    socks = [f for f in os.listdir(nook.run_dir) if f.endswith(".sock")]
    assert socks == ["same.sock"]


# --- console log cap ------------------------------------------------------------------

def test_console_log_is_capped(nook):
    # ~3 MiB of output in 64-byte lines, then a marker that must survive in the live log.
    line = ("0123456789abcdef" * 4)[:63]
    run_d(nook, "big", "sh", "-c",
          f"yes {line}"
          " | head -c 3145728; echo END-MARKER")
    wait_for(lambda: nook.state("big")["status"] == "stopped", 30, what="big to finish")
    assert nook.state("big")["exit_code"] == 0
    d = os.path.join(nook.root, "instances", "big")
    log, old = os.path.join(d, "console.log"), os.path.join(d, "console.log.1")
    assert os.path.exists(old), os.listdir(d)
    assert os.path.getsize(log) <= MiB, os.path.getsize(log)
    assert 0 < os.path.getsize(old) <= MiB, os.path.getsize(old)
    assert not os.path.exists(os.path.join(d, "console.log.2"))
    with open(log, "rb") as f:
        assert f.read().endswith(b"END-MARKER\n")
    p = nook("logs", "-n", "1", "big")
    assert p.stdout == "END-MARKER\n"
