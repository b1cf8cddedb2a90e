"""The KVM engine (core/vm/) without the CLI: runvm boots tests/vm-guest through
libnook.a's VMM with the serial port on stdio, and these tests assert on the guest's
"nook-guest: ..." transcript and on runvm's "runvm: exit=..." line."""
import os
import re
import select
import shutil
import statistics
import struct
import subprocess
import time

import pytest

from conftest import skip_or_fail

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("NOOK_VM_BUILD") or os.path.join(ROOT, "build", "vm-guest")
RUNVM = os.path.join(BUILD, "runvm")
GUEST = os.path.join(BUILD, "guest.bin")
GUEST_ELF = os.path.join(BUILD, "guest-vmlinux.elf")


@pytest.fixture(scope="module", autouse=True)
def vm_ready():
    if not os.path.exists("/dev/kvm"):
        skip_or_fail("no /dev/kvm on this host")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_or_fail("/dev/kvm is not accessible (root or the kvm group is needed)")
    if not (os.path.exists(RUNVM) and os.path.exists(GUEST)):
        r = subprocess.run(["make", "-C", ROOT, "vm-guest"], capture_output=True, text=True)
        if r.returncode != 0:
            skip_or_fail("cannot build the test guest (make vm-guest): " + r.stderr[-500:])


class Run:
    def __init__(self, rc, out, err, ms):
        self.rc, self.out, self.err, self.ms = rc, out, err, ms
        m = re.search(r"^runvm: exit=(\S+) vcpu=(-?\d+) stop_requested=(\d) create_ms=([\d.]+) "
                      r"run_ms=([\d.]+) total_ms=([\d.]+) detail=(.*)$", err, re.M)
        assert m, f"no exit line from runvm (rc {rc}):\n{err}\n{out}"
        self.reason = m.group(1)
        self.stop_requested = m.group(3) == "1"
        self.create_ms, self.run_ms, self.total_ms = (float(m.group(i)) for i in (4, 5, 6))
        self.detail = m.group(7)

    def line(self, prefix):
        """The transcript line starting with 'nook-guest: <prefix>'."""
        for ln in self.out.splitlines():
            if ln.startswith("nook-guest: " + prefix):
                return ln
        raise AssertionError(f"no 'nook-guest: {prefix}' line in:\n{self.out}\n{self.err}")

    def stats(self, label):
        return {m.group(1): int(m.group(2)) for m in
                re.finditer(rf"^runvm: stat {label} (\S+)=(\d+)$", self.err, re.M)}


def runvm(*args, image=GUEST, input=None, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([RUNVM, *args, image], input=input, capture_output=True, timeout=timeout)
    ms = (time.monotonic() - t0) * 1000
    return Run(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), ms)


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def test_probe_reports_capabilities():
    p = subprocess.run([RUNVM, "--probe"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    caps = dict(kv.split("=") for kv in p.stdout.split())
    assert caps["api"] == "12"
    assert caps["irqchip"] == "1"
    print("kvm:", p.stdout.strip())


def test_boot_transcript_cmdline_e820_initrd_irqs(tmp_path):
    initrd = os.urandom(300_000) + b"nook initrd"
    path = tmp_path / "initrd.img"
    path.write_bytes(initrd)
    cmdline = "console=ttyS0 nook.test=transcript quiet"
    r = runvm("--mem", "128", "--cmdline", cmdline, "--initrd", str(path))
    assert r.reason == "reset" and r.rc == 0, r.err
    assert "reset through the i8042" in r.detail
    assert r.line("hello cpl=3 protocol=0x20f")
    assert r.line("cmdline=") == f"nook-guest: cmdline={cmdline} ok"
    e820 = r.line("e820 entries=")
    assert e820.startswith("nook-guest: e820 entries=4 ")
    ram_kib = int(re.search(r"ram_kib=(\d+)", e820).group(1))
    # 128 MiB minus the legacy hole and the MP table's KiB.
    assert ram_kib == 128 * 1024 - 384 - 1
    assert r.line("e820 0x00000000-0x0009fc00 type 1")
    assert r.line("e820 0x00100000-0x08000000 type 1")
    rd = r.line("initrd ")
    assert f"bytes={len(initrd)} fnv1a=0x{fnv1a(initrd):08x} ok" in rd, rd
    addr = int(re.search(r"addr=(0x[0-9a-f]+)", rd).group(1), 16)
    assert addr % 4096 == 0 and addr + len(initrd) <= 128 << 20
    assert r.line("pic masked at entry ") == "nook-guest: pic masked at entry master=0xfb slave=0xff ok"
    assert r.line("irq timer count=").endswith(" ok")
    assert r.line("irq serial count=").endswith(" ok")
    assert r.line("done")
    print(f"boot to reset: {r.run_ms:.1f} ms in the guest, {r.total_ms:.1f} ms with VM set-up")


def test_same_guest_as_elf_vmlinux():
    r = runvm("--cmdline", "elf=1", image=GUEST_ELF)
    assert r.reason == "reset", r.err
    assert r.line("cmdline=elf=1 ok")
    assert r.line("done")


def test_serial_input_reaches_the_guest():
    p = subprocess.Popen([RUNVM, "--cmdline", "nook.input=1", GUEST], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while b"ready for input" not in out:
            assert time.monotonic() < deadline, out
            ready, _, _ = select.select([p.stdout], [], [], 1)
            if ready:
                chunk = os.read(p.stdout.fileno(), 4096)
                assert chunk, out
                out += chunk
        p.stdin.write(b"hello-nook 123\n")
        p.stdin.flush()
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    r = Run(p.returncode, (out + rest).decode(), err.decode(), 0)
    assert r.reason == "reset", r.err
    assert r.line("input=").startswith("nook-guest: input=hello-nook 123 rx_irqs=")
    assert r.line("input=").endswith(" ok")


def test_two_vcpus_the_second_reports_in():
    r = runvm("--vcpus", "2")
    assert r.reason == "reset", r.err + r.out
    assert r.line("mptable cpus=2 ").endswith("checksum ok"), r.out
    assert r.line("cpu1 up apic=1")
    smp = r.line("smp cpus=2")
    assert smp.startswith("nook-guest: smp cpus=2 up=2 ") and smp.endswith(" ok"), r.out + r.err
    print(smp)


def test_kvm_stats_move():
    r = runvm("--stats")
    assert r.reason == "reset", r.err
    assert r.line("kvm-stats ").endswith(" ok")
    vcpus = r.stats("vcpus")
    assert vcpus.get("exits", 0) > 100, r.err
    print("vcpu stats:", {k: v for k, v in vcpus.items() if k in ("exits", "io_exits", "insn_emulation", "halt_exits", "irq_injections")})


def test_triple_fault_ends_as_crashed():
    r = runvm("--cmdline", "nook.mode=triple")
    assert r.line("triple fault now")
    assert r.reason == "crashed" and r.rc == 2, r.err
    assert "triple fault on vCPU 0" in r.detail


def test_guest_exception_is_reported_then_crashes():
    r = runvm("--cmdline", "nook.mode=ud")
    assert r.line("exception vector=6 ")
    assert r.reason == "crashed", r.err


def test_request_stop_sends_ctrl_alt_del():
    r = runvm("--cmdline", "nook.wait_stop=1", "--stop-after", "300")
    assert r.line("ctrl-alt-del received")
    assert r.reason == "reset" and r.stop_requested, r.err
    assert r.run_ms >= 250


def test_kill_stops_a_hung_guest():
    r = runvm("--cmdline", "nook.mode=hang", "--kill-after", "300")
    assert r.line("hanging")
    assert r.reason == "killed" and r.rc == 3, r.err
    assert "vCPU 0:" in r.detail


def test_bad_images_are_refused(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not a kernel" * 100)
    r = subprocess.run([RUNVM, str(junk)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "neither a bzImage nor an ELF vmlinux" in r.stderr
    r = subprocess.run([RUNVM, "--mem", "8", GUEST], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "guest memory must be" in r.stderr
    big = tmp_path / "big.img"
    with open(big, "wb") as f:
        f.truncate(40 << 20)
    r = subprocess.run([RUNVM, "--mem", "32", "--initrd", str(big), GUEST], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "does not fit" in r.stderr


def test_boot_to_reset_time():
    runs = [runvm() for _ in range(5)]
    for r in runs:
        assert r.reason == "reset", r.err
    run_ms = statistics.median(r.run_ms for r in runs)
    total_ms = statistics.median(r.total_ms for r in runs)
    create_ms = statistics.median(r.create_ms for r in runs)
    print(f"boot to reset (median of 5): VM set-up {create_ms:.1f} ms, guest {run_ms:.1f} ms, "
          f"total {total_ms:.1f} ms")
    assert total_ms < 2000


def test_virtio_devices_through_the_vmm(tmp_path):
    """blk, rng and net attached with nk_vm_attach_virtio: kicks reach the device models
    on the I/O thread, interrupts reach the guest, hostile rings are survived."""
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    r = runvm("--rng", "--blk", str(disk), "--net-dgram",
              "--cmdline", "virtio=blk,rng,net virtio_hostile=1")
    assert r.reason == "reset", r.err
    fails = [ln for ln in r.out.splitlines() if "FAIL" in ln]
    assert not fails, "\n".join(fails)
    for kind in ("rng", "blk", "net"):
        assert r.line(f"virtio-{kind} result=0 ok")
    assert r.line("virtio slot base=0xd0000000 size=0x1000 irq=5 magic=0x74726976 version=2 id=4")
    assert "runvm: net frames=1 bytes=60" in r.err
    # The guest wrote sectors 1-2 through virtio-blk.
    data = disk.read_bytes()
    assert data[512:1536] != bytes(1024)


def test_console_that_nobody_reads_never_stalls_the_guest():
    """Output beyond the queue's cap is dropped and counted; a console fd that does not
    drain costs the VM nothing but those bytes, and does not keep it from going away."""
    p = subprocess.Popen([RUNVM, "--console-cap", "4096", "--cmdline", "nook.spam=100", GUEST],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rc = p.wait(timeout=60)  # stdout is not read while the guest floods it
    finally:
        if p.poll() is None:
            p.kill()
    err = p.stderr.read().decode()
    out = p.stdout.read().decode(errors="replace")
    r = Run(rc, out, err, 0)
    assert r.reason == "reset", err
    dropped = int(re.search(r"runvm: console dropped=(\d+)", err).group(1))
    assert dropped > 0
    # The guest went on: it reached the end even though its output was not consumed.
    assert r.run_ms < 30000


# --- ACPI: the tables a Linux guest without MP-table parsing or virtio_mmio.device=
# needs (core/vm/acpi.c), read by the guest through the zero page as Linux reads them.

def test_acpi_tables_list_every_vcpu_and_virtio_device(tmp_path):
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    for vcpus, devices in ((1, []), (2, ["--rng", "--net-dgram", "--blk", str(disk)])):
        r = runvm("--vcpus", str(vcpus), *devices)
        assert r.reason == "reset", r.err + r.out
        assert r.line("acpi rsdp=0xe0000 ").endswith("checksums ok"), r.out
        assert r.line("acpi madt ") == f"nook-guest: acpi madt lapics={vcpus} mptable_cpus={vcpus} ok"
        assert r.line("acpi fadt ") == "nook-guest: acpi fadt hw_reduced=1 sleep_control=io:0x600 ok"
        n = len(devices) and 3
        assert r.line("acpi dsdt ") == \
            f"nook-guest: acpi dsdt virtio={n} live={n} cmdline_slots={n} pvpanic=0x505 ok"
        assert "FAIL" not in r.out


def test_guest_panic_through_pvpanic_ends_as_crashed():
    r = runvm("--cmdline", "nook.mode=panic")
    assert r.line("pvpanic port=0x505 events=0x1")
    assert r.reason == "crashed" and r.rc == 2, r.err
    assert "panic (pvpanic)" in r.detail
    assert "FAIL" not in r.out


def test_guest_poweroff_through_the_fadt_sleep_register():
    r = runvm("--cmdline", "nook.mode=poweroff", "--vcpus", "2")
    assert r.line("acpi poweroff slp_typ=5 port=0x600")
    assert r.reason == "poweroff" and r.rc == 0, r.err
    assert "ACPI (S5)" in r.detail
    assert "FAIL" not in r.out


def dumped(err):
    """The bytes runvm --dump printed."""
    return bytes(int(b, 16) for ln in re.findall(r"^runvm: dump (.*)$", err, re.M) for b in ln.split())


def test_acpi_tables_disassemble_with_iasl(tmp_path):
    """The tables of a real VM with three virtio devices, read back by ACPICA's own
    disassembler (the reference the kernel's ACPI interpreter shares its code with)."""
    if not shutil.which("iasl"):
        skip_or_fail("iasl is missing (Debian's acpica-tools, in the Makefile's DEB_TEST)")
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    base = 0xe0000
    r = runvm("--vcpus", "2", "--rng", "--net-dgram", "--blk", str(disk), "--dump", f"{base:#x}:0x1000")
    assert r.reason == "reset", r.err
    area = dumped(r.err)
    assert len(area) == 0x1000

    def table(addr):
        off = addr - base
        length = struct.unpack_from("<I", area, off + 4)[0]
        t = area[off:off + length]
        assert sum(t) % 256 == 0, t[:4]
        return t

    assert area[:8] == b"RSD PTR " and sum(area[:20]) % 256 == 0 and sum(area[:36]) % 256 == 0
    xsdt = table(struct.unpack_from("<Q", area, 24)[0])
    tables = {}
    for off in range(36, len(xsdt), 8):
        t = table(struct.unpack_from("<Q", xsdt, off)[0])
        tables[t[:4].decode()] = t
    assert sorted(tables) == ["APIC", "FACP"]
    tables["DSDT"] = table(struct.unpack_from("<Q", tables["FACP"], 140)[0])
    text = {}
    for sig, t in tables.items():
        (tmp_path / f"{sig}.dat").write_bytes(t)
        p = subprocess.run(["iasl", "-d", f"{sig}.dat"], cwd=tmp_path, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        text[sig] = (tmp_path / f"{sig}.dsl").read_text()
    dsdt = text["DSDT"]
    slots = re.findall(r"virtio_mmio\.device=4K@(0x[0-9a-f]+):(\d+)", r.line("cmdline="))
    assert len(slots) == 3
    assert dsdt.count('Name (_HID, "LNRO0005")') == 3
    for addr, gsi in slots:
        assert re.search(rf"Memory32Fixed \(ReadWrite,\s+0x{int(addr, 16):08X},\s+// Address Base\s+"
                         r"0x00001000,", dsdt), dsdt
        assert re.search(rf"Interrupt \(ResourceConsumer, Level, ActiveHigh, Exclusive, ,, \)\s+"
                         rf"\{{\s+0x{int(gsi):08X},", dsdt), dsdt
    assert 'Name (_HID, "QEMU0001")' in dsdt and "0x0505," in dsdt
    assert 'EisaId ("PNP0501")' in dsdt and 'EisaId ("PNP0303")' in dsdt
    assert re.search(r"Name \(_S5, Package \(0x04\)[^{]*\{\s+0x05,", dsdt), dsdt
    assert text["APIC"].count("[Processor Local APIC]") == 2
    assert text["APIC"].count("Processor Enabled : 1") == 2
    fadt = text["FACP"]
    assert re.search(r"Hardware Reduced \(V5\) : 1", fadt), fadt
    assert re.search(r"Sleep Control Register.*?Space ID : 01 \[SystemIO\].*?Address : 0000000000000600",
                     fadt, re.S), fadt
