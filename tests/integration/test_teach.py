"""nook drill and nook compare: each escape attempt names the layer that stopped it, under
default, strict and unconfined; compare measures the container and explains the VM side."""
import json
import os

import pytest


def drill(nook, profile):
    p = nook("drill", "--json", "--profile", profile, "busybox", timeout=90)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert nook.instances() == []
    return {a["attempt"]: a for a in doc["attempts"]}, doc


EXPECTED = {
    "default": {"mount": "seccomp", "userns": "seccomp", "proc-sys": "read-only mount",
                "masked": "masked path", "kmsg": "device policy", "module": "seccomp",
                "mknod-disk": "device policy", "ptrace": "capability", "open-by-handle": "seccomp",
                "i386": "seccomp", "kill-pid1": "namespace", "fork-bomb": "cgroup limit",
                "memory-hog": "cgroup limit"},
    "strict": {"mount": "seccomp", "userns": "seccomp", "proc-sys": "read-only mount",
               "mknod-disk": "capability", "ptrace": "seccomp", "kill-pid1": "namespace",
               "fork-bomb": "cgroup limit", "memory-hog": "cgroup limit"},
    "unconfined": {"mount": "capability", "userns": "namespace", "proc-sys": "read-only mount",
                   "ptrace": "capability", "kill-pid1": "namespace", "fork-bomb": "cgroup limit",
                   "memory-hog": "cgroup limit"},
}


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_drill_names_the_layer(nook, profile):
    rows, doc = drill(nook, profile)
    for attempt, layer in EXPECTED[profile].items():
        assert rows[attempt]["layer"] == layer, (attempt, rows[attempt])
    for r in rows.values():
        assert r["layer"] != "unknown", r
        assert r["why"]
    assert rows["memory-hog"]["outcome"] == "killed (SIGKILL)" and doc["oom_kills"] >= 1
    assert rows["fork-bomb"]["outcome"] == "EAGAIN"
    if profile != "unconfined":
        # Nothing gets through the default or strict confinement.
        assert [a for a, r in rows.items() if r["layer"] == "got through"] == []
        assert doc["seccomp_feed"] is True
    else:
        assert doc["seccomp"] is False
        assert rows["i386"]["layer"] in ("got through", "host kernel")


def test_drill_table(nook):
    p = nook("drill", "busybox", timeout=90)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[1].split()[:4] == ["#", "ATTEMPT", "OUTCOME", "LAYER"]
    mount = next(l for l in lines if l.split()[1:2] == ["mount"])
    assert "seccomp" in mount


def test_drill_bad_input(nook):
    for args in (["drill", "no-such-image"], ["drill", "--profile", "no-such", "busybox"], ["drill"],
                 ["drill", "--bogus", "busybox"]):
        p = nook(*args)
        assert p.returncode == 125, (args, p.stderr)
        assert p.stderr.startswith("nook")
    assert nook.instances() == []


def test_compare_json(nook):
    p = nook("compare", "--json", "busybox", "--", "echo", "workload-ran", timeout=60)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    c, vm = doc["container"], doc["vm"]
    fields = ["startup_ms", "phases_ms", "monitor_rss_kib", "memory_current_bytes", "kernel",
              "processes_seen", "mounts_seen", "net_interfaces_seen", "host_kmsg_readable",
              "namespaces_shared_with_host", "seccomp_filters", "syscall_surface",
              "vcpus_beyond_host_cores"]
    for f in fields + ["measured", "reason"]:
        assert f in c and f in vm, f
    assert c["measured"] is True and c["reason"] is None
    assert c["startup_ms"] > 0 and c["monitor_rss_kib"] > 0 and c["memory_current_bytes"] > 0
    assert c["kernel"] == doc["host_kernel"]
    assert 0 < c["processes_seen"] < 20
    assert c["host_kmsg_readable"] is False
    assert "net" not in c["namespaces_shared_with_host"].split()
    if not vm["measured"]:
        assert vm["reason"]
        assert all(vm[f] is None for f in fields)
    assert nook.instances() == []


def test_compare_bad_image(nook):
    p = nook("compare", "no-such-image")
    assert p.returncode == 125
    assert nook.instances() == []


def test_a_drill_whose_cli_is_killed_leaves_nothing_behind(nook):
    import signal
    import subprocess
    import time
    from conftest import NOOK
    cli = subprocess.Popen([NOOK, "drill", "busybox"], env=nook.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        def running():
            for name in nook.instances():
                try:
                    if nook.state(name)["status"] == "running":
                        return True
                except (OSError, ValueError):
                    pass
            return False
        deadline = time.monotonic() + 30
        while not running() and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        cli.send_signal(signal.SIGKILL)
    finally:
        cli.wait()
    # Its throwaway instance runs the agent to the end, then its monitor removes it.
    deadline = time.monotonic() + 60
    while nook.instances() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert nook.instances() == []


def test_a_drill_forgets_the_instance_a_killed_drill_never_started(nook):
    # What a drill killed between create and start leaves: a created drill-PID-* instance
    # whose PID is gone.
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    nook("create", "--name", f"drill-{pid}-abc", "--network", "none", "busybox", check=True)
    nook("create", "--name", "drill-keep", "--network", "none", "busybox", check=True)
    p = nook("drill", "--json", "busybox", timeout=90)
    assert p.returncode == 0, p.stderr
    assert nook.instances() == ["drill-keep"]


def test_drill_of_a_stopped_instance_says_what_to_do(nook):
    nook("create", "--name", "drilled", "busybox", check=True)
    p = nook("drill", "drilled")
    assert p.returncode == 125
    assert "start it to drill it" in p.stderr and "nook drill busybox" in p.stderr
    assert nook.instances() == ["drilled"]


def root_entries(pid):
    return sorted(e for e in os.listdir(f"/proc/{pid}/root/") if e.startswith(".nook-drill"))


@pytest.mark.parametrize("profile", ["default", "unconfined"])
def test_drill_inside_a_running_instance_leaves_it_as_it_was(nook, profile):
    nook("run", "-d", "--name", "live", "--profile", profile, "--pids", "64", "--memory", "64M",
         "--net", "none", "busybox", "--", "sleep", "1000", check=True)
    before = nook.state("live")
    diff_before = nook("diff", "live", check=True).stdout
    events_before = nook("events", "live").stdout
    p = nook("drill", "--json", "live", timeout=90)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["instance"] == "live" and doc["profile"] == profile
    rows = {a["attempt"]: a for a in doc["attempts"]}
    for attempt, layer in EXPECTED[profile].items():
        assert rows[attempt]["layer"] == layer, (attempt, rows[attempt])
    for r in rows.values():
        assert r["layer"] != "unknown", r
    assert rows["memory-hog"]["outcome"] == "killed (SIGKILL)" and doc["oom_kills"] >= 1
    if profile == "default":
        assert doc["seccomp_feed"] is True
        assert "reported live to the drill" in rows["mount"]["why"]
        assert [a for a, r in rows.items() if r["layer"] == "got through"] == []
    else:
        assert doc["seccomp"] is False
    # The instance is as it was: same init, running, nothing left in its root, no change
    # in its upper layer, no events of the drill's in its own log.
    after = nook.state("live")
    assert after["status"] == "running" and after["init_pid"] == before["init_pid"]
    assert root_entries(after["init_pid"]) == []
    assert nook("diff", "live", check=True).stdout == diff_before
    assert nook("events", "live").stdout == events_before
    assert nook.instances() == ["live"]


def test_drill_inside_an_instance_removes_the_agent_a_killed_drill_left(nook):
    nook("run", "-d", "--name", "left", "--net", "none", "busybox", "--", "sleep", "1000", check=True)
    init = nook.state("left")["init_pid"]
    pid = 4_000_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    stale = f"/proc/{init}/root/.nook-drill-agent-{pid}"
    with open(stale, "w") as f:
        f.write("left by a drill that was killed")
    p = nook("drill", "--json", "left", timeout=90)
    assert p.returncode == 0, p.stderr
    assert root_entries(init) == []
    assert nook("diff", "left", check=True).stdout == ""


def test_drill_inside_an_instance_without_limits_spares_the_host(nook):
    nook("run", "-d", "--name", "open", "--profile", "unconfined", "--pids", "-1", "--net", "none",
         "busybox", "--", "sleep", "1000", check=True)
    p = nook("drill", "--json", "open", timeout=90)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    rows = {a["attempt"]: a for a in doc["attempts"]}
    assert doc["pids_limit"] == 0 and doc["memory_limit"] == 0
    for attempt in ("fork-bomb", "memory-hog"):
        assert rows[attempt]["outcome"] == "not run", rows[attempt]
        assert rows[attempt]["layer"] == "got through" and "no " in rows[attempt]["why"]
    assert nook.state("open")["status"] == "running"


def test_drill_inside_a_running_instance_refuses_a_profile(nook):
    nook("run", "-d", "--name", "p", "busybox", "--", "sleep", "1000", check=True)
    p = nook("drill", "--profile", "strict", "p")
    assert p.returncode == 125 and "keeps the profile" in p.stderr
    assert nook.state("p")["status"] == "running"


def test_learn_then_generate_the_smallest_profile(nook):
    workload = ["sh", "-c", "ls / >/dev/null; cat /etc/hostname"]
    p = nook("run", "--name", "lrn", "--profile", "learn", "busybox", "--", *workload)
    assert p.returncode == 0, p.stderr
    events = [l for l in nook("events", "lrn", check=True).stdout.splitlines() if '"learned"' in l]
    assert any('"syscall":"getdents64"' in e for e in events)  # ls read a directory
    assert len(events) == len(set(events))  # each call recorded once
    out = nook("profile", "generate", "mine", "--from", "lrn", check=True).stdout.strip()
    assert out == os.path.join(nook.root, "profiles", "mine.profile")
    # The generated profile runs the same workload ...
    again = nook("run", "--rm", "--profile", "mine", "busybox", "--", *workload)
    assert again.returncode == 0, again.stderr
    # ... and refuses what it never did (chroot is allowed under default).
    assert nook("run", "--rm", "busybox", "--", "chroot", "/", "true").returncode == 0
    denied = nook("run", "--rm", "--profile", "mine", "busybox", "--", "chroot", "/", "true")
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr
    # Names are not reused, and an instance that learned nothing is refused.
    assert nook("profile", "generate", "mine", "--from", "lrn").returncode == 125
    nook("create", "--name", "idle", "busybox", check=True)
    p = nook("profile", "generate", "other", "--from", "idle")
    assert p.returncode == 125 and "learn" in p.stderr
