"""What the integration and dashboard test suites share: the nook under test, a private
NOOK_ROOT/NOOK_RUN per test, and a teardown that takes down everything nook started in it
(instances, monitors, cgroups, networks) even when the test failed."""
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NOOK = os.path.abspath(os.environ.get("NOOK_BIN") or os.path.join(HERE, "..", "..", "nook"))
MUST_WORK = os.environ.get("NOOK_MUST_WORK") == "1"
# Every v1 hierarchy nook makes groups in (core/cgroup-v1.c).
V1_HIERARCHIES = ("memory", "pids", "cpu", "cpuacct", "cpuset", "freezer", "blkio", "devices")

# One busybox image built once per session and copied into each test's root: building
# it is part of what the image tests check, not something every test should pay for.
_busybox_cache = {}


def skip_or_fail(reason):
    """A skip says why; under NOOK_MUST_WORK=1 (CI) it is a failure instead."""
    if MUST_WORK:
        pytest.fail("cannot run here: " + reason)
    pytest.skip(reason)


class Nook:
    def __init__(self, root, run):
        self.root = root
        self.run_dir = run
        # The OCI runtime's containers show in `nook ls`: a private root keeps the host's out.
        self.env = dict(os.environ, NOOK_ROOT=root, NOOK_RUN=run, NOOK_OCI_ROOT=os.path.join(run, "oci"))

    def __call__(self, *args, check=False, timeout=60, input=None, **kw):
        """Run nook; returns CompletedProcess with text stdout/stderr."""
        p = subprocess.run([NOOK, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout, input=input, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"nook {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def popen(self, *args, **kw):
        return subprocess.Popen([NOOK, *args], env=self.env, **kw)

    def state(self, name):
        with open(os.path.join(self.root, "instances", name, "state.json")) as f:
            return json.load(f)

    def instances(self):
        d = os.path.join(self.root, "instances")
        return sorted(n for n in os.listdir(d) if not n.startswith(".")) if os.path.isdir(d) else []

    def inspect(self, name):
        return json.loads(self("inspect", name, check=True).stdout)


def remove_networks(n):
    """Every network of the root goes, the default one too: a private root's default
    network has a bridge and firewall rules of its own on the host."""
    for line in n("net", "ls", timeout=30).stdout.splitlines()[1:]:
        words = line.split()
        if len(words) >= 4 and not line.startswith("no networks"):
            n("net", "rm", words[0], timeout=30)


def teardown(n):
    for name in n.instances():
        try:
            st = n.state(name)
        except (OSError, ValueError):
            st = {}
        n("rm", "-f", name, timeout=30)
        # A monitor that would not go: end it by the pid nook recorded for it.
        for key in ("monitor_pid", "init_pid"):
            pid = st.get(key) or 0
            if pid > 0 and os.path.exists(f"/proc/{pid}"):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if b"nook" in f.read():
                            os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for hier in V1_HIERARCHIES:
            # A private NOOK_ROOT's groups are nook/NAME@<hash of the root>.
            for cg in glob.glob(f"/sys/fs/cgroup/{hier}/nook/{glob.escape(name)}@*"):
                try:
                    os.rmdir(cg)
                except OSError:
                    pass
    remove_networks(n)


@contextlib.contextmanager
def private_root(prefix="nook-test-"):
    """A Nook on a fresh root holding the busybox image; everything in it is taken down after."""
    base = tempfile.mkdtemp(prefix=prefix)
    root, run = os.path.join(base, "root"), os.path.join(base, "run")
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(run)
    if "busybox" not in _busybox_cache:
        cache = tempfile.mkdtemp(prefix="nook-busybox-")
        env = dict(os.environ, NOOK_ROOT=cache, NOOK_RUN=os.path.join(cache, "run"))
        subprocess.run([NOOK, "run", "--rm", "--net", "none", "busybox", "--", "true"], env=env, check=True,
                       capture_output=True, timeout=60)
        _busybox_cache["busybox"] = cache
    shutil.copytree(os.path.join(_busybox_cache["busybox"], "images", "busybox"),
                    os.path.join(root, "images", "busybox"), symlinks=True)
    n = Nook(root, run)
    try:
        yield n
    finally:
        teardown(n)
        shutil.rmtree(base, ignore_errors=True)


def drop_busybox_cache():
    for cache in _busybox_cache.values():
        shutil.rmtree(cache, ignore_errors=True)
    _busybox_cache.clear()


def make_oci_bundle(path, args, cgroup):
    """An OCI bundle at path: a busybox rootfs, args as the process, its own cgroupsPath."""
    rootfs = os.path.join(path, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for tool in ("sh", "sleep", "true"):
        os.symlink("busybox", os.path.join(rootfs, "bin", tool))
    caps = ["CAP_KILL"]
    config = {
        "ociVersion": "1.0.2",
        "process": {"args": args, "cwd": "/", "env": ["PATH=/bin"],
                    "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}},
        "root": {"path": "rootfs"},
        "hostname": "oci",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts", "network")],
                  "cgroupsPath": cgroup,
                  "resources": {"pids": {"limit": 64}}},
    }
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


def remove_cgroup_path(relpath):
    """rmdir a cgroup path (deepest first) in every hierarchy: what a bundle's cgroupsPath made."""
    base = "/sys/fs/cgroup"
    tops = [base] + [os.path.join(base, d) for d in os.listdir(base) if not os.path.islink(os.path.join(base, d))]
    parts = relpath.strip("/").split("/")
    for top in tops:
        for depth in range(len(parts), 0, -1):
            try:
                os.rmdir(os.path.join(top, *parts[:depth]))
            except OSError:
                pass


def wait_for(pred, timeout=10.0, step=0.05):
    """pred's first truthy value within timeout, else its last (falsy) one. The bound only
    stops a hung test; no test asserts on timing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def wait_until(pred, timeout=10.0, what="condition", step=0.05):
    """wait_for, failing the test (naming what it waited for) when the time runs out."""
    value = wait_for(pred, timeout, step)
    if not value:
        pytest.fail(f"timed out after {timeout}s waiting for {what}")
    return value
