"""The default guest kernel and nook's initramfs: Debian's cloud kernel fetched with
apt-get download into NOOK_ROOT/kernels (never installed on the host), and the initramfs
checked with GNU cpio. Skipped where apt cannot download the package."""
import os
import shutil
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import NOOK

MODULES = ["virtio_mmio", "virtio_blk", "virtio_net", "virtio_rng"]
INITRAMFS = "initramfs-nook-2.cpio"  # the number is nook's initramfs layout version


def run(root, *args, timeout=300):
    env = dict(os.environ, NOOK_ROOT=root, NOOK_RUN=os.path.join(root, "run"))
    return subprocess.run([NOOK, *args], env=env, capture_output=True, text=True, timeout=timeout)


def boot_listing():
    return sorted(os.listdir("/boot")) if os.path.isdir("/boot") else []


@pytest.fixture(scope="module")
def kernel():
    """One fetch for the module: (NOOK_ROOT, version, kernel dir)."""
    base = tempfile.mkdtemp(prefix="nook-kernel-test-")
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "run"))
    boot = boot_listing()
    try:
        p = run(root, "kernel", "fetch")
        if p.returncode != 0:
            if "apt" in p.stderr and ("download" in p.stderr or "no package" in p.stderr.lower()
                                      or "knows no package" in p.stderr):
                pytest.skip("apt cannot fetch the kernel package here: " + p.stderr.strip())
            pytest.fail(p.stderr)
        version = p.stdout.strip()
        assert boot_listing() == boot  # nothing went into the host's /boot
        yield root, version, os.path.join(root, "kernels", version)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def modinfo_depends(path):
    """depends= from a module's .modinfo section (what depmod reads)."""
    with open(path, "rb") as f:
        data = f.read()
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = secs[shstrndx][4]
    for s in secs:
        name = data[names + s[0]:data.index(b"\0", names + s[0])]
        if name == b".modinfo":
            for kv in data[s[4]:s[4] + s[5]].split(b"\0"):
                if kv.startswith(b"depends="):
                    return [d.replace("-", "_") for d in kv[8:].decode().split(",") if d]
            return []
    raise AssertionError(f"{path} has no .modinfo")


def name_of(path):
    return os.path.basename(path).split(".ko")[0].replace("-", "_")


def test_fetch_unpacks_the_cloud_kernel_under_nook_root(kernel):
    root, version, kdir = kernel
    assert version.endswith("-cloud-amd64")
    with open(os.path.join(kdir, "vmlinuz"), "rb") as f:
        head = f.read(0x1000)
    assert head[0x202:0x206] == b"HdrS"  # a bzImage
    # Its own version string (at 0x200 + kernel_version) names the same kernel.
    at = struct.unpack_from("<H", head, 0x20E)[0] + 0x200
    with open(os.path.join(kdir, "vmlinuz"), "rb") as f:
        f.seek(at)
        assert f.read(128).split(b" ")[0].decode() == version
    assert os.path.isfile(os.path.join(kdir, "modules", "kernel", "drivers", "block", "virtio_blk.ko"))
    assert os.path.isfile(os.path.join(kdir, "config"))
    with open(os.path.join(kdir, "package")) as f:
        assert f.read().startswith(f"linux-image-{version} ")
    # Unpacked, not installed: dpkg does not know it unless the host had it before.
    q = subprocess.run(["dpkg-query", "-W", "-f=${Status}", f"linux-image-{version}"], capture_output=True, text=True)
    assert "install ok installed" not in q.stdout or os.path.exists(f"/boot/vmlinuz-{version}")
    ls = run(root, "kernel", "ls")
    assert version in ls.stdout and "built" in ls.stdout
    # Leftovers of the download are gone.
    assert [d for d in os.listdir(os.path.join(root, "kernels")) if d.startswith(".")] == []


def test_fetching_again_changes_nothing(kernel):
    root, version, kdir = kernel
    before = os.stat(os.path.join(kdir, "vmlinuz")).st_mtime_ns, os.stat(os.path.join(kdir, "modules")).st_ino
    # What a killed fetch leaves (its process gone) is cleaned up by the next one.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = os.path.join(root, "kernels", f".fetch-{dead.pid}")
    os.makedirs(os.path.join(stale, "tree"))
    p = run(root, "kernel", "fetch")
    assert not os.path.exists(stale)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == version and "already there" in p.stderr
    # Debian's cloud kernel finds virtio-mmio devices and CPUs through ACPI only: said so.
    assert "virtio-mmio command line devices and MP tables" in p.stderr, p.stderr
    assert "it finds its root disk and more than one CPU through the VMM's ACPI tables" in p.stderr, p.stderr
    assert (os.stat(os.path.join(kdir, "vmlinuz")).st_mtime_ns, os.stat(os.path.join(kdir, "modules")).st_ino) == before


def cpio_list(path):
    p = subprocess.run(["cpio", "-it", "--quiet"], stdin=open(path, "rb"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def cpio_read(path, member):
    p = subprocess.run(["cpio", "-i", "--quiet", "--to-stdout", member], stdin=open(path, "rb"),
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_initramfs_holds_init_busybox_and_the_modules_with_their_dependencies(kernel):
    root, version, kdir = kernel
    cpio = os.path.join(kdir, INITRAMFS)
    names = cpio_list(cpio)
    assert {"init", "bin/busybox", "dev/console", "etc/nook/modules"} <= set(names)
    assert cpio_read(cpio, "bin/busybox") == open("/bin/busybox", "rb").read()
    order = cpio_read(cpio, "etc/nook/modules").decode().split()
    loaded = [name_of(m) for m in order]
    for m in MODULES:
        assert m in loaded, f"{m} missing from {loaded}"
    # Debian builds the ACPI pvpanic driver as a module: nook's initramfs loads it.
    assert "pvpanic_mmio" in loaded, loaded
    with open(os.path.join(kdir, "modules", "modules.builtin")) as f:
        builtin = {name_of(l.strip()) for l in f if l.strip()}
    # Every module is in the archive, and each dependency is built in or loaded before it.
    for i, path in enumerate(order):
        assert path.startswith(f"/lib/modules/{version}/kernel/") and path[1:] in names
        host = os.path.join(kdir, "modules", path[len(f"/lib/modules/{version}/"):])
        assert cpio_read(cpio, path[1:]) == open(host, "rb").read()
        for dep in modinfo_depends(host):
            assert dep in builtin or dep in loaded[:i], f"{name_of(path)} needs {dep} first"
    # Debian's cloud kernel: virtio_net needs net_failover and failover.
    assert loaded.index("failover") < loaded.index("net_failover") < loaded.index("virtio_net")


def test_init_is_valid_shell_that_busybox_accepts(kernel, tmp_path):
    root, version, kdir = kernel
    init = tmp_path / "init"
    init.write_bytes(cpio_read(os.path.join(kdir, INITRAMFS), "init"))
    p = subprocess.run(["/bin/busybox", "sh", "-n", str(init)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = init.read_text()
    for what in ("insmod", "mount -t \"$fstype\"", "nook.ip=", "nook.gw=", "chroot /newroot", "poweroff -f"):
        assert what in text


def test_initramfs_is_rebuilt_on_request(kernel):
    root, version, kdir = kernel
    cpio = os.path.join(kdir, INITRAMFS)
    os.unlink(cpio)
    assert "on first use" in run(root, "kernel", "ls").stdout
    p = run(root, "kernel", "initramfs")
    assert p.returncode == 0 and p.stdout.strip() == cpio, p.stderr
    assert "init" in cpio_list(cpio)


def test_unknown_package_fails_clearly(kernel):
    root, _, _ = kernel
    p = run(root, "kernel", "fetch", "linux-image-nook-no-such-kernel")
    assert p.returncode == 125
    assert "apt knows no package linux-image-nook-no-such-kernel" in p.stderr
    p = run(root, "kernel", "fetch", "-o")
    assert p.returncode == 125 and "not a package name" in p.stderr
    assert run(root, "kernel", "rm", "9.9.9-none").returncode == 125


def test_the_vmm_takes_the_fetched_kernel_with_nooks_initramfs_and_disk(kernel, nook):
    """Everything up to the boot, on any host: the VMM loads the fetched bzImage and the
    initramfs, attaches the instance's ext4 disk and runs the vCPUs. (Under PVM the
    kernel then crawls through the instruction emulator; it is stopped here.)"""
    _, _, kdir = kernel
    vmlinuz, initrd = os.path.join(kdir, "vmlinuz"), os.path.join(kdir, INITRAMFS)
    nook("run", "-d", "--vm", "--name", "lin", "--kernel", vmlinuz, "--initrd", initrd, "busybox", check=True,
         timeout=60)
    assert nook.state("lin")["status"] == "running"
    info = nook.inspect("lin")
    assert info["VM"]["kernel"] == vmlinuz and info["VM"]["initrd"] == initrd
    assert os.path.exists(info["VM"]["disk"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kvm = nook.inspect("lin").get("KVM")
        if not kvm or sum(v.get("exits", 0) for v in kvm["vcpu"]) > 0:
            break
        time.sleep(0.1)
    assert kvm is None or sum(v.get("exits", 0) for v in kvm["vcpu"]) > 0  # None: it already ended
    nook("stop", "-t", "1", "lin", check=True, timeout=30)
    st = nook.state("lin")
    assert st["status"] == "stopped" and st["exit_reason"] in ("killed", "reset", "poweroff"), st
