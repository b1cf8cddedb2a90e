"""A VM's root disk: the image's rootfs as a sparse ext4 file per instance, attached over
virtio-blk. The test guest (tests/vm-guest) reads the superblock through the device with
`nook.disk=ext4`; the host side is checked with e2fsprogs' debugfs."""
import os
import subprocess

import pytest

from conftest import NOOK

GUEST = os.path.join(os.path.dirname(NOOK), "build", "vm-guest", "guest.bin")
EXT4_SEEN = 'virtio-blk: ext4 superblock in sector 2: magic 0xef53 label "nook-root" ok'


@pytest.fixture(scope="module", autouse=True)
def guest():
    subprocess.run(["make", "-s", "build/vm-guest/guest.bin"], cwd=os.path.dirname(NOOK), check=True)


def vm(nook, *args, cmdline="virtio=blk nook.disk=ext4", **kw):
    return nook("run", "--vm", "--kernel", GUEST, "--cmdline", cmdline, *args, **kw)


def disk_of(nook, name):
    return os.path.join(nook.root, "instances", name, "disk.ext4")


def debugfs(disk, request, write=False):
    args = ["debugfs"] + (["-w"] if write else []) + ["-R", request, disk]
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


def tree(path):
    """Every entry under path with its size and mtime: to see that an image is untouched."""
    out = []
    for d, dirs, files in os.walk(path):
        for n in sorted(dirs + files):
            st = os.lstat(os.path.join(d, n))
            out.append((os.path.join(d, n), st.st_size, st.st_mtime_ns))
    return sorted(out)


def test_the_instance_disk_reaches_the_guest_as_ext4(nook):
    image = os.path.join(nook.root, "images", "busybox", "rootfs")
    before = tree(image)
    p = vm(nook, "--name", "d", "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    assert EXT4_SEEN in p.stdout, p.stdout
    assert "virtio-blk: sectors 1-2 put back ok" in p.stdout
    assert 'get id "nook-root" ok' in p.stdout
    assert "FAIL" not in p.stdout
    disk = disk_of(nook, "d")
    st = os.stat(disk)
    # Sparse: the image's few MiB written, the rest of the 256 MiB headroom a hole.
    assert st.st_size >= 256 << 20 and st.st_size % (1 << 20) == 0
    assert st.st_blocks * 512 < st.st_size // 4
    # The image's files are on it, and the guest's writes left a clean file system.
    ls = debugfs(disk, "ls /bin")
    assert "busybox" in ls.stdout, ls.stderr
    fsck = subprocess.run(["e2fsck", "-fn", disk], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert tree(image) == before
    info = nook.inspect("d")["VM"]
    assert info["disk"] == disk and info["disk_bytes"] == st.st_size


def test_a_file_on_the_disk_survives_stop_and_start_and_rm_deletes_it(nook, tmp_path):
    p = vm(nook, "--name", "keep", "busybox", timeout=60)
    assert p.returncode == 0 and EXT4_SEEN in p.stdout, p.stdout + p.stderr
    disk = disk_of(nook, "keep")
    inode = os.stat(disk).st_ino
    src = tmp_path / "note.txt"
    src.write_text("kept across restarts\n")
    w = debugfs(disk, f"write {src} /note.txt", write=True)
    assert w.returncode == 0, w.stderr
    # Started again: the same disk (not made anew), still ext4 to the guest, file intact.
    nook("start", "-a", "keep", check=True, timeout=60)
    assert nook.state("keep")["status"] == "stopped"
    assert os.stat(disk).st_ino == inode
    logs = nook("logs", "keep").stdout
    assert logs.count(EXT4_SEEN) == 2, logs
    assert debugfs(disk, "cat /note.txt").stdout == "kept across restarts\n"
    nook("rm", "keep", check=True)
    assert not os.path.exists(disk)
    assert not os.path.exists(os.path.dirname(disk))


def test_rm_flag_leaves_no_disk(nook):
    p = vm(nook, "--rm", "busybox", timeout=60)
    assert p.returncode == 0 and EXT4_SEEN in p.stdout, p.stdout + p.stderr
    assert nook.instances() == []
    left = [f for f in os.listdir(os.path.join(nook.root, "instances"))]
    assert left == []


def test_disk_size(nook):
    p = vm(nook, "--name", "big", "--disk-size", "100M", "busybox", timeout=60)
    assert p.returncode == 0 and EXT4_SEEN in p.stdout, p.stdout + p.stderr
    assert os.stat(disk_of(nook, "big")).st_size == 100 << 20
    assert "capacity 204800 sectors" in p.stdout


def test_disk_errors_change_nothing(nook):
    p = vm(nook, "--rm", "--disk-size", "1M", "busybox")
    assert p.returncode == 125 and "--disk-size" in p.stderr
    p = nook("run", "--rm", "--disk-size", "100M", "busybox", "--", "true")
    assert p.returncode == 125 and "--vm" in p.stderr
    p = vm(nook, "--rm", "host")
    assert p.returncode == 125 and "host image" in p.stderr
    assert nook.instances() == []


def test_disk_too_small_for_the_image_fails_at_create(nook, tmp_path):
    # An image with 80 MiB of files cannot fit a 64 MiB disk: create says so and makes
    # nothing (no instance, no half-made disk).
    rootfs = tmp_path / "fat"
    (rootfs / "bin").mkdir(parents=True)
    with open(rootfs / "bin" / "blob", "wb") as f:
        f.write(os.urandom(1 << 20) * 80)
    nook("image", "import", "fat", str(rootfs), check=True, timeout=60)
    p = nook("create", "--vm", "--kernel", GUEST, "--name", "small", "--disk-size", "64M", "fat", timeout=60)
    assert p.returncode == 125
    assert "too small" in p.stderr and "MiB" in p.stderr
    assert nook.instances() == []
    assert [f for f in os.listdir(os.path.join(nook.root, "instances"))] == []


def test_the_disk_is_made_with_the_instance_and_again_if_it_went_missing(nook):
    nook("create", "--vm", "--kernel", GUEST, "--cmdline", "virtio=blk nook.disk=ext4", "--name", "m", "busybox",
         check=True)
    disk = disk_of(nook, "m")
    assert "busybox" in debugfs(disk, "ls /bin").stdout
    os.unlink(disk)
    nook("start", "-a", "m", check=True, timeout=60)
    assert EXT4_SEEN in nook("logs", "m").stdout
    assert "busybox" in debugfs(disk, "ls /bin").stdout


def test_disks_come_from_a_per_image_cache_and_stay_separate(nook, tmp_path):
    """The image's disk is made once (NOOK_ROOT/cache/disks) and copied per instance: two
    instances get two files, a write to one is not in the other, and `image rm` takes the
    cached disk along."""
    cache = os.path.join(nook.root, "cache", "disks")
    for name in ("one", "two"):
        p = vm(nook, "--name", name, "busybox", timeout=60)
        assert p.returncode == 0 and EXT4_SEEN in p.stdout, p.stdout + p.stderr
    cached = [f for f in os.listdir(cache) if f.startswith("busybox-") and f.endswith(".ext4")]
    assert len(cached) == 1, cached
    a, b = disk_of(nook, "one"), disk_of(nook, "two")
    assert os.stat(a).st_ino != os.stat(b).st_ino
    src = tmp_path / "mine.txt"
    src.write_text("only in one\n")
    assert debugfs(a, f"write {src} /mine.txt", write=True).returncode == 0
    assert debugfs(a, "cat /mine.txt").stdout == "only in one\n"
    assert "File not found" in debugfs(b, "cat /mine.txt").stderr
    assert "File not found" in debugfs(os.path.join(cache, cached[0]), "cat /mine.txt").stderr
    # Sparse like the cached one: the copy holds the data blocks, not the size.
    assert os.stat(a).st_blocks * 512 < os.stat(a).st_size // 4
    # What a mkfs killed half-way leaves goes with the image too.
    stale = os.path.join(cache, cached[0] + ".tmp-99999")
    open(stale, "w").close()
    nook("rm", "one", "two", check=True)
    nook("image", "rm", "busybox", check=True)
    assert [f for f in os.listdir(cache) if f.startswith("busybox-")] == []
