"""`nook run --vm`: the same lifecycle as containers, with nook's own VMM booting the
freestanding test guest (tests/vm-guest) through the Linux boot protocol."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import NOOK
from nooktest import wait_for

GUEST = os.path.join(os.path.dirname(NOOK), "build", "vm-guest", "guest.bin")


@pytest.fixture(scope="module", autouse=True)
def guest():
    subprocess.run(["make", "-s", "build/vm-guest/guest.bin"], cwd=os.path.dirname(NOOK), check=True)
    assert os.path.exists(GUEST)


def vm(nook, *args, cmdline=None, **kw):
    extra = ["--cmdline", cmdline] if cmdline else []
    return nook("run", "--vm", "--kernel", GUEST, *extra, *args, **kw)


def test_vm_boots_the_guest_and_reports_its_console(nook):
    p = vm(nook, "--rm", "--memory", "128M", "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "nook-guest: hello cpl=3" in out
    assert "ram_kib=" in out and "e820 entries=" in out
    # At least 20 PIT ticks; one more may land before the guest reads its counter.
    assert re.search(r"nook-guest: irq timer count=\d+ tsc_khz=\d+ ok", out), out
    assert "kind=rng ok" in out  # every VM gets a virtio-rng
    assert out.rstrip().endswith("nook-guest: done")
    assert "FAIL" not in out
    assert nook.instances() == []


def test_two_vcpus_come_up(nook):
    p = vm(nook, "--rm", "--cpus", "2", "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    assert "smp cpus=2 up=2" in p.stdout


def test_vm_is_listed_as_vm_and_stops_gracefully(nook):
    vm(nook, "-d", "--name", "v", "busybox", cmdline="nook.wait_stop=1", check=True)
    assert wait_for(lambda: "waiting for ctrl-alt-del" in nook("logs", "v").stdout)
    rows = json.loads(nook("ls", "--json", check=True).stdout)
    assert [r["kind"] for r in rows if r["name"] == "v"] == ["vm"]
    t = time.monotonic()
    nook("stop", "v", check=True, timeout=30)
    assert time.monotonic() - t < 5  # Ctrl-Alt-Del, not the 10 s grace time
    st = nook.state("v")
    assert st["status"] == "stopped" and st["exit_reason"] == "reset" and st["exit_code"] == 0
    assert "ctrl-alt-del received" in nook("logs", "v").stdout


def test_vm_that_ignores_stop_is_killed_after_the_grace_time(nook):
    vm(nook, "-d", "--name", "h", "busybox", cmdline="nook.mode=hang", check=True)
    nook("stop", "-t", "1", "h", check=True, timeout=30)
    st = nook.state("h")
    assert st["exit_reason"] == "killed" and st["exit_code"] == 137


def test_triple_fault_ends_as_crashed(nook):
    p = vm(nook, "--name", "c", "busybox", cmdline="nook.mode=triple", timeout=60)
    assert p.returncode == 1
    st = nook.state("c")
    assert st["exit_reason"] == "crashed"


def test_poweroff_and_panic_through_acpi_end_as_poweroff_and_crashed(nook):
    p = vm(nook, "--name", "off", "--cpus", "2", "busybox", cmdline="nook.mode=poweroff", timeout=60)
    assert "acpi madt lapics=2 mptable_cpus=2 ok" in p.stdout, p.stdout + p.stderr
    # The root disk and the rng, each found in the DSDT as in virtio_mmio.device=.
    assert "acpi dsdt virtio=2 live=2 cmdline_slots=2 pvpanic=0x505 ok" in p.stdout, p.stdout
    st = nook.state("off")
    assert st["exit_reason"] == "poweroff" and st["exit_code"] == 0, st
    p = vm(nook, "--name", "pan", "busybox", cmdline="nook.mode=panic", timeout=60)
    assert p.returncode == 1
    st = nook.state("pan")
    assert st["exit_reason"] == "crashed" and "pvpanic" in st.get("error", ""), st
    assert "FAIL" not in p.stdout


def test_console_input_reaches_the_guest(nook):
    import pexpect
    # Typed once the guest asks: its UART setup clears whatever came before (as a real one does).
    c = pexpect.spawn(NOOK, ["run", "--rm", "-i", "--vm", "--kernel", GUEST, "--cmdline", "nook.input=1",
                             "busybox"], env=nook.env, encoding="utf-8", timeout=30)
    c.expect("ready for input")
    c.sendline("hello guest")
    c.expect("input=hello guest rx_irqs=[1-9]")
    c.expect("nook-guest: done")
    c.expect(pexpect.EOF)
    c.close()
    assert c.exitstatus == 0


def test_vm_without_a_kernel_fails_clearly_and_creates_nothing(nook):
    # Without --kernel a VM boots Debian's cloud kernel, which a PVM host cannot run: the
    # refusal comes before anything is downloaded (test_vm_linux.py covers real hosts).
    if "PVM" not in nook("info").stdout:
        pytest.skip("this host's KVM is hardware-backed: --vm without --kernel boots Linux")
    p = nook("run", "--rm", "--vm", "busybox")
    assert p.returncode == 125
    assert "--kernel" in p.stderr and "PVM" in p.stderr
    assert nook.instances() == []
    kernels = os.path.join(nook.root, "kernels")
    assert not os.path.isdir(kernels) or os.listdir(kernels) == []


def test_vm_flag_errors(nook):
    p = nook("run", "--rm", "--vm", "--kernel", GUEST, "--cpus", "0", "busybox")
    assert p.returncode == 125 and "vCPUs" in p.stderr
    p = nook("run", "--rm", "--kernel", GUEST, "busybox")
    assert p.returncode == 125 and "--vm" in p.stderr
    p = nook("run", "--rm", "--vm", "--kernel", "/nonexistent/kernel", "busybox")
    assert p.returncode == 125 and "/nonexistent/kernel" in p.stderr
    assert nook.instances() == []


def test_inspect_shows_kvm_counters_of_a_running_vm(nook):
    vm(nook, "-d", "--name", "k", "--cpus", "3", "busybox", cmdline="nook.wait_stop=1", check=True)
    assert wait_for(lambda: "waiting for ctrl-alt-del" in nook("logs", "k").stdout)
    info = nook.inspect("k")
    assert info["VM"]["vcpus"] == 3 and os.path.isabs(info["VM"]["kernel"])
    kvm = info["KVM"]
    assert kvm["vcpus"] == 3 and len(kvm["vcpu"]) == 3
    # The guest has run: KVM counted exits and halts on its vCPUs.
    assert sum(v.get("exits", 0) for v in kvm["vcpu"]) > 0
    if os.cpu_count() < 3:
        assert any("more vCPUs than the host has cores" in w for w in info["Warnings"])
    nook("stop", "k", check=True, timeout=30)
    assert "KVM" not in nook.inspect("k")


def test_stats_of_a_vm_come_from_its_vmm_and_kvm(nook):
    vm(nook, "-d", "--name", "s", "busybox", cmdline="nook.wait_stop=1", check=True)
    assert wait_for(lambda: "waiting for ctrl-alt-del" in nook("logs", "s").stdout)
    row = json.loads(nook("stats", "--json", "s", check=True).stdout)[0]
    assert row["kind"] == "vm"
    assert row["kvm_exits"] > 0 and row["kvm_exit_rate"] is not None
    assert row["memory_bytes"] > 1 << 20  # the VMM's resident memory
    assert row["cpu_usage_ns"] >= 0


def test_timings_of_a_vm_start_are_the_vmms_own_steps(nook):
    p = vm(nook, "--name", "t", "--timings", "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stderr.splitlines() if "started:" in l][0]
    for step in ("kvm", "memory", "irqchip", "vcpus", "kernel"):
        assert re.search(rf"\b{step} \d+\.\d\d ms", line), line
    recorded = nook.state("t")["vm_timings_us"]
    assert {"kvm", "memory", "vcpus", "kernel"} <= set(recorded)
    assert all(isinstance(v, int) and v >= 0 for v in recorded.values())


GUEST_PHASES = ("first-instruction", "first-console", "guest-init")


def check_guest_phases(phases):
    """The guest's boundaries follow the VMM's steps, first instruction first; the test
    guest marks its init (port 0x4e0) before it prints its first byte."""
    names = list(phases)
    assert set(GUEST_PHASES) <= set(names), names
    assert names.index("kernel") < names.index("first-instruction")
    assert names.index("first-instruction") < names.index("guest-init") < names.index("first-console")
    assert all(isinstance(v, int) and v >= 0 for v in phases.values()), phases


def test_timings_of_a_vm_boot_reach_the_guest_boundaries(nook):
    p = vm(nook, "--name", "b", "--timings", "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    booted = [l for l in p.stderr.splitlines() if "booted:" in l]
    assert len(booted) == 1, p.stderr
    for phase in ("kernel",) + GUEST_PHASES:
        assert re.search(rf"\b{phase} \d+\.\d\d ms", booted[0]), booted[0]
    check_guest_phases(nook.state("b")["vm_timings_us"])
    check_guest_phases(nook.inspect("b")["State"]["vm_timings_us"])


def test_timings_of_a_detached_vm_wait_for_its_boot(nook):
    p = vm(nook, "-d", "--name", "d", "--timings", "busybox", cmdline="nook.wait_stop=1", timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "d"
    assert "booted:" in p.stderr and "guest-init" in p.stderr, p.stderr
    # Recorded while it runs, not only at the end.
    assert nook.state("d")["status"] == "running"
    check_guest_phases(nook.state("d")["vm_timings_us"])
    nook("stop", "d", check=True, timeout=30)
    check_guest_phases(nook.state("d")["vm_timings_us"])
