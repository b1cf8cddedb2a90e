"""Sandbox profiles and seccomp, checked from inside with the static syscalls probe
(tests/probe/syscalls.c): it tries each dangerous call in a forked child with harmless
arguments and reports "ok", an errno name or "killed(SIGSYS)" per call, so the tests
assert on what the kernel answered rather than on nook's own account of what it set up."""
import json
import os
import platform
import re
import select
import subprocess
import time

import pytest

from conftest import PROBES, skip_or_fail

SYSCALLS = os.path.join(PROBES, "syscalls")
PROBE = os.path.join(PROBES, "probe")
PROBE_VOL = f"{PROBES}:/probe:ro"

SHIPPED = ["default", "devbox", "learn", "strict", "teach", "unconfined"]
CAP_CHOWN, CAP_SYS_ADMIN = 0, 21
# Docker's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DOCKER_CAPS = sum(1 << b for b in (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31))

# What Docker's default seccomp profile with Docker's default capabilities answers, call by
# call (the probe's names). Refused calls get EPERM, from the filter or, where the filter
# lets the call through, from the missing capability.
DOCKER_DEFAULT = {
    "mount": "EPERM",
    "umount2": "EPERM",
    "unshare": "EPERM",                 # CLONE_NEWUSER: no capability needed, the filter refuses it
    "setns": "EPERM",
    "keyctl": "EPERM",
    "add_key": "EPERM",
    # The filter allows ptrace (Linux >= 4.8); pid 1 is nook-init, which the kernel protects
    # (not dumpable, and the caller lacks CAP_SYS_PTRACE).
    "ptrace": "EPERM",
    "ptrace:child": "ok",
    "kexec_load": "EPERM",
    "init_module": "EPERM",
    "finit_module": "EPERM",
    "delete_module": "EPERM",
    "reboot": "EPERM",
    "open_by_handle_at": "EPERM",
    "bpf": "EPERM",
    "perf_event_open": "EPERM",
    "userfaultfd": "EPERM",
    "personality": "ok",                # 0xffffffff: the query
    "personality:PER_LINUX32": "ok",
    "personality:ADDR_NO_RANDOMIZE": "EPERM",
    "personality:PER_BSD": "EPERM",
    "clock_settime": "EPERM",
    "settimeofday": "EPERM",
    "swapon": "EPERM",
    "pivot_root": "EPERM",
    "chroot": "ok",                     # CAP_SYS_CHROOT is in Docker's set
    "acct": "EPERM",
    "quotactl": "EPERM",
    "clone3": "ENOSYS",                 # so that libc falls back to clone, whose flags are visible
    "setuid": "ok",                     # to the uid it has
    "prctl": "ok",                      # PR_GET_DUMPABLE
    "socket:inet": "ok",
    "socket:vsock": "EPERM",            # AF_VSOCK reaches the host
    "chown": "ok",
    "write:/": "ok",
}
# Everything the probe tries but chown and a write to /: strict refuses all of it.
DANGEROUS = [k for k in DOCKER_DEFAULT if k not in ("chown", "write:/")]
I386 = ["mount", "umount2", "unshare", "setns", "keyctl", "add_key", "ptrace", "kexec_load",
        "init_module", "finit_module", "delete_module", "reboot", "open_by_handle_at", "bpf",
        "perf_event_open", "userfaultfd", "personality", "clock_settime", "settimeofday", "swapon",
        "pivot_root", "chroot", "acct", "quotactl", "clone3"]

# Denying a call with errnoRet 38 (ENOSYS) and allowing everything else.
NO_GETCWD = {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}


@pytest.fixture(autouse=True)
def _probes_built():
    for p in (SYSCALLS, PROBE):
        if not os.access(p, os.X_OK):
            pytest.fail(f"{p} is missing: run `make probes` first")


def run_in(nook, *cmd, opts=(), name=None, **kw):
    """Run CMD in a container with the probes at /probe: throwaway unless named."""
    keep = ("--name", name) if name else ("--rm",)
    return nook("run", *keep, "-v", PROBE_VOL, *opts, "busybox", "--", *cmd, **kw)


def syscalls(nook, *names, opts=(), name=None):
    p = run_in(nook, "/probe/syscalls", *names, opts=opts, name=name)
    assert p.returncode == 0, f"syscalls probe exited {p.returncode}: {p.stderr}"
    return json.loads(p.stdout)


def sh(nook, script, opts=(), **kw):
    p = run_in(nook, "sh", "-c", script, opts=opts, **kw)
    assert p.returncode == 0, f"script exited {p.returncode}: {p.stdout}{p.stderr}"
    return p.stdout


def status_field(text, key):
    m = re.search(rf"^{key}:\s*(\S+)", text, re.M)
    assert m, f"no {key} in {text!r}"
    return m.group(1)


def events(nook, name, *opts):
    p = nook("events", *opts, name)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def differences(got, want):
    return {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}


def i386_available(facts):
    """The kernel runs int $0x80 calls at all (facts from a run without a filter)."""
    if platform.machine() != "x86_64":
        return False
    return facts.get("i386:getpid") == "ok"


# --- the shipped profiles -----------------------------------------------------------

def test_profile_ls_lists_the_shipped_profiles(nook):
    p = nook("profile", "ls", check=True)
    names = [line.split()[0] for line in p.stdout.splitlines()[1:] if line.strip()]
    assert names == SHIPPED, p.stdout
    for line in p.stdout.splitlines()[1:]:
        assert "cannot load" not in line, line


def test_profile_show_strict_has_no_capabilities(nook):
    p = nook("profile", "show", "strict", check=True)
    assert re.search(r"^capabilities:\s+none\s*$", p.stdout, re.M), p.stdout
    assert re.search(r"^seccomp:\s+strict\.json\s*$", p.stdout, re.M), p.stdout
    assert re.search(r"^read-only root:\s+yes\s*$", p.stdout, re.M), p.stdout
    assert re.search(r"^network:\s+none\s*$", p.stdout, re.M), p.stdout
    d = nook("profile", "show", "default", check=True).stdout
    for cap in ("CAP_CHOWN", "CAP_SYS_CHROOT", "CAP_NET_RAW", "CAP_SETFCAP"):
        assert cap in d
    assert "CAP_SYS_ADMIN" not in d and "CAP_SYS_PTRACE" not in d


def test_default_refuses_what_docker_refuses(nook):
    got = syscalls(nook)
    assert differences(got, DOCKER_DEFAULT) == {}, got
    caps = sh(nook, "grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status")
    assert int(status_field(caps, "CapEff"), 16) == DOCKER_CAPS
    assert status_field(caps, "Seccomp") == "2"
    assert status_field(caps, "NoNewPrivs") == "1"


def test_default_refuses_the_i386_abi(nook):
    """A foreign ABI is refused as by a kernel without it: ENOSYS, since the default
    profile's default action answers (it does not kill); see core/seccomp.h."""
    wanted = ["i386:getpid"] + [f"i386:{c}" for c in I386]
    ref = syscalls(nook, *wanted, opts=("--profile", "unconfined"))
    if not i386_available(ref):
        skip_or_fail(f"this kernel does not run i386 calls (int $0x80 -> {ref.get('i386:getpid')})")
    # Without a filter they reach the kernel (which answers for itself) ...
    assert ref["i386:keyctl"] == "EOPNOTSUPP" and ref["i386:chroot"] == "EFAULT", ref
    # ... with the default profile none of them does, not even getpid.
    for profile in ("default", "strict"):
        got = syscalls(nook, *wanted, opts=("--profile", profile))
        assert {k: v for k, v in got.items() if v != "ENOSYS"} == {}, (profile, got)


def test_i386_abi_is_killed_when_the_profile_kills(nook, tmp_path):
    """A profile whose default action kills kills foreign-ABI calls too (SIGSYS)."""
    needed = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
              "prlimit64", "mmap", "munmap", "mprotect", "mremap", "madvise", "readlink",
              "readlinkat", "getrandom", "uname", "newfstatat", "fstat", "write", "writev",
              "clone", "fork", "vfork", "wait4", "alarm", "exit", "exit_group", "rt_sigaction",
              "rt_sigprocmask", "rt_sigreturn", "getpid", "gettid", "ioctl", "read", "close",
              "openat", "fcntl", "lseek", "futex", "sigaltstack"]
    prof = tmp_path / "kill.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_KILL_PROCESS",
                                "syscalls": [{"names": needed, "action": "SCMP_ACT_ALLOW"}]}))
    got = syscalls(nook, "mount", "i386:getpid", "i386:mount", opts=("--seccomp", str(prof)))
    assert got["mount"] == "killed(SIGSYS)", got
    if platform.machine() == "x86_64":
        assert got["i386:getpid"] == "killed(SIGSYS)", got
        assert got["i386:mount"] == "killed(SIGSYS)", got


def test_strict_refuses_everything_listed(nook):
    got = syscalls(nook, opts=("--profile", "strict"))
    for call in DANGEROUS:
        assert got[call] in ("EPERM", "ENOSYS"), (call, got[call], got)
    assert got["clone3"] == "ENOSYS"
    assert got["chown"] in ("EPERM", "EROFS"), got     # no CAP_CHOWN (and / is read-only)
    assert got["write:/"] == "EROFS", got
    out = sh(nook, "grep -E '^(CapEff|Seccomp):' /proc/self/status; ls /sys/class/net; "
                   "/probe/probe write /x; /probe/probe write /tmp/x",
             opts=("--profile", "strict"))
    assert int(status_field(out, "CapEff"), 16) == 0
    assert status_field(out, "Seccomp") == "2"
    ifaces = [l for l in out.splitlines() if re.fullmatch(r"[a-z0-9@.-]+", l)]
    assert ifaces == ["lo"], out
    assert '{"write":"EROFS"}' in out, out
    assert '{"write":"ok"}' in out, out                 # its tmpfs /tmp stays writable


def test_unconfined_has_no_filter_but_keeps_capabilities(nook):
    got = syscalls(nook, *DANGEROUS, name="open", opts=("--profile", "unconfined"))
    # Calls that only the filter stopped now reach the kernel ...
    assert got["unshare"] == "ok", got
    assert got["keyctl"] == "EOPNOTSUPP", got
    assert got["add_key"] == "EINVAL", got
    assert got["personality:ADDR_NO_RANDOMIZE"] == "ok", got
    assert got["clone3"] == "EFAULT", got
    assert got["socket:vsock"] in ("ok", "EAFNOSUPPORT"), got
    # ... while those that need a capability Docker does not give are still refused by it.
    for call in ("mount", "umount2", "setns", "reboot", "clock_settime", "settimeofday", "swapon",
                 "pivot_root", "acct"):
        assert got[call] == "EPERM", (call, got)
    out = sh(nook, "grep -E '^(Seccomp|CapEff|NoNewPrivs):' /proc/self/status",
             opts=("--profile", "unconfined"))
    assert status_field(out, "Seccomp") == "0"
    assert int(status_field(out, "CapEff"), 16) == DOCKER_CAPS
    assert status_field(out, "NoNewPrivs") == "1"
    ann = nook.inspect("open")["Config"]["annotations"]
    assert ann.get("org.nook.profile") == "unconfined", ann
    assert not any(k.startswith("org.nook.seccomp") for k in ann), ann
    # The default profile, for contrast, names its filter.
    syscalls(nook, "chroot", name="closed")
    ann = nook.inspect("closed")["Config"]["annotations"]
    assert ann.get("org.nook.profile") == "default", ann
    assert ann.get("org.nook.seccomp"), ann


def test_seccomp_unconfined_flag(nook):
    out = sh(nook, "grep -E '^Seccomp:' /proc/self/status", opts=("--seccomp", "unconfined"))
    assert status_field(out, "Seccomp") == "0"


# --- teach: denied calls reported ---------------------------------------------------

TEACH_DENIED = {  # probe name -> (syscall name in the event, x86_64 number)
    "mount": ("mount", 165), "unshare": ("unshare", 272), "keyctl": ("keyctl", 250),
    "add_key": ("add_key", 248), "bpf": ("bpf", 321), "reboot": ("reboot", 169),
    "personality:ADDR_NO_RANDOMIZE": ("personality", 135),
}


def test_teach_reports_denied_calls(nook):
    got = syscalls(nook, *TEACH_DENIED, "chroot", "clone3", "i386:mount", name="learner",
                   opts=("--profile", "teach"))
    for call in TEACH_DENIED:
        assert got[call] == "EPERM", (call, got)
    assert got["chroot"] == "ok" and got["clone3"] == "ENOSYS", got
    evs = events(nook, "learner")
    sc = [e for e in evs if e.get("kind") == "seccomp"]
    assert sorted(e["syscall"] for e in sc) == sorted(v[0] for v in TEACH_DENIED.values()), evs
    by_name = {e["syscall"]: e for e in sc}
    for name, nr in TEACH_DENIED.values():
        e = by_name[name]
        assert e["answer"] == "EPERM", e
        if platform.machine() == "x86_64":
            assert e["nr"] == nr, e
        assert isinstance(e["pid"], int) and e["pid"] > 0, e
        assert len(e["args"]) == 6 and all(re.fullmatch(r"0x[0-9a-f]+", a) for a in e["args"]), e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"]), e
    assert by_name["unshare"]["args"][0] == "0x10000000", by_name["unshare"]   # CLONE_NEWUSER
    assert by_name["keyctl"]["args"][0] == "0x270f", by_name["keyctl"]          # 9999
    assert by_name["reboot"]["args"][:2] == ["0xfee1dead", "0xbadf00d"], by_name["reboot"]
    assert by_name["personality"]["args"][0] == "0x40000", by_name["personality"]
    assert evs[-1]["kind"] == "exit", evs
    assert events(nook, "learner", "-n", "1") == [evs[-1]]
    ann = nook.inspect("learner")["Config"]["annotations"]
    assert ann.get("org.nook.profile") == "teach" and ann.get("org.nook.seccomp.notify") == "true", ann


def test_events_follow_live_and_end_with_the_instance(nook):
    script = "sleep 1; /probe/syscalls mount; sleep 1; /probe/syscalls keyctl; sleep 1"
    p = nook("run", "-d", "--name", "live", "-v", PROBE_VOL, "--profile", "teach", "busybox", "--",
             "sh", "-c", script)
    assert p.returncode == 0, p.stderr
    f = nook.popen("events", "-f", "live", stdout=subprocess.PIPE, text=True)
    seen, buf, deadline = [], "", time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([f.stdout], [], [], 0.5)
            if not r:
                continue
            chunk = os.read(f.stdout.fileno(), 65536).decode()
            if not chunk:
                break
            buf += chunk
            while "\n" in buf:
                line, buf = buf.split("\n", 1)
                ev = json.loads(line)
                seen.append(ev)
                if ev.get("syscall") == "mount":
                    # Printed while the instance still runs: followed, not read afterwards.
                    assert nook.state("live")["status"] == "running", seen
        rc = f.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if f.poll() is None:
            f.kill()
            f.wait()
    assert rc == 0
    kinds = [(e["kind"], e.get("syscall")) for e in seen]
    assert kinds == [("seccomp", "mount"), ("seccomp", "keyctl"), ("exit", None)], seen


# --- flags over profiles ------------------------------------------------------------

def test_cap_add_sys_admin_unconfined_lets_mount_work(nook):
    opts = ("--profile", "unconfined", "--cap-add", "SYS_ADMIN")
    out = sh(nook, "/probe/probe mount /mnt; /probe/syscalls mount umount2 setns", opts=opts)
    first, second = out.splitlines()[:2]
    assert json.loads(first) == {"mount": "ok"}, out
    # The bogus file system type gets as far as the kernel's lookup, past the capability.
    assert json.loads(second) == {"mount": "ENODEV", "umount2": "EINVAL", "setns": "ok"}, out


def test_cap_add_sys_admin_opens_the_default_filter(nook):
    """The default profile's rules follow the capabilities: with SYS_ADMIN, mount and clone3 pass."""
    got = syscalls(nook, "mount", "clone3", "keyctl", opts=("--cap-add", "SYS_ADMIN"))
    assert got == {"mount": "ENODEV", "clone3": "EFAULT", "keyctl": "EPERM"}, got
    out = sh(nook, "grep CapEff /proc/self/status", opts=("--cap-add", "CAP_SYS_ADMIN"))
    assert int(status_field(out, "CapEff"), 16) == DOCKER_CAPS | 1 << CAP_SYS_ADMIN


def test_cap_drop_chown(nook):
    got = syscalls(nook, "chown", opts=("--cap-drop", "CHOWN"))
    assert got == {"chown": "EPERM"}, got
    p = run_in(nook, "sh", "-c", "touch /f && chown 12:12 /f", opts=("--cap-drop", "CHOWN"))
    assert p.returncode != 0 and "Operation not permitted" in p.stderr, (p.stdout, p.stderr)
    out = sh(nook, "grep CapEff /proc/self/status", opts=("--cap-drop", "CHOWN"))
    assert int(status_field(out, "CapEff"), 16) == DOCKER_CAPS & ~(1 << CAP_CHOWN)


def test_read_only_flag(nook):
    got = syscalls(nook, "write:/", "chroot", opts=("--read-only",))
    assert got == {"write:/": "EROFS", "chroot": "ok"}, got
    p = run_in(nook, "touch", "/f", opts=("--read-only",))
    assert p.returncode != 0 and "Read-only file system" in p.stderr, p.stderr


def test_custom_seccomp_file_changes_behaviour(nook, tmp_path):
    f = tmp_path / "nogetcwd.json"
    f.write_text(json.dumps(NO_GETCWD))
    p = run_in(nook, "pwd", opts=("--seccomp", str(f)))
    assert p.returncode != 0 and "Function not implemented" in p.stderr, (p.returncode, p.stdout, p.stderr)
    p = run_in(nook, "pwd")
    assert p.returncode == 0 and p.stdout.strip() == "/", p.stderr
    # Compiled filters are cached by content: the same path with another answer must not
    # reuse the old program (errnoRet 13: EACCES).
    f.write_text(json.dumps(NO_GETCWD).replace('"errnoRet": 38', '"errnoRet": 13'))
    p = run_in(nook, "pwd", opts=("--seccomp", str(f)))
    assert p.returncode != 0 and "Permission denied" in p.stderr, (p.returncode, p.stdout, p.stderr)
    # The flag overrides the profile's filter, including unconfined's lack of one.
    p = run_in(nook, "pwd", opts=("--profile", "unconfined", "--seccomp", str(f)))
    assert p.returncode != 0 and "Permission denied" in p.stderr, (p.returncode, p.stdout, p.stderr)


def test_exec_is_confined_like_the_command(nook):
    """A process started by `nook exec` gets the instance's filter, as with `docker exec`."""
    for profile in ("default", "strict"):
        name = f"ex-{profile}"
        p = nook("run", "-d", "--name", name, "-v", PROBE_VOL, "--profile", profile, "busybox", "--",
                 "sleep", "30")
        assert p.returncode == 0, p.stderr
        st = nook("exec", name, "grep", "^Seccomp:", "/proc/self/status")
        assert st.returncode == 0, st.stderr
        p = nook("exec", name, "/probe/syscalls", "keyctl", "unshare", "clone3")
        assert p.returncode == 0, p.stderr
        got = json.loads(p.stdout)
        mode = status_field(st.stdout, "Seccomp")
        assert (mode, got) == ("2", {"keyctl": "EPERM", "unshare": "EPERM", "clone3": "ENOSYS"}), \
            f"--profile {profile}: `nook exec` runs without the instance's filter: Seccomp {mode}, {got}"
        nook("rm", "-f", name)


# --- malformed input: exit 125, the file and the place named, nothing created ---------

BAD_JSON = {
    "truncated": ('{\n "defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [\n  {"names": ["getcwd"],\n',
                  r"truncated\.json: 5:\d+: .*(end of file|truncated)"),
    "names-type": ('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [{"names": "getcwd", '
                   '"action": "SCMP_ACT_ERRNO"}]}\n', r"names-type\.json: syscalls\[0\]\.names: .*array"),
    "errno-type": ('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [{"names": ["getcwd"], '
                   '"action": "SCMP_ACT_ERRNO", "errnoRet": "38"}]}\n',
                   r"errno-type\.json: syscalls\[0\]\.errnoRet: .*integer"),
    "unknown-call": ('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [{"names": ["getcwd", '
                     '"nook_no_such_call"], "action": "SCMP_ACT_ERRNO"}]}\n',
                     r"unknown-call\.json: syscalls\[0\]\.names\[1\]: .*nook_no_such_call"),
    "unknown-action": ('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [{"names": ["getcwd"], '
                       '"action": "SCMP_ACT_EXPLODE"}]}\n',
                       r"unknown-action\.json: syscalls\[0\]\.action: .*SCMP_ACT_EXPLODE"),
    "unknown-default": ('{"defaultAction": "SCMP_ACT_NOPE"}\n',
                        r"unknown-default\.json: defaultAction: .*SCMP_ACT_NOPE"),
    "unknown-key": ('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscals": []}\n',
                    r"unknown-key\.json: .*syscals"),
    "not-an-object": ('[1, 2]\n', r"not-an-object\.json: .*object"),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_malformed_seccomp_json(nook, tmp_path, case):
    text, pattern = BAD_JSON[case]
    f = tmp_path / f"{case}.json"
    f.write_text(text)
    p = nook("run", "--name", "never", "--seccomp", str(f), "busybox", "--", "true")
    assert p.returncode == 125, (p.returncode, p.stderr)
    assert re.search(pattern, p.stderr), p.stderr
    assert nook.instances() == [], nook.instances()
    # The name is still free.
    assert nook("run", "--rm", "--name", "never", "busybox", "--", "true").returncode == 0


BAD_PROFILES = {
    "badcap": ("description = x\ninherit = default\ncapabilities = CHOWN NOPE_CAP\n",
               r"badcap\.profile:3: capabilities: .*NOPE_CAP"),
    "badcapadd": ("description = x\ninherit = default\n\ncap-add = SYS_NOPE\n",
                  r"badcapadd\.profile:4: cap-add: .*SYS_NOPE"),
    "badkey": ("# a comment\ndescription = x\ninherit = default\nfrobnicate = yes\n",
               r"badkey\.profile:4: .*frobnicate"),
    "badbool": ("description = x\nreadonly-root = maybe\n", r"badbool\.profile:2: readonly-root: .*maybe"),
    "twice": ("description = x\nnetwork = none\nnetwork = bridge\n", r"twice\.profile:3: .*network"),
    "badjson": ("description = x\nseccomp = broken.json\n",
                r"broken\.json: 4:\d+: .*(end of file|truncated)"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_malformed_user_profile(nook, case):
    d = os.path.join(nook.root, "profiles")
    os.makedirs(os.path.join(d, "seccomp"), exist_ok=True)
    text, pattern = BAD_PROFILES[case]
    with open(os.path.join(d, f"{case}.profile"), "w") as f:
        f.write(text)
    with open(os.path.join(d, "seccomp", "broken.json"), "w") as f:
        f.write('{\n "defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [\n')
    p = nook("run", "--name", "never", "--profile", case, "busybox", "--", "true")
    assert p.returncode == 125, (p.returncode, p.stderr)
    assert re.search(pattern, p.stderr), p.stderr
    assert nook.instances() == [], nook.instances()


def test_unknown_capability_flag_and_profile(nook):
    p = nook("run", "--name", "never", "--cap-add", "NOPE", "busybox", "--", "true")
    assert p.returncode == 125 and "NOPE" in p.stderr, p.stderr
    p = nook("run", "--name", "never", "--profile", "no-such-profile", "busybox", "--", "true")
    assert p.returncode == 125 and "no-such-profile" in p.stderr, p.stderr
    assert nook.instances() == []


def test_user_profile_takes_precedence(nook):
    d = os.path.join(nook.root, "profiles")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "strict.profile"), "w") as f:
        f.write("description = mine: strict with a writable root\ninherit = strict\nreadonly-root = no\n")
    ls = nook("profile", "ls", check=True).stdout
    assert re.search(r"^strict\s+mine: strict", ls, re.M), ls
    show = nook("profile", "show", "strict", check=True).stdout
    assert os.path.join(d, "strict.profile") in show, show
    got = syscalls(nook, "write:/", "keyctl", opts=("--profile", "strict"))
    assert got == {"write:/": "ok", "keyctl": "EPERM"}, got


def test_inspect_warns_about_unconfined_and_shows_the_confinement(nook):
    nook("create", "--name", "unc", "--profile", "unconfined", "busybox", check=True)
    nook("create", "--name", "dfl", "busybox", check=True)
    unc, dfl = nook.inspect("unc"), nook.inspect("dfl")
    assert any("no seccomp filter" in w for w in unc["Warnings"])
    assert unc["Security"]["seccomp"] == "none" and unc["Security"]["profile"] == "unconfined"
    assert not any("seccomp" in w for w in dfl["Warnings"])
    assert dfl["Security"]["seccomp"].endswith("seccomp.json") and dfl["Security"]["no_new_privileges"]
