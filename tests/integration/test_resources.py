"""Resource limits, live usage, pause and OOM: each limit read back from the host's
cgroup files and felt from inside the container."""
import json
import os
import time

import pytest
from nooktest import wait_for


def cgroup_file(nook, name, controller, filename):
    info = nook.inspect(name)
    layout = info["Paths"]["cgroup_layout"]
    rel = info["Paths"]["cgroup"]
    if layout == "v2":
        return f"/sys/fs/cgroup/{rel}/{filename}"
    return f"/sys/fs/cgroup/{controller}/{rel}/{filename}"


def read(path):
    with open(path) as f:
        return f.read().strip()


def stats(nook, name):
    p = nook("stats", "--json", name, check=True)
    return json.loads(p.stdout)[0]


def test_memory_limit_is_applied_and_reported(nook):
    nook("run", "-d", "--name", "m", "--memory", "64M", "busybox", "--", "sleep", "60", check=True)
    assert int(read(cgroup_file(nook, "m", "memory", "memory.limit_in_bytes"))) == 64 << 20
    s = stats(nook, "m")
    assert s["memory_limit_bytes"] == 64 << 20
    assert 0 < s["memory_bytes"] < 64 << 20
    assert nook.inspect("m")["Config"]["linux"]["resources"]["memory"]["limit"] == 64 << 20


def test_memory_hog_is_oom_killed_and_recorded(nook):
    p = nook("run", "--name", "hog", "--memory", "32M", "busybox", "--",
             "sh", "-c", "x=a; while :; do x=\"$x$x\"; done", timeout=60)
    assert p.returncode == 137
    st = nook.inspect("hog")["State"]
    assert st["exit_reason"] == "oom"
    assert st["oom_kills"] >= 1
    ls = json.loads(nook("ls", "-a", "--json", check=True).stdout)
    assert [i["exit_reason"] for i in ls if i["name"] == "hog"] == ["oom"]
    assert "oom" in nook("ls", "-a", check=True).stdout


def test_pids_limit_contains_a_fork_bomb_and_others_stay_responsive(nook):
    nook("run", "-d", "--name", "other", "busybox", "--", "sleep", "60", check=True)
    nook("run", "-d", "--name", "bomb", "--pids", "64", "busybox", "--",
         "sh", "-c", "b() { b | b & }; b 2>/dev/null; sleep 60", check=True)
    assert read(cgroup_file(nook, "bomb", "pids", "pids.max")) == "64"
    events = cgroup_file(nook, "bomb", "pids", "pids.events")
    # The kernel counts every fork it refused at the limit.
    assert wait_for(lambda: int(read(events).split()[-1]) > 0), read(events)
    for _ in range(20):
        assert int(read(cgroup_file(nook, "bomb", "pids", "pids.current"))) <= 64
        time.sleep(0.01)
    t = time.monotonic()
    p = nook("exec", "other", "--", "echo", "alive", timeout=10)
    assert p.stdout == "alive\n"
    assert time.monotonic() - t < 5
    nook("rm", "-f", "bomb", check=True, timeout=30)


def test_cpu_quota_caps_a_busy_loop(nook):
    nook("run", "-d", "--name", "busy", "--cpus", "0.5", "busybox", "--", "sh", "-c", "while :; do :; done",
         check=True)
    assert read(cgroup_file(nook, "busy", "cpu", "cpu.cfs_quota_us")) == "50000"
    p = nook("stats", "--no-stream", "--json", "busy", check=True)
    s = json.loads(p.stdout)[0]
    assert 20 < s["cpu_percent"] < 70, s
    assert s["cpu_throttled_periods"] > 0


def test_busy_loop_shows_well_over_half_a_core(nook):
    nook("run", "-d", "--name", "spin", "busybox", "--", "sh", "-c", "while :; do :; done", check=True)
    s = stats(nook, "spin")
    assert s["cpu_percent"] > 50, s
    idle = nook("run", "-d", "--name", "idle", "busybox", "--", "sleep", "60", check=True)
    assert idle.returncode == 0
    assert stats(nook, "idle")["cpu_percent"] < 10


def test_cpuset_and_weight_are_applied(nook):
    nook("run", "-d", "--name", "pin", "--cpuset-cpus", "0", "--cpu-weight", "200", "busybox", "--",
         "sleep", "60", check=True)
    assert read(cgroup_file(nook, "pin", "cpuset", "cpuset.cpus")) == "0"
    shares = int(read(cgroup_file(nook, "pin", "cpu", "cpu.shares")))
    assert 5000 < shares < 5400  # weight 200 in v1 units
    inside = nook("exec", "pin", "--", "cat", "/proc/self/status", check=True).stdout
    allowed = [l for l in inside.splitlines() if l.startswith("Cpus_allowed_list")]
    assert allowed and allowed[0].split()[-1] == "0"


def test_memory_limit_is_felt_from_inside(nook):
    # The shell holds a 50 MB string: under a 32M limit it dies, under 128M it lives.
    cmd = ["sh", "-c", "x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo ${#x}"]
    small = nook("run", "--rm", "--memory", "32M", "busybox", "--", *cmd, timeout=60)
    big = nook("run", "--rm", "--memory", "128M", "busybox", "--", *cmd, timeout=60)
    assert big.returncode == 0 and big.stdout == "50000000\n"
    assert small.returncode == 137


def test_pause_stops_progress_and_resume_restarts_it(nook):
    nook("run", "-d", "--name", "counter", "busybox", "--", "sh", "-c",
         "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; done", check=True)
    wait_for(lambda: nook("exec", "counter", "--", "cat", "/tmp/n").stdout.strip())
    nook("pause", "counter", check=True)
    assert nook.state("counter")["status"] == "paused"
    assert "paused" in nook("ls", check=True).stdout
    # exec into a frozen cgroup would freeze too; read the counter from the host side.
    upper = os.path.join(nook.root, "instances", "counter", "upper", "tmp", "n")
    before = read(upper)
    time.sleep(0.5)
    assert read(upper) == before
    assert stats(nook, "counter")["cpu_percent"] < 5
    nook("resume", "counter", check=True)
    assert nook.state("counter")["status"] == "running"
    assert wait_for(lambda: read(upper) != before, timeout=5)
    # A paused instance can still be stopped.
    nook("pause", "counter", check=True)
    p = nook("stop", "-t", "2", "counter", timeout=30)
    assert p.returncode == 0
    assert nook.state("counter")["status"] == "stopped"


def test_pause_errors(nook):
    nook("create", "--name", "c", "busybox", check=True)
    p = nook("pause", "c")
    assert p.returncode == 125 and "not running" in p.stderr
    nook("run", "-d", "--name", "r", "busybox", "--", "sleep", "60", check=True)
    p = nook("resume", "r")
    assert p.returncode == 125 and "not paused" in p.stderr
    nook("pause", "r", check=True)
    p = nook("pause", "r")
    assert p.returncode == 125 and "already paused" in p.stderr
    assert nook("pause", "nosuch").returncode == 125


@pytest.mark.parametrize("flags, message", [
    (["--memory", "-1"], "--memory"),
    (["--memory", "0"], "at least 4M"),
    (["--memory", "2M"], "at least 4M"),
    (["--memory", "lots"], "--memory"),
    (["--memory", "64M", "--memory-swap", "32M"], "at least --memory"),
    (["--memory-swap", "1G"], "needs --memory"),
    (["--cpus", "0"], "--cpus"),
    (["--cpus", "-1"], "--cpus"),
    (["--cpus", "abc"], "--cpus"),
    (["--cpus", str(os.cpu_count() + 1)], "CPUs"),
    (["--cpuset-cpus", "0-99"], "this host has CPUs"),
    (["--cpuset-cpus", "1-0"], "backwards"),
    (["--cpuset-cpus", "x"], "--cpuset-cpus"),
    (["--pids", "0"], "--pids"),
    (["--pids", "many"], "--pids"),
    (["--cpu-weight", "0"], "1 to 10000"),
    (["--cpu-weight", "10001"], "1 to 10000"),
])
def test_bad_limits_are_refused_and_nothing_is_created(nook, flags, message):
    p = nook("run", "--name", "bad", *flags, "busybox", "--", "true")
    assert p.returncode == 125
    assert message in p.stderr
    assert nook.instances() == []
    assert not [n for n in os.listdir(os.path.join(nook.root, "instances"))]


def test_io_weight_is_refused_where_the_host_cannot_weigh_io(nook):
    p = nook("run", "--rm", "--io-weight", "500", "busybox", "--", "true")
    info = nook("info", check=True).stdout
    if "v1" in info and not os.path.exists("/sys/fs/cgroup/blkio/blkio.weight"):
        assert p.returncode == 125 and "not available on this host" in p.stderr
        assert nook.instances() == []
    else:
        assert p.returncode == 0


def test_cgroup_is_removed_on_rm_and_after_a_killed_monitor(nook):
    nook("run", "-d", "--name", "g", "--memory", "64M", "busybox", "--", "sleep", "60", check=True)
    path = cgroup_file(nook, "g", "memory", "memory.limit_in_bytes")
    group = os.path.dirname(path)
    assert os.path.isdir(group)
    os.kill(nook.state("g")["monitor_pid"], 9)
    nook("ls", "-a", check=True)
    assert wait_for(lambda: not os.path.exists(group), timeout=10)
    assert nook.state("g")["exit_reason"] == "monitor-lost"


def test_info_names_the_layout_and_controllers(nook):
    out = nook("info", check=True).stdout
    assert "cgroups:" in out
    assert ("v1" in out) or ("v2" in out)
    assert "memory" in out and "pids" in out
