"""The PVH entry: the test guest built as an ELF vmlinux with a XEN_ELFNOTE_PHYS32_ENTRY note
(build/vm-guest/guest-pvh.elf) starts in 32-bit protected mode with ebx = hvm_start_info,
switches to long mode itself and runs the same checks, reading its command line, memory map
and initrd from the start info. Through runvm (the VMM alone) and through `nook run --vm`."""
import os
import re
import subprocess

import pytest

from conftest import NOOK, skip_or_fail
from nooktest import wait_for

ROOT = os.path.dirname(NOOK)
BUILD = os.environ.get("NOOK_VM_BUILD") or os.path.join(ROOT, "build", "vm-guest")
RUNVM = os.path.join(BUILD, "runvm")
GUEST_PVH = os.path.join(BUILD, "guest-pvh.elf")
GUEST_BZ = os.path.join(BUILD, "guest.bin")


@pytest.fixture(scope="module", autouse=True)
def guest():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_or_fail("/dev/kvm is missing or not accessible")
    r = subprocess.run(["make", "-C", ROOT, "-s", "vm-guest"], capture_output=True, text=True)
    if r.returncode != 0:
        skip_or_fail("cannot build the test guest (make vm-guest): " + r.stderr[-500:])
    assert os.path.exists(GUEST_PVH) and os.path.exists(RUNVM)


def runvm(*args, image=GUEST_PVH, timeout=60):
    p = subprocess.run([RUNVM, *args, image], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def guest_line(out, prefix):
    for ln in out.splitlines():
        if ln.startswith("nook-guest: " + prefix):
            return ln
    raise AssertionError(f"no 'nook-guest: {prefix}' line in:\n{out}")


def test_guest_has_the_note_and_the_bzimage_does_not():
    notes = subprocess.run(["readelf", "-nW", GUEST_PVH], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Xen\s+0x00000004\s+.*0x00000012", notes), notes
    segs = subprocess.run(["readelf", "-lW", GUEST_PVH], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^\s+NOTE\s", segs, re.M), segs


def test_pvh_boot_sees_cmdline_memory_map_and_initrd(tmp_path):
    initrd = os.urandom(200_000) + b"pvh initrd"
    path = tmp_path / "initrd.img"
    path.write_bytes(initrd)
    cmdline = "console=ttyS0 nook.test=pvh quiet"
    rc, out, err = runvm("--mem", "128", "--vcpus", "2", "--cmdline", cmdline, "--initrd", str(path))
    assert rc == 0 and "runvm: exit=reset" in err, err + out
    assert "runvm: boot=pvh" in err
    si = guest_line(out, "pvh start_info=")
    assert si == ("nook-guest: pvh start_info=0x6000 magic=0x336ec578 version=1 modules=1 memmap=4 "
                  "rsdp=0xe0000 ok"), si
    # The zero page is the guest's own, filled from the start info: no loader wrote it.
    assert guest_line(out, "hello cpl=3") == "nook-guest: hello cpl=3 protocol=0x0 loader=0x0"
    assert guest_line(out, "cmdline=") == f"nook-guest: cmdline={cmdline} ok"
    e820 = guest_line(out, "e820 entries=")
    assert e820 == f"nook-guest: e820 entries=4 ram_kib={128 * 1024 - 384 - 1} ok", e820
    assert guest_line(out, "e820 0x00000000-0x0009fc00 type 1")
    assert guest_line(out, "e820 0x0009fc00-0x000a0000 type 2")
    assert guest_line(out, "e820 0x000e0000-0x00100000 type 2")
    assert guest_line(out, "e820 0x00100000-0x08000000 type 1")
    rd = guest_line(out, "initrd ")
    assert f"bytes={len(initrd)} fnv1a=0x{fnv1a(initrd):08x} ok" in rd, rd
    # Everything after the entry works as on the 64-bit path: interrupts, the AP, then reset.
    assert guest_line(out, "irq timer count=").endswith(" ok")
    assert guest_line(out, "smp cpus=2 up=2 ")
    assert out.rstrip().endswith("nook-guest: done")
    assert "FAIL" not in out


def test_pvh_boot_without_initrd_has_no_modules():
    rc, out, err = runvm("--cmdline", "nook.mode=minimal")
    assert rc == 0 and "runvm: boot=pvh" in err, err
    assert " modules=0 " in guest_line(out, "pvh start_info=")
    assert guest_line(out, "initrd none")
    assert guest_line(out, "done")


def test_same_elf_through_the_64bit_protocol_when_asked():
    rc, out, err = runvm("--boot", "linux64", "--cmdline", "nook.mode=minimal via=linux64")
    assert rc == 0 and "runvm: boot=linux64" in err, err
    assert "pvh start_info" not in out
    assert guest_line(out, "hello cpl=3 protocol=0x20c loader=0xff")
    assert guest_line(out, "cmdline=nook.mode=minimal via=linux64 ok")
    assert guest_line(out, "done")


def test_pvh_asked_of_a_kernel_without_the_note_is_refused():
    for image in (GUEST_BZ, os.path.join(BUILD, "guest-vmlinux.elf")):
        rc, out, err = runvm("--boot", "pvh", image=image)
        assert rc == 1 and "has no PVH entry" in err, err
        assert out == ""
    # Left to choose, the VMM boots them through the 64-bit protocol.
    rc, out, err = runvm("--cmdline", "nook.mode=minimal", image=GUEST_BZ)
    assert rc == 0 and "runvm: boot=linux64" in err, err


def test_nook_run_vm_boots_through_pvh_and_inspect_names_it(nook):
    nook("run", "-d", "--vm", "--name", "p", "--kernel", GUEST_PVH, "--cmdline", "nook.wait_stop=1",
         "busybox", check=True, timeout=60)
    assert wait_for(lambda: "waiting for ctrl-alt-del" in nook("logs", "p").stdout)
    info = nook.inspect("p")["VM"]
    assert info["boot"] == "auto" and info["boot_protocol"] == "pvh", info
    logs = nook("logs", "p").stdout
    assert re.search(r"nook-guest: pvh start_info=0x6000 magic=0x336ec578 version=1 modules=\d+ memmap=4 ", logs)
    assert "nook.wait_stop=1" in guest_line(logs, "cmdline=")
    nook("stop", "p", check=True, timeout=30)
    st = nook.state("p")
    assert st["status"] == "stopped" and st["exit_reason"] == "reset" and st["exit_code"] == 0, st
    assert "FAIL" not in nook("logs", "p").stdout

    nook("run", "-d", "--vm", "--name", "b", "--kernel", GUEST_BZ, "--cmdline", "nook.wait_stop=1",
         "busybox", check=True, timeout=60)
    assert wait_for(lambda: "waiting for ctrl-alt-del" in nook("logs", "b").stdout)
    assert nook.inspect("b")["VM"]["boot_protocol"] == "linux64"
    nook("stop", "b", check=True, timeout=30)


def test_nook_run_boot_flag_chooses_the_protocol(nook):
    p = nook("run", "--rm", "--vm", "--kernel", GUEST_PVH, "--boot", "linux64", "--cmdline", "nook.mode=minimal",
             "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    assert "pvh start_info" not in p.stdout
    assert "nook-guest: hello cpl=3 protocol=0x20c loader=0xff" in p.stdout
    assert p.stdout.rstrip().endswith("nook-guest: done")
    p = nook("run", "--rm", "--vm", "--kernel", GUEST_PVH, "--boot", "pvh", "--cmdline", "nook.mode=minimal",
             "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    assert "nook-guest: pvh start_info=0x6000 magic=0x336ec578 " in p.stdout
    # Asked of a bzImage, PVH is refused with the reason, and nothing is left behind.
    p = nook("run", "--rm", "--vm", "--kernel", GUEST_BZ, "--boot", "pvh", "busybox", timeout=60)
    assert p.returncode != 0 and "has no PVH entry" in p.stderr, (p.returncode, p.stderr)
    assert nook.instances() == []


def test_nook_boot_flag_errors(nook):
    p = nook("run", "--rm", "--vm", "--kernel", GUEST_PVH, "--boot", "bios", "busybox")
    assert p.returncode == 125 and "--boot is auto, pvh or linux64" in p.stderr
    p = nook("run", "--rm", "--boot", "pvh", "busybox", "--", "true")
    assert p.returncode == 125 and "--boot" in p.stderr and "--vm" in p.stderr
    assert nook.instances() == []
