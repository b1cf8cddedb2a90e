"""podman driving nook as its OCI runtime (build/nook-runtime, the nook binary under that name):
a busybox image imported for this session only, every container removed afterwards."""
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid

import pytest

from conftest import NOOK, skip_or_fail

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "echo", "sleep", "cat", "ls", "id", "ps", "true", "false", "tty", "hostname", "grep")
# Without CAP_SYS_RESOURCE podman's default ulimits (raised to the maximum) cannot be set here.
RUN_OPTS = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def runtime_path():
    """build/nook-runtime beside the nook under test, made if `make` has not made it."""
    path = os.environ.get("NOOK_RUNTIME_BIN") or os.path.join(os.path.dirname(NOOK), "build", "nook-runtime")
    path = os.path.abspath(path)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(os.path.relpath(NOOK, os.path.dirname(path)), path)
    return path


def podman_args(runtime):
    return ["podman", "--runtime", runtime, "--cgroup-manager", "cgroupfs", "--events-backend", "file"]


def rootfs_tar():
    """A tar of a rootfs with /bin/busybox and its applets, in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "proc", "dev", "sys", "tmp", "etc", "run"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(ti)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for a in APPLETS:
            ti = tarfile.TarInfo("bin/" + a)
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            tar.addfile(ti)
    return buf.getvalue()


class Podman:
    def __init__(self, runtime, image):
        self.base = podman_args(runtime)
        self.image = image
        self.names = []

    def __call__(self, *args, timeout=120, **kw):
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kw)

    def name(self):
        n = "nook-test-" + uuid.uuid4().hex[:12]
        self.names.append(n)
        return n

    def run(self, *args, timeout=120):
        """podman run --rm --name NAME [RUN_OPTS] ARGS...: a named container, so that cleanup
        finds it even if podman fails half way."""
        return self("run", "--rm", "--name", self.name(), *RUN_OPTS, *args, timeout=timeout)

    def cleanup(self):
        for n in self.names:
            self("rm", "-f", "-t", "0", n, timeout=120)


@pytest.fixture(scope="module")
def image():
    if os.geteuid() != 0:
        skip_or_fail("podman tests run as root")
    if not shutil.which("podman"):
        skip_or_fail("podman is not installed (apt-get install podman)")
    if not os.path.exists(BUSYBOX):
        skip_or_fail(f"{BUSYBOX} is missing (busybox-static)")
    name = f"localhost/nook-test-bb-{uuid.uuid4().hex[:12]}:latest"
    p = subprocess.run(["podman", "import", "-", name], input=rootfs_tar(), capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    yield name
    subprocess.run(["podman", "rmi", "-f", name], capture_output=True, timeout=300)


@pytest.fixture
def podman(image):
    pm = Podman(runtime_path(), image)
    yield pm
    pm.cleanup()


def test_runtime_is_nook(podman):
    p = subprocess.run([podman.base[2], "--version"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("nook-runtime version "), p


def test_run_rm_echo(podman):
    p = podman.run(podman.image, "echo", "hi")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hi\n"
    assert podman("container", "exists", podman.names[-1]).returncode == 1


def test_exit_code_passes_through(podman):
    p = podman.run(podman.image, "sh", "-c", "echo before-exit; exit 7")
    assert p.returncode == 7, p.stderr
    assert "before-exit" in p.stdout


def test_container_environment(podman):
    p = podman.run("--hostname", "podhost", "--user", "1000:1000", podman.image, "sh", "-c",
                   "hostname; id -u; id -g; cat /proc/self/limits | grep 'open files'")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:3] == ["podhost", "1000", "1000"], p.stdout
    assert lines[3].split()[3:5] == ["1024", "1024"], p.stdout


def test_detached_exec_stop_rm(podman):
    n = podman.name()
    p = podman("run", "-d", "--name", n, *RUN_OPTS, podman.image, "sleep", "1000")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    assert len(cid) == 64

    info = json.loads(podman("inspect", n).stdout)[0]
    assert info["OCIRuntime"] == podman.base[2]
    st = info["State"]
    assert st["Status"] == "running" and st["Running"]
    pid = st["Pid"]
    assert pid > 0
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"1000"]
    ps = podman("ps", "--format", "json").stdout
    mine = [c for c in json.loads(ps) if n in c["Names"]]
    assert len(mine) == 1 and mine[0]["State"] == "running", ps

    p = podman("exec", n, "sh", "-c", "echo exec-$((6*7)); cat /proc/1/cmdline; echo; exit 3")
    assert p.returncode == 3, p.stderr
    assert p.stdout.splitlines()[0] == "exec-42"
    assert "sleep" in p.stdout
    p = podman("exec", "-e", "FOO=bar", "-w", "/tmp", n, "sh", "-c", "echo $FOO; pwd")
    assert p.returncode == 0 and p.stdout.split() == ["bar", "/tmp"], p

    p = podman("stop", "-t", "1", n)
    assert p.returncode == 0, p.stderr
    st = json.loads(podman("inspect", n).stdout)[0]["State"]
    assert st["Status"] == "exited" and not st["Running"]
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/cmdline", "rb").read() == b""
    assert podman("rm", n).returncode == 0
    assert podman("container", "exists", n).returncode == 1


def test_run_tty(podman):
    pexpect = pytest.importorskip("pexpect")
    n = podman.name()
    child = pexpect.spawn(podman.base[0], [*podman.base[1:], "run", "--rm", "-t", "--name", n, *RUN_OPTS,
                                           podman.image, "sh", "-c", "tty; echo tty-done-$((6*7))"],
                          timeout=120, encoding="utf-8")
    try:
        child.expect("tty-done-42")
        out = child.before
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "not a tty" not in out, out
    dev = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("/dev/")]
    assert dev, out
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)


def test_run_interactive_tty(podman):
    pexpect = pytest.importorskip("pexpect")
    n = podman.name()
    child = pexpect.spawn(podman.base[0], [*podman.base[1:], "run", "--rm", "-it", "--name", n, *RUN_OPTS,
                                           podman.image, "sh"], timeout=120, encoding="utf-8")
    try:
        child.expect(r"[#$] ")
        child.sendline("echo $((3*4))-typed; tty")
        child.expect("12-typed")
        child.expect("/dev/")
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 4, (child.exitstatus, child.signalstatus)


def test_stdin_pipe(podman):
    p = subprocess.run([*podman.base, "run", "--rm", "-i", "--name", podman.name(), *RUN_OPTS, podman.image,
                        "cat"], input="piped-in\n", capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "piped-in\n"


def test_volumes(podman, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in").write_text("from-host\n")
    p = podman.run("-v", f"{vol}:/data", podman.image, "sh", "-c", "cat /data/in; echo from-ct > /data/out")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "from-host\n"
    assert (vol / "out").read_text() == "from-ct\n"
    p = podman.run("-v", f"{vol}:/data:ro", podman.image, "sh", "-c", "echo x > /data/ro || echo refused")
    assert p.returncode == 0 and "refused" in p.stdout, p
    assert not (vol / "ro").exists()


def test_read_only_root_and_tmpfs(podman):
    """--read-only and --tmpfs give tmpfs mounts with the tmpcopyup option (runc's extension:
    the tmpfs starts with the image's files at that path)."""
    p = podman.run("--read-only", "--tmpfs", "/scratch", podman.image, "sh", "-c",
                   "touch /x 2>/dev/null && echo root-writable || echo root-ro; "
                   "touch /tmp/t /run/r /scratch/s && echo tmpfs-ok; ls /bin/sh")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["root-ro", "tmpfs-ok", "/bin/sh"], p.stdout


def test_limits_applied(podman):
    n = podman.name()
    p = podman("run", "-d", "--name", n, "--memory", "48m", "--pids-limit", "55", *RUN_OPTS, podman.image,
               "sleep", "1000")
    assert p.returncode == 0, p.stderr
    pid = json.loads(podman("inspect", n).stdout)[0]["State"]["Pid"]
    groups = dict(ln.split(":", 2)[1:] for ln in open(f"/proc/{pid}/cgroup").read().splitlines())
    mem = next(v for k, v in groups.items() if "memory" in k.split(","))
    pids = next(v for k, v in groups.items() if "pids" in k.split(","))
    with open(f"/sys/fs/cgroup/memory{mem}/memory.limit_in_bytes") as f:
        assert int(f.read()) == 48 * 1024 * 1024
    with open(f"/sys/fs/cgroup/pids{pids}/pids.max") as f:
        assert f.read().strip() == "55"


def test_pause_unpause_kill(podman):
    n = podman.name()
    p = podman("run", "-d", "--name", n, *RUN_OPTS, podman.image, "sleep", "1000")
    assert p.returncode == 0, p.stderr
    assert podman("pause", n).returncode == 0
    assert podman("inspect", "-f", "{{.State.Status}}", n).stdout.strip() == "paused"
    assert podman("unpause", n).returncode == 0
    assert podman("inspect", "-f", "{{.State.Status}}", n).stdout.strip() == "running"
    top = podman("top", n)
    assert top.returncode == 0 and "sleep 1000" in top.stdout, top
    assert podman("kill", "-s", "KILL", n).returncode == 0
    assert podman("wait", n).stdout.strip() == "137"
    assert podman("inspect", "-f", "{{.State.Status}}", n).stdout.strip() == "exited"
