"""Linux guests: Debian's cloud kernel (fetched with `nook kernel fetch`) booted with nook's
initramfs and the instance's ext4 root disk. These need hardware virtualization: under PVM
guest ring 0 is emulated and a stock kernel never reaches /init, so they are skipped there,
whatever NOOK_MUST_WORK says (the test guest in test_vm*.py proves the device model)."""
import os
import re
import subprocess

import pytest

from conftest import NOOK
from nooktest import wait_for

PVM_REASON = "needs hardware virtualization (VT-x/AMD-V); this host's KVM is PVM"


def kvm_kind():
    if not os.path.exists("/dev/kvm"):
        return None
    out = subprocess.run([NOOK, "info"], capture_output=True, text=True, timeout=30).stdout
    return "pvm" if "PVM" in out else "hardware"


@pytest.fixture(scope="module", autouse=True)
def hardware_kvm():
    kind = kvm_kind()
    if kind is None:
        pytest.skip("no /dev/kvm on this host")
    if kind == "pvm":
        pytest.skip(PVM_REASON)  # the one skip NOOK_MUST_WORK does not turn into a failure


@pytest.fixture
def linux(nook):
    """nook with the default kernel fetched into its NOOK_ROOT."""
    p = nook("kernel", "fetch", timeout=600)
    if p.returncode != 0:
        pytest.skip("apt cannot fetch the kernel package here: " + p.stderr.strip())
    nook.kernel_version = p.stdout.strip()
    return nook


def test_boots_to_a_shell_and_uname_shows_the_guest_kernel(linux):
    import pexpect
    c = pexpect.spawn(NOOK, ["run", "--rm", "-it", "--vm", "busybox"], env=linux.env, encoding="utf-8",
                      timeout=120)
    c.expect(r"[#$] ")
    c.sendline("uname -r")
    c.expect(re.escape(linux.kernel_version))
    c.sendline("exit")
    c.expect(pexpect.EOF)
    c.close()
    assert linux.instances() == []


def test_two_vcpus_show_in_cpuinfo(linux):
    p = linux("run", "--rm", "--vm", "--cpus", "2", "busybox", "--", "grep", "-c", "^processor", "/proc/cpuinfo",
              timeout=180)
    assert p.returncode == 0, p.stderr
    assert "2" in [l.strip() for l in p.stdout.splitlines()], p.stdout


def test_a_file_on_the_root_disk_survives_stop_and_start(linux):
    script = "cat /root/kept 2>/dev/null; echo kept-$$ > /root/kept; sync"
    p = linux("run", "--vm", "--name", "p", "busybox", "--", "sh", "-c", script, timeout=180)
    assert p.returncode == 0, p.stderr
    disk = os.path.join(linux.root, "instances", "p", "disk.ext4")
    first = subprocess.run(["debugfs", "-R", "cat /root/kept", disk], capture_output=True, text=True).stdout
    assert first.startswith("kept-")
    linux("start", "-a", "p", check=True, timeout=180)
    assert first.strip() in linux("logs", "p").stdout


def test_the_command_ending_powers_the_vm_off_through_acpi(linux):
    """/init's `poweroff -f` reaches the FADT's sleep control register (S5): the run
    ends as poweroff, not as the reset a kernel without ACPI power-off falls back to."""
    p = linux("run", "--vm", "--name", "o", "busybox", "--", "true", timeout=180)
    assert p.returncode == 0, p.stderr
    assert linux.state("o")["exit_reason"] == "poweroff"


def test_guest_panic_ends_as_crashed(linux):
    """The panic reaches the VMM through pvpanic (QEMU0001 in the DSDT, pvpanic_mmio in
    nook's initramfs) before panic=-1 reboots."""
    p = linux("run", "--vm", "--name", "x", "busybox", "--", "sh", "-c", "echo c > /proc/sysrq-trigger",
              timeout=180)
    assert p.returncode != 0
    st = linux.state("x")
    assert st["exit_reason"] == "crashed" and "pvpanic" in st.get("error", ""), st


def test_two_vms_at_once(linux):
    for name in ("a", "b"):
        linux("run", "-d", "--vm", "--name", name, "busybox", "--", "sh", "-c",
              "echo up-$(hostname); sleep 600", check=True, timeout=60)
    for name in ("a", "b"):
        assert wait_for(lambda: f"up-{name}" in linux("logs", name).stdout, timeout=120)
    assert {r for r in linux("ls").stdout.split() if r in ("a", "b")} == {"a", "b"}
    for name in ("a", "b"):
        linux("stop", "-t", "5", name, check=True, timeout=60)
        assert linux.state(name)["status"] == "stopped"
