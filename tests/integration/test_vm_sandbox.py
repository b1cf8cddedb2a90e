"""The VMM's own sandbox (core/vm-sandbox.c): the monitor of a VM lives in the instance's
cgroup with guest memory + overhead and the vCPUs' CPU, in its own IPC namespace, and
every VMM thread runs under a seccomp filter whose violation stops the VM with a reason."""
import glob
import json
import os
import re
import subprocess
import time

import pytest

from conftest import NOOK
from nooktest import wait_for

GUEST = os.path.join(os.path.dirname(NOOK), "build", "vm-guest", "guest.bin")
MIB = 1 << 20


@pytest.fixture(scope="module", autouse=True)
def guest():
    subprocess.run(["make", "-s", "build/vm-guest/guest.bin"], cwd=os.path.dirname(NOOK), check=True)


def start_waiting_vm(nook, name, *args):
    nook("run", "-d", "--vm", "--kernel", GUEST, "--name", name, *args, "--cmdline", "nook.wait_stop=1",
         "busybox", check=True)
    assert wait_for(lambda: "waiting for ctrl-alt-del" in nook("logs", name).stdout), nook("logs", name).stdout
    return nook.state(name)["monitor_pid"]


def proc_cgroup(pid, hier):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if hier in ctrls.split(","):
                return path
    return None


def read_cg(hier, rel, file):
    with open(f"/sys/fs/cgroup/{hier}/{rel}/{file}") as f:
        return f.read().strip()


def test_vmm_lives_in_the_instances_cgroup_with_its_limits(nook):
    pid = start_waiting_vm(nook, "sb", "--memory", "64M", "--cpus", "2")
    sandbox = nook.inspect("sb")["VM"]["sandbox"]
    rel = sandbox["cgroup"]
    assert re.fullmatch(r"nook/sb(@[0-9a-f]+)?", rel), rel
    limit = sandbox["memory_limit_bytes"]
    # Guest memory plus a small overhead, not unlimited.
    assert 64 * MIB < limit <= 64 * MIB + 32 * MIB
    assert sandbox["cpu_quota_us"] == 2 * sandbox["cpu_period_us"]
    assert sandbox["seccomp"] == "enforce" and sandbox["seccomp_rules"] > 20
    assert sandbox["seccomp_scope"] == "vmm-threads"
    assert "ipc" in sandbox["namespaces"]
    # The kernel agrees: the monitor (the VMM) is in that group, with those limits.
    if os.path.isdir("/sys/fs/cgroup/memory/nook"):
        assert proc_cgroup(pid, "memory") == "/" + rel
        assert int(read_cg("memory", rel, "memory.limit_in_bytes")) == limit
        assert int(read_cg("cpu", rel, "cpu.cfs_quota_us")) == sandbox["cpu_quota_us"]
    else:
        assert proc_cgroup(pid, "") == "/" + rel
        assert int(read_cg("", rel, "memory.max")) == limit
    assert os.readlink(f"/proc/{pid}/ns/ipc") != os.readlink("/proc/self/ns/ipc")
    # Every VMM thread is filtered; the monitor's own thread is not.
    modes = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as f:
            modes[int(task)] = int(re.search(r"^Seccomp:\s+(\d+)", f.read(), re.M).group(1))
    assert modes[pid] == 0
    assert sorted(m for t, m in modes.items() if t != pid).count(2) >= 4  # 2 vCPUs, io, console
    # stats reads the group: memory against the limit, the guest's pages included.
    row = json.loads(nook("stats", "--json", "sb", check=True).stdout)[0]
    assert row["memory_limit_bytes"] == limit
    assert 1 * MIB < row["memory_bytes"] < limit
    assert row["kvm_exits"] > 0
    nook("stop", "sb", check=True, timeout=30)
    # The group goes with the VM.
    assert not glob.glob(f"/sys/fs/cgroup/*/{rel}")
    assert nook.state("sb")["exit_reason"] == "reset"


@pytest.mark.parametrize("thread", ["io", "vcpu0", "console"])
def test_a_forbidden_call_stops_the_vm_with_its_name(nook, thread):
    env = dict(nook.env, NOOK_TEST_VMM_FORBIDDEN=thread)
    p = subprocess.run([NOOK, "run", "--vm", "--kernel", GUEST, "--name", "bad", "--cmdline", "nook.wait_stop=1",
                        "busybox"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    st = nook.state("bad")
    assert st["status"] == "stopped" and st["exit_reason"] == "error", st
    assert f"the VMM's {thread} thread made a system call its seccomp filter forbids: socket (41)" in st["error"]
    assert not glob.glob("/sys/fs/cgroup/*/nook/bad@*")
    assert nook("rm", "bad").returncode == 0


def test_pause_stops_the_vcpus_not_the_monitor(nook):
    start_waiting_vm(nook, "pz", "--cpus", "2")
    nook("pause", "pz", check=True, timeout=30)
    assert nook.state("pz")["status"] == "paused"
    before = json.loads(nook("stats", "--json", "pz", check=True).stdout)[0]["kvm_exits"]
    time.sleep(0.3)
    # The monitor still answers (it is not frozen), and the guest does not run.
    assert json.loads(nook("stats", "--json", "pz", check=True).stdout)[0]["kvm_exits"] == before
    nook("resume", "pz", check=True, timeout=30)
    assert wait_for(lambda: json.loads(nook("stats", "--json", "pz", check=True).stdout)[0]["kvm_exits"] > before)
    nook("stop", "pz", check=True, timeout=30)
    assert nook.state("pz")["exit_reason"] == "reset"
    assert "ctrl-alt-del received" in nook("logs", "pz").stdout
