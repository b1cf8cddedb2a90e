"""The OCI runtime interface (`nook oci ...`, the same binary named nook-runtime), driven
through its command line the way podman and containerd drive runc: hand-made bundles of a
busybox rootfs, each test under its own --root and its own cgroupsPath, everything it made
deleted afterwards."""
import ctypes
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from conftest import NOOK, skip_or_fail
from nooktest import wait_until

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "echo", "sleep", "cat", "ls", "id", "ps", "true", "false", "tty", "mkdir", "hostname",
           "grep", "head", "umask", "pwd", "env", "stat", "dd", "touch", "wc", "mknod")
CGROUP_ROOT = "/sys/fs/cgroup"
CG_PARENT = "nook-test-oci"
PR_SET_CHILD_SUBREAPER = 36
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]


def wait_for(pred, timeout=20, what="condition"):
    return wait_until(pred, timeout, what)


def cgroup_dirs(relpath):
    """Where a group at relpath would live: every v1 hierarchy and the v2 root."""
    rel = relpath.strip("/")
    out = []
    for entry in sorted(os.listdir(CGROUP_ROOT)):
        base = os.path.join(CGROUP_ROOT, entry)
        if os.path.islink(base) or not os.path.isdir(base):
            continue
        out.append(os.path.join(base, rel))
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        out.append(os.path.join(CGROUP_ROOT, rel))
    return out


def rmdir_quiet(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class Runtime:
    """One private runtime root, its bundles, and what it made."""

    def __init__(self, tmp):
        self.tmp = str(tmp)
        self.root = os.path.join(self.tmp, "root")
        self.ids = []
        self.cgroups = []
        self.pids = []
        self.bundles = 0

    # --- the command line -------------------------------------------------------------
    def cmd(self, *args, timeout=60, **kw):
        """`nook oci --root ROOT ARGS...`; text output captured."""
        return subprocess.run([NOOK, "oci", "--root", self.root, *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kw)

    def ok(self, *args, **kw):
        p = self.cmd(*args, **kw)
        assert p.returncode == 0, f"nook oci {' '.join(args)} failed ({p.returncode}): {p.stderr}"
        return p

    def state(self, cid):
        return json.loads(self.ok("state", cid).stdout)

    def status(self, cid):
        return self.state(cid)["status"]

    def wait_status(self, cid, want):
        wait_for(lambda: self.status(cid) == want, what=f"{cid} to be {want}")

    # --- bundles ------------------------------------------------------------------------
    def bundle(self, args, mutate=None, terminal=False):
        """A bundle dir with a fresh busybox rootfs and a config.json; returns (dir, config)."""
        self.bundles += 1
        d = os.path.join(self.tmp, f"bundle{self.bundles}")
        rootfs = os.path.join(d, "rootfs")
        for sub in ("bin", "proc", "dev", "sys", "tmp", "etc", "out"):
            os.makedirs(os.path.join(rootfs, sub))
        os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
        shutil.copy2(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
        for a in APPLETS:
            os.symlink("busybox", os.path.join(rootfs, "bin", a))
        cg = f"/{CG_PARENT}/{uuid.uuid4().hex}"
        self.cgroups.append(cg)
        config = {
            "ociVersion": "1.0.2",
            "process": {
                "terminal": terminal,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": ["PATH=/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")},
                "noNewPrivileges": True,
            },
            "root": {"path": "rootfs"},
            "hostname": "ocitest",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            ],
            "linux": {
                "cgroupsPath": cg,
                "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            },
        }
        if mutate:
            mutate(config)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        return d, config

    def create(self, cid, bundle, *extra, out=None, check=True):
        """create with the container's stdio going to the file out (default BUNDLE/stdout):
        a pipe would keep the caller waiting for as long as the container lives."""
        out = out or os.path.join(bundle, "stdout")
        errpath = os.path.join(bundle, "create-stderr")
        self.ids.append(cid)
        # stderr to a file too: the container inherits it and keeps any pipe open.
        with open(out, "ab") as f, open(errpath, "wb+") as e:
            p = subprocess.run([NOOK, "oci", "--root", self.root, "create", "--bundle", bundle, *extra, cid],
                               stdin=subprocess.DEVNULL, stdout=f, stderr=e, timeout=60)
            e.seek(0)
            p.stderr = e.read()
        if check:
            assert p.returncode == 0, f"create {cid} failed ({p.returncode}): {p.stderr.decode(errors='replace')}"
        if p.returncode == 0:
            try:
                self.pids.append(self.state(cid)["pid"])
            except AssertionError:
                pass
        return p

    def cleanup(self):
        for cid in self.ids:
            self.cmd("delete", "--force", cid, timeout=30)
        for pid in self.pids:
            reap(pid)
        # Anything else the subreaper adopted (exec'd processes, hooks' children).
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        for cg in self.cgroups:
            for d in cgroup_dirs(cg):
                rmdir_quiet(d)
        for d in cgroup_dirs(CG_PARENT):
            rmdir_quiet(d)


@pytest.fixture(scope="module", autouse=True)
def subreaper():
    """The runtime's creator exits and leaves the container's process to its caller, as conmon
    expects; this test process plays the caller, so it adopts and reaps them."""
    if os.geteuid() != 0:
        skip_or_fail("the OCI runtime needs root")
    if not os.path.exists(BUSYBOX):
        skip_or_fail(f"{BUSYBOX} is missing (busybox-static)")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        skip_or_fail("cannot become a child subreaper")
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.fixture
def rt(tmp_path):
    r = Runtime(tmp_path)
    yield r
    r.cleanup()


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def output_of(bundle):
    p = os.path.join(bundle, "stdout")
    return read(p) if os.path.exists(p) else ""


def run_to_end(rt, cid, bundle):
    """start, wait for the exit; the container's output."""
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    return output_of(bundle)


def assert_nothing_left(rt, cid, cgroup):
    assert not os.path.exists(os.path.join(rt.root, cid)), f"{rt.root}/{cid} left behind"
    left = [d for d in cgroup_dirs(cgroup) if os.path.exists(d)]
    assert not left, f"cgroups left behind: {left}"


# --- lifecycle ----------------------------------------------------------------------------

def test_create_start_state_lifecycle(rt):
    b, cfg = rt.bundle(["sh", "-c", "echo started-$((6*7)); sleep 1; echo bye"])
    pidfile = os.path.join(rt.tmp, "ct.pid")
    rt.create("life", b, "--pid-file", pidfile)
    st = rt.state("life")
    assert st["id"] == "life"
    assert st["status"] == "created"
    assert st["bundle"] == os.path.realpath(b)
    assert st["ociVersion"]
    pid = st["pid"]
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    assert read(pidfile).strip() == str(pid)
    # Waiting for start: its output not yet produced.
    time.sleep(0.3)
    assert "started-42" not in output_of(b)
    assert rt.status("life") == "created"
    # The process sits in its cgroup already.
    procs = [d for d in cgroup_dirs(cfg["linux"]["cgroupsPath"]) if "/memory/" in d or "/pids/" in d]
    assert procs and any(str(pid) in read(os.path.join(d, "cgroup.procs")).split() for d in procs)
    rt.ok("start", "life")
    wait_for(lambda: "started-42" in output_of(b), what="the container's output")
    assert rt.status("life") == "running"
    rt.wait_status("life", "stopped")
    assert rt.state("life")["pid"] == 0
    assert "bye" in output_of(b)
    rt.ok("delete", "life")
    assert_nothing_left(rt, "life", cfg["linux"]["cgroupsPath"])


def test_start_twice_refused(rt):
    b, _ = rt.bundle(["sleep", "1000"])
    rt.create("twice", b)
    rt.ok("start", "twice")
    p = rt.cmd("start", "twice")
    assert p.returncode != 0
    assert rt.status("twice") == "running"


def test_kill_by_name_and_number(rt):
    script = "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.1; done"
    b, _ = rt.bundle(["sh", "-c", script])
    rt.create("k", b)
    rt.ok("start", "k")
    wait_for(lambda: "ready" in output_of(b), what="ready")
    rt.ok("kill", "k", "USR1")
    wait_for(lambda: "got-usr1" in output_of(b), what="USR1 handled")
    assert rt.status("k") == "running"
    rt.ok("kill", "k", "SIGTERM")
    wait_for(lambda: "got-term" in output_of(b), what="TERM handled")
    rt.wait_status("k", "stopped")

    b2, _ = rt.bundle(["sleep", "1000"])
    rt.create("k9", b2)
    rt.ok("start", "k9")
    rt.ok("kill", "k9", "9")
    rt.wait_status("k9", "stopped")
    p = rt.cmd("kill", "k9", "NOSUCHSIG")
    assert p.returncode != 0


def test_delete_running_needs_force(rt):
    b, cfg = rt.bundle(["sleep", "1000"])
    rt.create("del", b)
    rt.ok("start", "del")
    pid = rt.state("del")["pid"]
    p = rt.cmd("delete", "del")
    assert p.returncode == 1
    assert "del" in p.stderr
    assert rt.status("del") == "running"
    rt.ok("delete", "--force", "del")
    reap(pid)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the process to go")
    assert_nothing_left(rt, "del", cfg["linux"]["cgroupsPath"])
    assert rt.cmd("state", "del").returncode != 0


def test_delete_created_container(rt):
    b, cfg = rt.bundle(["echo", "never"])
    rt.create("unstarted", b)
    pid = rt.state("unstarted")["pid"]
    rt.ok("delete", "--force", "unstarted")
    reap(pid)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the process to go")
    assert_nothing_left(rt, "unstarted", cfg["linux"]["cgroupsPath"])
    assert "never" not in output_of(b)


def test_delete_missing(rt):
    os.makedirs(rt.root, exist_ok=True)
    assert rt.cmd("delete", "--force", "nosuch").returncode == 0
    p = rt.cmd("delete", "nosuch")
    assert p.returncode == 1
    assert "nosuch" in p.stderr


def test_existing_id_refused(rt):
    b, _ = rt.bundle(["sleep", "1000"])
    rt.create("dup", b)
    pid = rt.state("dup")["pid"]
    b2, cfg2 = rt.bundle(["sleep", "1000"])
    p = rt.create("dup", b2, check=False)
    assert p.returncode == 1
    assert b"exists" in p.stderr
    st = rt.state("dup")
    assert st["status"] == "created" and st["pid"] == pid and st["bundle"] == os.path.realpath(b)
    assert not any(os.path.exists(d) for d in cgroup_dirs(cfg2["linux"]["cgroupsPath"]))


@pytest.mark.parametrize("bad", ["a/b", "../escape", ".hidden", "x" * 129, "sp ace", "semi;colon"],
                         ids=["slash", "dotdot", "leading-dot", "too-long", "space", "semicolon"])
def test_bad_ids_refused(rt, bad):
    b, cfg = rt.bundle(["true"])
    p = rt.create(bad, b, check=False)
    assert p.returncode == 1
    assert b"invalid container id" in p.stderr
    assert not os.path.exists(os.path.join(rt.tmp, "escape"))
    assert not any(os.path.exists(d) for d in cgroup_dirs(cfg["linux"]["cgroupsPath"]))
    assert rt.cmd("state", bad).returncode == 1


# --- hooks --------------------------------------------------------------------------------

HOOK_SCRIPT = "#!/bin/sh\ncat > \"$1\"\n"


def test_hooks_each_kind_runs_once_with_state(rt):
    hookdir = os.path.join(rt.tmp, "hooks")
    os.makedirs(hookdir)
    host_hook = os.path.join(hookdir, "save.sh")
    with open(host_hook, "w") as f:
        f.write(HOOK_SCRIPT)
    os.chmod(host_hook, 0o755)
    host_kinds = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")

    def mutate(c):
        c["hooks"] = {k: [{"path": host_hook, "args": ["save.sh", os.path.join(hookdir, k + ".json")]}]
                      for k in host_kinds}
        # startContainer runs inside the container: its path and output are the container's.
        c["hooks"]["startContainer"] = [{"path": "/bin/sh",
                                         "args": ["sh", "-c", "cat > /out/startContainer.json"]}]
    b, cfg = rt.bundle(["sh", "-c", "echo main-ran; sleep 1000"], mutate=mutate)

    def seen(k):
        p = os.path.join(b, "rootfs", "out", k + ".json") if k == "startContainer" else os.path.join(hookdir, k + ".json")
        return p if os.path.exists(p) else None

    rt.create("hk", b)
    pid = rt.state("hk")["pid"]
    for k in ("prestart", "createRuntime", "createContainer"):
        assert seen(k), f"{k} hook did not run at create"
    for k in ("startContainer", "poststart", "poststop"):
        assert not seen(k), f"{k} hook ran too early"
    rt.ok("start", "hk")
    wait_for(lambda: "main-ran" in output_of(b), what="the process")
    assert seen("startContainer") and seen("poststart")
    assert not seen("poststop")
    rt.ok("kill", "hk", "KILL")
    rt.wait_status("hk", "stopped")
    rt.ok("delete", "hk")
    assert seen("poststop")
    # The runtime spec's state for each hook: the pid as seen where the hook runs (the host's
    # for the runtime-namespace hooks, the container's own, 1, for createContainer and
    # startContainer), and the status at that point of the lifecycle (as runc gives them).
    want = {"prestart": ("creating", pid), "createRuntime": ("creating", pid), "createContainer": ("creating", 1),
            "startContainer": ("created", 1), "poststart": ("running", pid), "poststop": ("stopped", None)}
    wrong = []
    for k, (status, want_pid) in want.items():
        text = read(seen(k))
        assert text.count('"ociVersion"') == 1, f"{k}: ran more than once or no state: {text!r}"
        st = json.loads(text)
        assert st["id"] == "hk", k
        assert st["bundle"] == os.path.realpath(b), k
        if st["status"] != status:
            wrong.append(f"{k}: status {st['status']!r}, want {status!r}")
        if want_pid is not None and st["pid"] != want_pid:
            wrong.append(f"{k}: pid {st['pid']}, want {want_pid}")
    assert not wrong, "; ".join(wrong)
    assert_nothing_left(rt, "hk", cfg["linux"]["cgroupsPath"])


def test_failing_create_runtime_hook_leaves_nothing(rt):
    hookdir = os.path.join(rt.tmp, "hooks")
    os.makedirs(hookdir)
    hook = os.path.join(hookdir, "fail.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\ncat > \"$1\"\nexit 1\n")
    os.chmod(hook, 0o755)
    saved = os.path.join(hookdir, "state.json")
    b, cfg = rt.bundle(["echo", "must-not-run"], mutate=lambda c: c.update(
        hooks={"createRuntime": [{"path": hook, "args": ["fail.sh", saved]}]}))
    p = rt.create("hookfail", b, check=False)
    assert p.returncode == 1
    assert b"createRuntime" in p.stderr or b"hook" in p.stderr
    pid = json.loads(read(saved))["pid"]
    reap(pid)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or reap(pid), what="the container process to go")
    assert_nothing_left(rt, "hookfail", cfg["linux"]["cgroupsPath"])
    assert rt.cmd("state", "hookfail").returncode == 1
    assert "must-not-run" not in output_of(b)


def test_failing_mount_leaves_nothing(rt):
    """A failure inside the new container (a mount the kernel refuses) fails create and
    takes down the process, its group and its record."""
    b, cfg = rt.bundle(["echo", "must-not-run"], mutate=lambda c: c["mounts"].append(
        {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=not-a-size"]}))
    p = rt.create("badmount", b, check=False)
    assert p.returncode == 1
    assert b"/mnt" in p.stderr
    assert_nothing_left(rt, "badmount", cfg["linux"]["cgroupsPath"])
    assert "must-not-run" not in output_of(b)


def test_failing_poststop_hook_does_not_block_delete(rt):
    hook = os.path.join(rt.tmp, "fail.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\ncat > /dev/null\nexit 3\n")
    os.chmod(hook, 0o755)
    b, cfg = rt.bundle(["true"], mutate=lambda c: c.update(hooks={"poststop": [{"path": hook}]}))
    rt.create("pstop", b)
    run_to_end(rt, "pstop", b)
    rt.ok("delete", "pstop")
    assert_nothing_left(rt, "pstop", cfg["linux"]["cgroupsPath"])


# --- the process and its environment -------------------------------------------------------

def test_user_and_groups(rt):
    b, _ = rt.bundle(["id"], mutate=lambda c: c["process"].update(
        user={"uid": 1234, "gid": 2345, "additionalGids": [10, 20]}))
    rt.create("user", b)
    out = run_to_end(rt, "user", b)
    assert "uid=1234" in out and "gid=2345" in out, out
    # The supplementary groups are additionalGids exactly (no /etc/group: numbers only).
    assert "groups=10,20" in out.split(), out


def test_rlimits(rt):
    b, _ = rt.bundle(["cat", "/proc/self/limits"], mutate=lambda c: c["process"].update(
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
                 {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]))
    rt.create("rl", b)
    out = run_to_end(rt, "rl", b)
    line = next(ln for ln in out.splitlines() if ln.startswith("Max open files"))
    assert line.split()[3:5] == ["321", "654"], line
    line = next(ln for ln in out.splitlines() if ln.startswith("Max core file size"))
    assert line.split()[4:6] == ["0", "0"], line


def test_umask_cwd_env(rt):
    def mutate(c):
        c["process"]["user"]["umask"] = 0o027
        c["process"]["cwd"] = "/tmp"
        c["process"]["env"].append("GREETING=hello-env")
    b, _ = rt.bundle(["sh", "-c", "umask; pwd; echo $GREETING; touch f; stat -c %a f"], mutate=mutate)
    rt.create("um", b)
    out = run_to_end(rt, "um", b).split()
    assert out == ["0027", "/tmp", "hello-env", "640"], out


def test_sysctl_in_new_netns(rt):
    b, _ = rt.bundle(["cat", "/proc/sys/net/ipv4/ping_group_range"], mutate=lambda c: c["linux"].update(
        sysctl={"net.ipv4.ping_group_range": "0 4321"}))
    rt.create("sysctl", b)
    assert run_to_end(rt, "sysctl", b).split() == ["0", "4321"]
    # The host's own value is untouched.
    assert read("/proc/sys/net/ipv4/ping_group_range").split() != ["0", "4321"]


def test_linux_devices_node(rt):
    def mutate(c):
        c["linux"]["devices"] = [{"path": "/dev/testnull", "type": "c", "major": 1, "minor": 3,
                                  "fileMode": 0o640, "uid": 0, "gid": 0}]
        c["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    b, _ = rt.bundle(["sh", "-c", "stat -c '%F %t:%T %a' /dev/testnull; echo x > /dev/testnull && echo wrote"],
                     mutate=mutate)
    rt.create("devnode", b)
    out = run_to_end(rt, "devnode", b)
    assert "character special file 1:3 640" in out, out
    assert "wrote" in out, out


def test_default_devices_usable_under_deny_all(rt):
    """podman's bundles deny every device and rely on the runtime's defaults (as runc and crun
    add them after the bundle's rules): /dev/null, zero, full, random, urandom, tty stay usable."""
    mutate = lambda c: c["linux"].update(resources={"devices": [{"allow": False, "access": "rwm"}]})
    script = ("for d in null zero full random urandom; do head -c 1 /dev/$d > /dev/null && echo $d-ok; done; "
              "echo x > /dev/null && echo write-ok")
    b, _ = rt.bundle(["sh", "-c", script], mutate=mutate)
    rt.create("devdefaults", b)
    out = run_to_end(rt, "devdefaults", b).split()
    assert out == ["null-ok", "zero-ok", "full-ok", "random-ok", "urandom-ok", "write-ok"], out


def test_device_cgroup_denies_unlisted_device(rt):
    """A deny-all rule: a device outside the defaults cannot be read even when its node exists."""
    def mutate(c):
        c["process"]["capabilities"] = {k: DEFAULT_CAPS + ["CAP_MKNOD"] for k in ("bounding", "effective", "permitted")}
        c["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"},
                                               {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "m"}]}
    script = ("mknod /tmp/kmsg c 1 11 && echo made; head -c 1 /tmp/kmsg >/dev/null 2>/tmp/err && echo read-ok "
              "|| { echo read-denied; cat /tmp/err; }; echo x > /dev/null && echo null-ok")
    b, _ = rt.bundle(["sh", "-c", script], mutate=mutate)
    rt.create("devdeny2", b)
    out = run_to_end(rt, "devdeny2", b)
    assert "made" in out and "null-ok" in out, out
    assert "read-denied" in out and "Operation not permitted" in out, out


def test_masked_and_readonly_paths(rt):
    def mutate(c):
        c["linux"]["maskedPaths"] = ["/proc/kcore", "/sys/firmware", "/proc/nosuchpath"]
        c["linux"]["readonlyPaths"] = ["/proc/sys"]
    script = ("echo kcore=$(head -c 8 /proc/kcore | wc -c); echo fw=$(ls /sys/firmware | wc -l); "
              "{ echo 1 > /proc/sys/net/ipv4/ip_forward; } 2>/tmp/err && echo sys-writable || { echo sys-ro; cat /tmp/err; }")
    b, _ = rt.bundle(["sh", "-c", script], mutate=mutate)
    rt.create("masked", b)
    out = run_to_end(rt, "masked", b)
    assert "kcore=0" in out, out
    assert "fw=0" in out, out
    assert "sys-ro" in out and "Read-only file system" in out, out


def test_tmpfs_tmpcopyup(rt):
    """tmpcopyup (runc's mount option, which podman gives every --tmpfs and --read-only
    tmpfs): the tmpfs starts with a copy of what the rootfs has at that path."""
    def mutate(c):
        c["root"]["readonly"] = True
        c["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                            "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})
    b, _ = rt.bundle(["sh", "-c", "cat /etc/greeting; echo changed > /etc/greeting && cat /etc/greeting"],
                     mutate=mutate)
    with open(os.path.join(b, "rootfs", "etc", "greeting"), "w") as f:
        f.write("from-image\n")
    rt.create("copyup", b)
    assert run_to_end(rt, "copyup", b).split() == ["from-image", "changed"]
    assert read(os.path.join(b, "rootfs", "etc", "greeting")) == "from-image\n"


def test_readonly_root(rt):
    b, _ = rt.bundle(["sh", "-c", "touch /x 2>/dev/null && echo root-writable || echo root-ro; "
                                  "touch /dev/y && echo dev-ok"],
                     mutate=lambda c: c["root"].update(readonly=True))
    rt.create("ro", b)
    assert run_to_end(rt, "ro", b).split() == ["root-ro", "dev-ok"]
    assert not os.path.exists(os.path.join(b, "rootfs", "x"))


def test_hostname_and_domainname(rt):
    def mutate(c):
        c["hostname"] = "oci-host-1"
        c["domainname"] = "oci.example"
    b, _ = rt.bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"], mutate=mutate)
    rt.create("uts", b)
    assert run_to_end(rt, "uts", b).split() == ["oci-host-1", "oci.example"]


def test_seccomp_inline_profile(rt):
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    b, _ = rt.bundle(["sh", "-c", "mkdir /tmp/d 2>&1 || echo mkdir-failed; echo x > /tmp/f && echo write-ok; "
                                  "ls -d /tmp/d 2>/dev/null || echo no-dir"],
                     mutate=lambda c: c["linux"].update(seccomp=prof))
    rt.create("sec", b)
    out = run_to_end(rt, "sec", b)
    assert "Operation not permitted" in out and "mkdir-failed" in out, out
    assert "write-ok" in out and "no-dir" in out, out


def test_memory_limit_in_cgroup(rt):
    limit = 48 * 1024 * 1024
    b, cfg = rt.bundle(["sleep", "1000"], mutate=lambda c: c["linux"].update(
        resources={"memory": {"limit": limit}, "pids": {"limit": 77}}))
    rt.create("mem", b)
    pid = rt.state("mem")["pid"]
    cg = cfg["linux"]["cgroupsPath"].strip("/")
    v1 = os.path.join(CGROUP_ROOT, "memory", cg, "memory.limit_in_bytes")
    v2 = os.path.join(CGROUP_ROOT, cg, "memory.max")
    path = v1 if os.path.exists(v1) else v2
    assert int(read(path)) == limit
    assert str(pid) in read(os.path.join(os.path.dirname(path), "cgroup.procs")).split()
    pids_v1 = os.path.join(CGROUP_ROOT, "pids", cg, "pids.max")
    pids_max = pids_v1 if os.path.exists(pids_v1) else os.path.join(CGROUP_ROOT, cg, "pids.max")
    assert read(pids_max).strip() == "77"
    rt.ok("delete", "--force", "mem")
    reap(pid)
    assert_nothing_left(rt, "mem", cfg["linux"]["cgroupsPath"])


def test_pause_resume(rt):
    b, cfg = rt.bundle(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done"])
    rt.create("pz", b)
    rt.ok("start", "pz")
    counter = os.path.join(b, "rootfs", "tmp", "n")
    wait_for(lambda: os.path.exists(counter) and read(counter).strip(), what="the counter")
    rt.ok("pause", "pz")
    assert rt.status("pz") == "paused"
    freezer = [os.path.join(d, "freezer.state") for d in cgroup_dirs(cfg["linux"]["cgroupsPath"])
               if os.path.exists(os.path.join(d, "freezer.state"))]
    cgv2 = [os.path.join(d, "cgroup.freeze") for d in cgroup_dirs(cfg["linux"]["cgroupsPath"])
            if os.path.exists(os.path.join(d, "cgroup.freeze"))]
    assert freezer or cgv2
    assert all(read(f).strip() == "FROZEN" for f in freezer) and all(read(f).strip() == "1" for f in cgv2)
    before = read(counter)
    time.sleep(0.4)
    assert read(counter) == before, "the counter moved while paused"
    rt.ok("resume", "pz")
    assert rt.status("pz") == "running"
    wait_for(lambda: read(counter) != before, what="the counter to move again")


def test_delete_force_paused(rt):
    b, cfg = rt.bundle(["sh", "-c", "sleep 1000 & sleep 1000"])
    rt.create("pzdel", b)
    rt.ok("start", "pzdel")
    wait_for(lambda: len(json.loads(rt.ok("ps", "--format", "json", "pzdel").stdout)) == 2, what="two processes")
    pids = json.loads(rt.ok("ps", "--format", "json", "pzdel").stdout)
    rt.ok("pause", "pzdel")
    assert rt.cmd("delete", "pzdel").returncode == 1
    rt.ok("delete", "--force", "pzdel")
    for pid in pids:
        reap(pid)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or reap(pid), what=f"process {pid} to go")
    assert_nothing_left(rt, "pzdel", cfg["linux"]["cgroupsPath"])


def test_kill_all_and_stopped(rt):
    b, _ = rt.bundle(["sh", "-c", "sleep 1000 & sleep 1000"])
    rt.create("kall", b)
    rt.ok("start", "kall")
    wait_for(lambda: len(json.loads(rt.ok("ps", "--format", "json", "kall").stdout)) == 2, what="two processes")
    pids = json.loads(rt.ok("ps", "--format", "json", "kall").stdout)
    rt.ok("kill", "--all", "kall", "KILL")
    rt.wait_status("kall", "stopped")
    for pid in pids:
        reap(pid)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or reap(pid), what=f"process {pid} to go")
    # What runc answers for a container that has exited.
    p = rt.cmd("kill", "kall", "KILL")
    assert p.returncode == 1 and "not running" in p.stderr
    assert rt.cmd("start", "kall").returncode == 1
    assert rt.cmd("pause", "kall").returncode == 1
    rt.ok("delete", "kall")


def test_ps_and_list(rt):
    b, _ = rt.bundle(["sleep", "1000"])
    rt.create("lst-a", b)
    b2, _ = rt.bundle(["sleep", "1000"])
    rt.create("lst-b", b2)
    rt.ok("start", "lst-a")
    pid = rt.state("lst-a")["pid"]
    pids = json.loads(rt.ok("ps", "--format", "json", "lst-a").stdout)
    assert pid in pids
    table = rt.ok("ps", "lst-a").stdout
    assert str(pid) in table and "sleep" in table
    lst = {c["id"]: c for c in json.loads(rt.ok("list", "--format", "json").stdout)}
    assert set(lst) == {"lst-a", "lst-b"}
    assert lst["lst-a"]["status"] == "running" and lst["lst-a"]["pid"] == pid
    assert lst["lst-b"]["status"] == "created"
    assert rt.ok("list", "-q").stdout.split() == ["lst-a", "lst-b"]
    rows = rt.ok("list").stdout.splitlines()
    assert rows[0].split()[:3] == ["ID", "PID", "STATUS"]
    row = next(r for r in rows if r.startswith("lst-a "))
    assert row.split()[1:3] == [str(pid), "running"]


def test_list_empty_root(rt):
    os.makedirs(rt.root, exist_ok=True)
    assert json.loads(rt.ok("list", "--format", "json").stdout) == []
    assert rt.ok("list", "-q").stdout == ""


# --- exec -----------------------------------------------------------------------------------

def started(rt, cid, args=("sleep", "1000"), **kw):
    b, cfg = rt.bundle(list(args), **kw)
    rt.create(cid, b)
    rt.ok("start", cid)
    return b, cfg


def test_exec_args_and_exit_code(rt):
    started(rt, "ex")
    p = rt.cmd("exec", "ex", "sh", "-c", "echo in-$(hostname); echo err >&2; exit 5")
    assert p.returncode == 5, p.stderr
    assert p.stdout.strip() == "in-ocitest"
    assert "err" in p.stderr
    p = rt.cmd("exec", "ex", "--", "cat", "/proc/1/cmdline")
    assert p.returncode == 0 and p.stdout.startswith("sleep"), p
    p = rt.cmd("exec", "--cwd", "/tmp", "--env", "ADDED=yes", "ex", "sh", "-c", "pwd; echo $ADDED")
    assert p.returncode == 0 and p.stdout.split() == ["/tmp", "yes"], p
    assert rt.cmd("exec", "nosuch", "true").returncode == 1


def test_exec_process_json(rt):
    started(rt, "exp")
    proc = {"args": ["sh", "-c", "echo $FOO; pwd; id -u; id -g; umask"], "env": ["FOO=from-json", "PATH=/bin"],
            "cwd": "/tmp", "user": {"uid": 4242, "gid": 4343}, "terminal": False}
    pf = os.path.join(rt.tmp, "process.json")
    with open(pf, "w") as f:
        json.dump(proc, f)
    p = rt.cmd("exec", "--process", pf, "exp")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[:4] == ["from-json", "/tmp", "4242", "4343"], p.stdout
    proc["args"] = ["sh", "-c", "exit 9"]
    with open(pf, "w") as f:
        json.dump(proc, f)
    assert rt.cmd("exec", "--process", pf, "exp").returncode == 9


def test_exec_detach_pid_file(rt):
    _, cfg = started(rt, "exd")
    pf = os.path.join(rt.tmp, "exec.pid")
    outpath = os.path.join(rt.tmp, "exec.out")
    # Its stdio to a file: the detached process keeps what it inherits, a pipe included.
    with open(outpath, "w") as out:
        p = subprocess.run([NOOK, "oci", "--root", rt.root, "exec", "--detach", "--pid-file", pf, "exd",
                            "sleep", "999"], stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60)
    assert p.returncode == 0, read(outpath)
    pid = int(read(pf))

    def running_sleep():
        try:
            # This test process is the subreaper: an exit shows here, with its status.
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = 0, 0
        assert done == 0, f"the exec'd process exited at once (wait status {status:#x}): {read(outpath)!r}"
        return read(f"/proc/{pid}/cmdline").split("\0")[:2] == ["sleep", "999"]
    wait_for(running_sleep, what="the exec'd process to run sleep 999")
    assert pid in json.loads(rt.ok("ps", "--format", "json", "exd").stdout)
    # It shares the container's namespaces.
    init = rt.state("exd")["pid"]
    for ns in ("pid", "mnt", "net", "uts"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    # delete --force waits for the group to empty: reap what it kills meanwhile, as conmon would.
    d = subprocess.Popen([NOOK, "oci", "--root", rt.root, "delete", "--force", "exd"], stdin=subprocess.DEVNULL)
    while d.poll() is None:
        reap(pid)
        reap(init)
        time.sleep(0.02)
    assert d.returncode == 0
    assert not os.path.exists(f"/proc/{pid}")
    assert_nothing_left(rt, "exd", cfg["linux"]["cgroupsPath"])


def test_exec_refused_on_stopped(rt):
    b, _ = rt.bundle(["true"])
    rt.create("exs", b)
    run_to_end(rt, "exs", b)
    p = rt.cmd("exec", "exs", "true")
    assert p.returncode == 1 and p.stderr


# --- console --------------------------------------------------------------------------------

class ConsoleServer:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(20)

    def receive_master(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(20)
            _, fds, _, _ = socket.recv_fds(conn, 1024, 4)
        assert len(fds) == 1, fds
        return fds[0]

    def close(self):
        self.sock.close()


def read_pty_until(fd, needle, timeout=20):
    os.set_blocking(fd, False)
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.05)
            continue
        except OSError:  # EIO: every slave end closed
            break
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace")


def test_console_socket_receives_pty(rt):
    srv = ConsoleServer(os.path.join(rt.tmp, "console.sock"))
    try:
        b, _ = rt.bundle(["sh", "-c", "tty; echo tty-rc=$?; echo done-$((6*7)); sleep 2"], terminal=True)
        rt.create("con", b, "--console-socket", srv.path)
        master = srv.receive_master()
        try:
            assert os.isatty(master)
            rt.ok("start", "con")
            out = read_pty_until(master, b"done-42")
        finally:
            os.close(master)
    finally:
        srv.close()
    assert "done-42" in out, out
    assert "tty-rc=0" in out and "not a tty" not in out, out
    first = out.strip().splitlines()[0].strip()
    assert first.startswith("/dev/"), out


def test_terminal_without_console_socket_refused(rt):
    b, cfg = rt.bundle(["true"], terminal=True)
    p = rt.create("nocon", b, check=False)
    assert p.returncode == 1 and b"console-socket" in p.stderr
    assert_nothing_left(rt, "nocon", cfg["linux"]["cgroupsPath"])


def test_exec_tty_console_socket(rt):
    started(rt, "ext")
    srv = ConsoleServer(os.path.join(rt.tmp, "exec-console.sock"))
    try:
        pf = os.path.join(rt.tmp, "exec-tty.pid")
        p = rt.cmd("exec", "--tty", "--detach", "--console-socket", srv.path, "--pid-file", pf,
                   "ext", "sh", "-c", "tty; echo exec-tty-$((2*21)); sleep 2")
        assert p.returncode == 0, p.stderr
        master = srv.receive_master()
        try:
            out = read_pty_until(master, b"exec-tty-42")
        finally:
            os.close(master)
        reap(int(read(pf)))
    finally:
        srv.close()
    assert "exec-tty-42" in out and "not a tty" not in out, out


# --- what is refused ------------------------------------------------------------------------

MAPPING = [{"containerID": 0, "hostID": 100000, "size": 65536}]


@pytest.mark.parametrize("key,mutate", [
    pytest.param("intelRdt", lambda c: c["linux"].update(intelRdt={"closID": "guaranteed_group"}), id="intelRdt"),
    pytest.param("apparmorProfile", lambda c: c["process"].update(apparmorProfile="nook-test-profile"),
                 id="apparmorProfile"),
    pytest.param("user", lambda c: (c["linux"]["namespaces"].append({"type": "user"}),
                                    c["linux"].update(uidMappings=MAPPING, gidMappings=MAPPING)), id="userns"),
    pytest.param("uidMappings", lambda c: c["linux"].update(uidMappings=MAPPING), id="uidMappings"),
    pytest.param("gidMappings", lambda c: c["linux"].update(gidMappings=MAPPING), id="gidMappings"),
    pytest.param("unknownKind", lambda c: c.update(hooks={"unknownKind": [{"path": "/bin/true"}]}),
                 id="hooks.unknownKind"),
])
def test_unsupported_keys_refused(rt, key, mutate):
    b, cfg = rt.bundle(["echo", "must-not-run"], mutate=mutate)
    p = rt.create("unsup", b, check=False)
    assert p.returncode == 1
    err = p.stderr.decode(errors="replace")
    assert key in err, err
    assert_nothing_left(rt, "unsup", cfg["linux"]["cgroupsPath"])
    assert "must-not-run" not in output_of(b)


def test_empty_apparmor_profile_accepted(rt):
    b, _ = rt.bundle(["echo", "aa-ok"], mutate=lambda c: c["process"].update(apparmorProfile=""))
    rt.create("aa", b)
    assert "aa-ok" in run_to_end(rt, "aa", b)


def test_systemd_cgroup_refused(rt):
    p = rt.cmd("--systemd-cgroup", "list")
    assert p.returncode == 1
    assert "systemd" in p.stderr


def test_features_document():
    p = subprocess.run([NOOK, "oci", "features"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    f = json.loads(p.stdout)
    assert f["ociVersionMin"] and f["ociVersionMax"]
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"}
    assert "mounts" in f or "mountOptions" in f
    assert "pid" in f["linux"]["namespaces"]


def test_version():
    p = subprocess.run([NOOK, "oci", "--version"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    assert p.stdout.startswith("nook-runtime version ")
    assert "spec: 1." in p.stdout


def test_log_json_on_error(rt):
    os.makedirs(rt.root, exist_ok=True)
    log = os.path.join(rt.tmp, "runtime.log")
    p = rt.cmd("--log", log, "--log-format", "json", "state", "nosuch-log")
    # (--root comes first in rt.cmd; the global options may come in any order)
    assert p.returncode == 1
    lines = [json.loads(ln) for ln in read(log).splitlines()]
    assert len(lines) == 1
    assert lines[0]["level"] == "error"
    assert "nosuch-log" in lines[0]["msg"]
    assert lines[0]["time"]


def test_runtime_name_argv0(rt, tmp_path):
    """The same binary under the name nook-runtime speaks the runtime's command line."""
    link = os.path.join(str(tmp_path), "nook-runtime")
    os.symlink(NOOK, link)
    p = subprocess.run([link, "--version"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("nook-runtime version "), p
    b, _ = rt.bundle(["echo", "via-argv0"])
    rt.ids.append("argv0")
    with open(os.path.join(b, "stdout"), "wb") as out:
        p = subprocess.run([link, "--root", rt.root, "create", "--bundle", b, "argv0"], stdout=out,
                           stderr=out, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p.stderr
    rt.pids.append(rt.state("argv0")["pid"])
    p = subprocess.run([link, "--root", rt.root, "start", "argv0"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rt.wait_status("argv0", "stopped")
    assert "via-argv0" in output_of(b)
