"""What a container cannot see or do, checked from inside with the static probe
(tests/probe/probe.c) rather than by trusting nook's own account of what it set up."""
import hashlib
import json
import os
import re
import shlex
import subprocess
import time

import pytest

from conftest import NOOK, PROBES, skip_or_fail

PROBE = os.path.join(PROBES, "probe")
PROBE_VOL = f"{PROBES}:/probe:ro"

# Docker's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DOCKER_CAPS = sum(1 << b for b in (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31))
CAP_SYS_ADMIN = 21

MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


@pytest.fixture(autouse=True)
def _probe_built():
    if not os.access(PROBE, os.X_OK):
        pytest.fail(f"{PROBE} is missing: run `make probes` first")


def run_in(nook, *cmd, opts=(), image="busybox", **kw):
    """Run CMD in a throwaway container with the probe at /probe; return the process."""
    return nook("run", "--rm", "-v", PROBE_VOL, *opts, image, "--", *cmd, **kw)


def probe(nook, *args, opts=(), **kw):
    p = run_in(nook, "/probe/probe", *args, opts=opts, **kw)
    assert p.returncode == 0, f"probe {args} exited {p.returncode}: {p.stderr}"
    return json.loads(p.stdout)


def sh(nook, script, opts=(), **kw):
    p = run_in(nook, "sh", "-c", script, opts=opts, **kw)
    assert p.returncode == 0, f"script exited {p.returncode}: {p.stdout}{p.stderr}"
    return p.stdout


def mountinfo(text):
    """[(mount_id, parent, 'maj:min', root, mount_point, options, fstype, source)]"""
    out = []
    for line in text.splitlines():
        left, right = line.split(" - ", 1)
        f, r = left.split(), right.split()
        out.append({"dev": f[2], "root": f[3], "point": f[4], "opts": f[5].split(","),
                    "fstype": r[0], "source": r[1], "super": r[2].split(",") if len(r) > 2 else []})
    return out


def host_mountinfo():
    with open("/proc/self/mountinfo") as f:
        return mountinfo(f.read())


# --- namespaces and processes -------------------------------------------------------

def test_namespaces_differ_from_host(nook):
    inside = probe(nook, "ns")
    for ns in ("mnt", "pid", "uts", "ipc", "net", "cgroup"):
        host = os.stat(f"/proc/self/ns/{ns}").st_ino
        assert ns in inside, f"no {ns} namespace link inside: {inside}"
        assert inside[ns] != host, f"{ns} namespace is the host's ({host})"


def test_command_is_pid2_under_nook_init(nook):
    facts = probe(nook, "pid")
    assert facts["pid"] == 2
    assert facts["ppid"] == 1
    assert facts["ppid_comm"] == "nook-init"


def test_orphans_are_reaped_by_init(nook):
    # The subshell exits at once, so its background sleep is re-parented to PID 1 (the
    # command, PID 2, is no subreaper); when the sleep ends only init can reap it.
    out = sh(nook, """
        (sleep 0.3 & echo $! > /tmp/orphan)
        pid=$(cat /tmp/orphan)
        echo "ppid=$(cut -d' ' -f4 /proc/$pid/stat)"
        i=0
        while [ -e /proc/$pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
        [ -e /proc/$pid ] && echo "left=$(cut -d' ' -f3 /proc/$pid/stat)" || echo left=none
        /probe/probe zombies
    """)
    lines = out.splitlines()
    assert "ppid=1" in lines, out
    assert "left=none" in lines, f"the orphan was never reaped:\n{out}"
    assert json.loads(lines[-1]) == {"zombies": []}


def test_stop_ends_a_shell_command_quickly(nook):
    p = nook("run", "-d", "--name", "stopme", "busybox", "--", "sh", "-c",
             "while true; do sleep 1; done")
    assert p.returncode == 0, p.stderr
    assert nook.state("stopme")["status"] == "running"
    t0 = time.monotonic()
    p = nook("stop", "stopme", timeout=30)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    st = nook.state("stopme")
    assert st["status"] == "stopped"
    # SIGTERM reached the shell through init: it died of it, not of the SIGKILL at 10 s.
    assert took < 3, f"stop took {took:.1f}s: SIGTERM did not end the command"
    assert st["exit_code"] == 128 + 15, st


def test_net_namespace_has_only_lo_and_it_is_up(nook):
    assert probe(nook, "ifaces", opts=("--net", "none")) == {"lo": {"up": True, "loopback": True}}


def test_default_network_adds_only_eth0(nook):
    ifaces = probe(nook, "ifaces")
    assert set(ifaces) == {"lo", "eth0"}
    assert ifaces["lo"]["up"] and ifaces["eth0"]["up"] and not ifaces["eth0"]["loopback"]


def test_hostname_is_instance_name_or_given(nook):
    p = run_in(nook, "cat", "/proc/sys/kernel/hostname", opts=("--name", "hn-test-1"))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hn-test-1\n"
    p = run_in(nook, "cat", "/proc/sys/kernel/hostname", opts=("--hostname", "elsewhere"))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "elsewhere\n"
    assert os.uname().nodename not in ("hn-test-1", "elsewhere")


# --- filesystem ---------------------------------------------------------------------

EXPECTED_POINTS = {"/", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"}
# nook's own per-instance files, bound one by one from the instance directory (as Docker does).
ETC_FILES = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}


def test_root_is_overlay_and_host_mounts_are_gone(nook, tmp_path):
    # A mount that exists only on the host, with a source name nobody else uses.
    marker_dir = tmp_path / "host-only"
    marker_dir.mkdir()
    source = f"nook-host-only-{os.getpid()}"
    subprocess.run(["mount", "-t", "tmpfs", source, str(marker_dir)], check=True)
    try:
        p = nook("run", "--rm", "busybox", "--", "cat", "/proc/self/mountinfo")
    finally:
        subprocess.run(["umount", str(marker_dir)], check=True)
    assert p.returncode == 0, p.stderr
    inside = mountinfo(p.stdout)
    by_point = {m["point"]: m for m in inside}
    assert by_point["/"]["fstype"] == "overlay"
    assert f"lowerdir={nook.root}/images/busybox/rootfs" in by_point["/"]["super"]
    assert source not in p.stdout and str(marker_dir) not in p.stdout
    host_root_dev = next(m["dev"] for m in host_mountinfo() if m["point"] == "/")
    # Only single files of the instance's own directory come from the host's root file system.
    for m in inside:
        if m["dev"] == host_root_dev:
            assert m["point"] in ETC_FILES, \
                f"a mount of the host's root filesystem ({host_root_dev}) is still reachable:\n{p.stdout}"
            assert m["root"].startswith(f"{nook.root}/instances/") or "/instances/" in m["root"], m
    unexpected = set(by_point) - EXPECTED_POINTS - ETC_FILES - set(MASKED) - set(READONLY)
    assert not unexpected, f"mounts that should not be there (old root? host mounts?): {unexpected}"
    host_only = {m["point"] for m in host_mountinfo()} - EXPECTED_POINTS
    assert host_only & set(by_point) == set()


def test_proc_is_fresh(nook):
    out = sh(nook, "ls /proc; echo ---; cat /proc/1/comm")
    listing, comm1 = out.split("---\n")
    pids = sorted(int(x) for x in listing.split() if x.isdigit())
    # init, the shell, ls: nothing of the host's hundreds of processes.
    assert pids[:2] == [1, 2] and len(pids) <= 4, pids
    assert os.getpid() not in pids or os.getpid() <= 4
    assert comm1 == "nook-init\n"


def test_sys_is_read_only(nook):
    assert probe(nook, "write", "/sys/class/net/lo/mtu") == {"write": "EROFS"}
    out = sh(nook, "grep ' /sys ' /proc/self/mountinfo")
    assert mountinfo(out)[0]["fstype"] == "sysfs" and "ro" in mountinfo(out)[0]["opts"]


def dev_listing(nook, opts=()):
    out = sh(nook, "cd /dev && for f in $(ls -A); do stat -c '%n|%F|%t:%T' \"$f\"; done",
             opts=opts)
    entries = {}
    for line in out.splitlines():
        name, kind, rdev = line.split("|")
        entries[name] = (kind, rdev) if kind == "character special file" else (kind,)
    return entries


BASE_DEV = {
    "null": ("character special file", "1:3"), "zero": ("character special file", "1:5"),
    "full": ("character special file", "1:7"), "random": ("character special file", "1:8"),
    "urandom": ("character special file", "1:9"), "tty": ("character special file", "5:0"),
    "ptmx": ("symbolic link",), "pts": ("directory",), "shm": ("directory",),
    "mqueue": ("directory",), "fd": ("symbolic link",), "stdin": ("symbolic link",),
    "stdout": ("symbolic link",), "stderr": ("symbolic link",),
}


def test_dev_holds_exactly_the_expected_nodes(nook):
    assert dev_listing(nook) == BASE_DEV
    with_tty = dev_listing(nook, opts=("-t",))
    console = with_tty.pop("console", None)
    assert with_tty == BASE_DEV
    assert console and console[0] == "character special file", "no /dev/console with -t"


def test_devpts_is_a_new_instance(nook):
    # Hold a pty open on the host so the host's devpts has at least one entry.
    master, slave = os.openpty()
    try:
        host_pts = set(os.listdir("/dev/pts"))
        out = sh(nook, "ls -A /dev/pts; echo ---; grep ' /dev/pts ' /proc/self/mountinfo; "
                       "readlink /dev/ptmx")
    finally:
        os.close(master)
        os.close(slave)
    listing, rest = out.split("---\n")
    mi_line, ptmx = rest.splitlines()
    assert len(host_pts - {"ptmx"}) >= 1
    assert listing.split() == ["ptmx"], f"host ptys visible inside: {listing.split()}"
    m = mountinfo(mi_line)[0]
    assert m["fstype"] == "devpts"
    assert m["dev"] not in {h["dev"] for h in host_mountinfo() if h["fstype"] == "devpts"}
    assert ptmx == "pts/ptmx"


def test_dev_shm_and_mqueue_are_usable(nook):
    out = sh(nook, "/probe/probe write /dev/shm/x; grep -E ' /dev/(shm|mqueue) ' /proc/self/mountinfo")
    first, *mounts = out.splitlines()
    assert json.loads(first) == {"write": "ok"}
    kinds = {m["point"]: m["fstype"] for m in mountinfo("\n".join(mounts))}
    assert kinds == {"/dev/shm": "tmpfs", "/dev/mqueue": "mqueue"}


def test_masked_paths_show_nothing(nook):
    present = [p for p in MASKED if os.path.exists(p)]
    if not present:
        skip_or_fail("none of Docker's masked paths exist on this host")
    # Each one must have something to hide on the host for the test to mean anything.
    script = []
    for path in present:
        if os.path.isdir(path):
            script.append(f"echo {path}=$(ls -A {path} 2>&1 | wc -l)")
        else:
            script.append(f"echo {path}=$(/probe/probe read {path})")
    out = sh(nook, "\n".join(script))
    got = dict(line.split("=", 1) for line in out.splitlines())
    for path in present:
        if os.path.isdir(path):
            assert got[path] == "0", f"{path} lists {got[path]} entries inside"
        else:
            r = json.loads(got[path])
            assert r["read"] != "ok" or r["size"] == 0, f"{path} is readable inside: {r}"


def test_readonly_paths_cannot_be_written(nook):
    present = [p for p in READONLY if os.path.exists(p)]
    out = sh(nook, "/probe/probe write /proc/sys/kernel/hostname; "
                   "echo 1 > /proc/sys/kernel/domainname && echo wrote || echo refused; "
                   "cat /proc/self/mountinfo")
    first, second, *mi = out.splitlines()
    # Without the read-only bind, root in its own UTS namespace could write this file.
    assert json.loads(first) == {"write": "EROFS"}
    assert second == "refused"
    points = {m["point"]: m for m in mountinfo("\n".join(mi))}
    for path in present:
        assert path in points, f"{path} is not a separate (read-only) mount"
        assert "ro" in points[path]["opts"], f"{path} is mounted {points[path]['opts']}"


def test_capabilities_are_dockers_default_set(nook):
    caps = probe(nook, "caps")
    for key in ("CapPrm", "CapEff", "CapBnd"):
        assert int(caps[key], 16) == DOCKER_CAPS, f"{key}={caps[key]} want {DOCKER_CAPS:016x}"
    assert int(caps["CapInh"], 16) == 0
    assert int(caps["CapAmb"], 16) == 0
    assert caps["NoNewPrivs"] == "1" and caps["prctl_no_new_privs"] == 1
    assert not DOCKER_CAPS & (1 << CAP_SYS_ADMIN)
    # And the kernel agrees: no CAP_SYS_ADMIN, so no mount.
    assert probe(nook, "mount") == {"mount": "EPERM"}


def test_no_nook_fd_leaks_into_the_container(nook, tmp_path):
    f = open(tmp_path / "held-open", "w")
    r, w = os.pipe()
    try:
        extra = (f.fileno(), r, w)
        p = run_in(nook, "/probe/probe", "fds", pass_fds=extra)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == {"fds": {}}
        # Detached: the monitor outlives this nook and must not hand them on either.
        p = nook("run", "-d", "--name", "fdleak", "-v", PROBE_VOL, "busybox", "--",
                 "sh", "-c", "sleep 30", pass_fds=extra)
        assert p.returncode == 0, p.stderr
        p = nook("exec", "fdleak", "/probe/probe", "fds", pass_fds=extra)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == {"fds": {}}
        p = nook("exec", "fdleak", "sh", "-c", "ls -l /proc/1/fd /proc/2/fd | grep -- '->'")
        # Init and the command: their stdio is nook's, but none of what this test held.
        ours = {str(tmp_path / "held-open"), f"pipe:[{os.fstat(r).st_ino}]"}
        assert p.returncode == 0, p.stderr
        assert ours.isdisjoint(re.findall(r"-> (.*)", p.stdout)), p.stdout
    finally:
        f.close()
        os.close(r)
        os.close(w)


def test_command_cannot_take_inits_descriptors(nook):
    # nook-init keeps its socket to the monitor. If the command may ptrace init (init
    # dropped every capability and is dumpable), pidfd_getfd hands that socket over and
    # the command can talk to the monitor as init, e.g. report a forged exit status.
    facts = probe(nook, "getfd", "1")
    assert facts["fds"] == {}, f"the command took init's descriptors: {facts}"
    assert facts["pidfd_getfd"] == "EPERM", facts


def test_tty_keeps_tiocsti_away_from_the_invoking_terminal(nook, tmp_path):
    try:
        import pexpect
    except ImportError:
        skip_or_fail("python3-pexpect is not installed")
    control, marker = tmp_path / "control", tmp_path / "injected"
    env = dict(nook.env, PS1="outer$ ", CONTROL=f"touch {control}\n", INJECT=f"touch {marker}\n")
    outer = pexpect.spawn("/bin/sh", ["-i"], env=env, encoding="utf-8", timeout=30)
    try:
        outer.expect_exact("outer$ ")
        # Control: the same probe run straight on this terminal does inject, and the
        # outer shell runs what it injected. Without this the test could prove nothing.
        outer.sendline(f"{shlex.quote(PROBE)} tiocsti \"$CONTROL\"")
        outer.expect(r'"dev_tty":"[A-Za-z]+"\}')
        outer.sendline("echo SY''NC1")
        outer.expect_exact("SYNC1")
        if not control.exists():
            skip_or_fail("TIOCSTI does not inject even on the host terminal; nothing to show")
        # Now inside `nook run -t`: the command's terminal is its own PTY, so whatever it
        # pushes lands in that PTY's input queue, never in the outer terminal's.
        outer.sendline(f"{shlex.quote(NOOK)} run -t --rm -v {PROBE_VOL} "
                       "busybox -- /probe/probe tiocsti \"$INJECT\"; echo RC=$?")
        outer.expect(r'\{"ttyname0":"([^"]*)","stdin":"([A-Za-z]+)","dev_tty":"([A-Za-z]+)"\}')
        inner_tty, via_stdin, via_dev_tty = outer.match.groups()
        outer.expect(r"RC=(\d+)")
        assert outer.match.group(1) == "0"
        outer.sendline("echo SY''NC2")
        outer.expect_exact("SYNC2")
        outer.sendline("exit")
        outer.expect(pexpect.EOF)
    finally:
        outer.close(force=True)
    assert inner_tty in ("/dev/console", "/dev/pts/0"), inner_tty
    assert not marker.exists(), (
        f"characters pushed inside the container (stdin: {via_stdin}, /dev/tty: {via_dev_tty}) "
        "were executed by the shell on the invoking terminal")


# --- volumes and the image ----------------------------------------------------------

def test_ro_volume_refuses_writes_and_rw_volume_reaches_host(nook, tmp_path):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    out = sh(nook, "/probe/probe write /ro/f; /probe/probe write /rw/f",
             opts=("-v", f"{ro}:/ro:ro", "-v", f"{rw}:/rw"))
    first, second = out.splitlines()
    assert json.loads(first) == {"write": "EROFS"}
    assert json.loads(second) == {"write": "ok"}
    assert not (ro / "f").exists()
    assert (rw / "f").read_text() == "probe\n"


def tree_digest(top):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            h.update(f"{os.path.relpath(path, top)} {st.st_mode:o} {st.st_size}\n".encode())
            if os.path.islink(path):
                h.update(os.readlink(path).encode())
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def test_writes_to_the_container_root_do_not_reach_the_image(nook):
    rootfs = os.path.join(nook.root, "images", "busybox", "rootfs")
    before = tree_digest(rootfs)
    sh(nook, "echo evil >> /etc/passwd && rm /bin/ls && mkdir /newdir && touch /newfile "
             "&& chmod 700 /etc && test ! -e /bin/ls")
    assert tree_digest(rootfs) == before
    # And the next container starts from the pristine image.
    out = sh(nook, "grep -c evil /etc/passwd; test -e /bin/ls && echo ls-ok; test -e /newfile || echo no-newfile")
    assert out.splitlines() == ["0", "ls-ok", "no-newfile"]
