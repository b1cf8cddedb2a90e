"""The command line's contract: help, usage errors, refused names/volumes/env/signals,
unknown images and instances, state conflicts, and the documented exit codes."""
import os
import re
import time

import pytest

COMMANDS = ["run", "create", "start", "stop", "kill", "restart", "rm", "ls", "inspect",
            "logs", "attach", "exec", "image", "version", "help"]


def all_entries(nook):
    """Everything under NOOK_ROOT/instances, hidden staging directories included."""
    d = os.path.join(nook.root, "instances")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def assert_refused(p, *words):
    assert p.returncode == 125, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.strip(), "no message on stderr"
    assert "Traceback" not in p.stderr and "Segmentation" not in p.stderr
    low = p.stderr.lower()
    for w in words:
        assert w.lower() in low, (w, p.stderr)


def run_d(nook, name, *cmd):
    p = nook("run", "-d", "--name", name, "busybox", "--", *cmd)
    assert p.returncode == 0, p.stderr
    return p


# --- help and usage -------------------------------------------------------------------

@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(nook, cmd):
    p = nook(cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: nook")
    if cmd != "help":
        assert f"usage: nook {cmd}" in p.stdout
        q = nook("help", cmd)
        assert q.returncode == 0
        assert q.stdout == p.stdout


def test_top_level_help_lists_commands(nook):
    for args in (("--help",), ("help",)):
        p = nook(*args)
        assert p.returncode == 0
        assert p.stdout.startswith("usage: nook")
        for cmd in COMMANDS:
            assert re.search(rf"^\s+{cmd}\s", p.stdout, re.M), cmd


def test_unknown_command(nook):
    p = nook("frobnicate")
    assert_refused(p, "frobnicate")
    assert p.stdout == ""


@pytest.mark.parametrize("args", [
    ("run", "--bogus", "busybox"),
    ("ls", "--bogus"),
    ("stop", "-z", "x"),
    ("exec", "--bogus", "x", "--", "true"),
    ("logs", "--bogus", "x"),
])
def test_unknown_option(nook, args):
    p = nook(*args)
    assert_refused(p, args[1])
    assert all_entries(nook) == []


def test_missing_image_or_name(nook):
    assert_refused(nook("run"))
    assert_refused(nook("create"))
    assert_refused(nook("start"))
    assert_refused(nook("exec", "--", "true"))
    assert all_entries(nook) == []


def test_version(nook):
    p = nook("version")
    assert p.returncode == 0
    assert re.search(r"\bnook\b.*\d+\.\d+", p.stdout), p.stdout


# --- names ----------------------------------------------------------------------------

BAD_NAMES = ["../x", "", "a" * 64, "a b", "a/b", "_x", "-x", ".x", "x\n", "é"]


@pytest.mark.parametrize("cmd", ["run", "create"])
@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_names_refused_nothing_created(nook, cmd, name):
    p = nook(cmd, "--name", name, "busybox", "--", "true")
    assert_refused(p, "name")
    assert all_entries(nook) == []
    assert os.listdir(nook.run_dir) == []


def test_longest_name_is_accepted(nook):
    name = "a" + "b_.-" * 15 + "cd"
    assert len(name) == 63
    p = nook("run", "--rm", "--name", name, "busybox", "--", "true")
    assert p.returncode == 0, p.stderr
    assert all_entries(nook) == []


def test_generated_name(nook):
    p = nook("create", "busybox", "--", "true")
    assert p.returncode == 0, p.stderr
    name = p.stdout.strip()
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{4}", name), name
    assert nook.instances() == [name]


# --- images and instances that do not exist -------------------------------------------

def test_unknown_image(nook):
    p = nook("run", "--name", "x", "no-such-image", "--", "true")
    assert_refused(p, "no-such-image")
    assert all_entries(nook) == []


@pytest.mark.parametrize("args", [
    ("start", "ghost"), ("stop", "ghost"), ("kill", "ghost"), ("rm", "ghost"),
    ("restart", "ghost"), ("inspect", "ghost"), ("logs", "ghost"), ("attach", "ghost"),
    ("exec", "ghost", "--", "true"), ("rm", "-f", "ghost"),
])
def test_unknown_instance(nook, args):
    p = nook(*args, timeout=10)
    assert_refused(p, "ghost")
    assert all_entries(nook) == []


# --- bad volumes, env, signals, times -------------------------------------------------

@pytest.mark.parametrize("vol", [
    "relative/dir:/v",
    "{tmp}/does-not-exist:/v",
    "{tmp}:relative",
    "{tmp}:/v:xx",
    "{tmp}",
    ":/v",
    "{tmp}:",
])
def test_bad_volume_refused(nook, tmp_path, vol):
    p = nook("run", "--name", "v", "-v", vol.format(tmp=tmp_path), "busybox", "--", "true")
    assert_refused(p, "volume")
    assert all_entries(nook) == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("env", ["=x", "=", ""])
def test_bad_env_refused(nook, env):
    p = nook("run", "--name", "e", "-e", env, "busybox", "--", "true")
    assert_refused(p)
    assert all_entries(nook) == []


def test_bad_signal_refused(nook):
    run_d(nook, "sig", "sleep", "100")
    for s in ("BOGUS", "99", "0", "-1", "", "SIGNOPE"):
        p = nook("kill", "-s", s, "sig")
        assert_refused(p, "signal")
    assert nook.state("sig")["status"] == "running"
    # Names with and without SIG, and numbers, are accepted.
    for s in ("SIGCONT", "CONT", "18"):
        assert nook("kill", "-s", s, "sig").returncode == 0, s
    assert nook.state("sig")["status"] == "running"


@pytest.mark.parametrize("cmd", ["stop", "restart"])
def test_bad_grace_time_refused(nook, cmd):
    run_d(nook, "gt", "sleep", "100")
    for t in ("abc", "-1", "", "1x", "99999999999999999999"):
        p = nook(cmd, "-t", t, "gt")
        assert_refused(p)
    st = nook.state("gt")
    assert st["status"] == "running"


# --- state conflicts ------------------------------------------------------------------

def test_double_start(nook):
    run_d(nook, "twice", "sleep", "100")
    pid = nook.state("twice")["init_pid"]
    p = nook("start", "twice")
    assert_refused(p, "already running")
    st = nook.state("twice")
    assert st["status"] == "running" and st["init_pid"] == pid


def test_rm_running_needs_force(nook):
    run_d(nook, "busy", "sleep", "100")
    p = nook("rm", "busy")
    assert_refused(p, "running")
    assert nook.state("busy")["status"] == "running"
    assert nook("exec", "busy", "--", "true").returncode == 0
    p = nook("rm", "-f", "busy")
    assert p.returncode == 0, p.stderr
    assert all_entries(nook) == []
    assert not os.path.exists(os.path.join(nook.run_dir, "busy.sock"))


def test_stop_stopped_instance(nook):
    assert nook("run", "--name", "done", "busybox", "--", "true").returncode == 0
    p = nook("stop", "done")
    assert_refused(p, "not running")
    st = nook.state("done")
    assert st["status"] == "stopped" and st["exit_code"] == 0
    assert nook("create", "--name", "new", "busybox", "--", "true").returncode == 0
    assert_refused(nook("stop", "new"), "not running")
    assert_refused(nook("kill", "new"), "not running")


def test_rm_several_one_missing(nook):
    """rm NAME... removes what it can and still reports the missing one."""
    assert nook("create", "--name", "a1", "busybox", "--", "true").returncode == 0
    p = nook("rm", "a1", "ghost")
    assert p.returncode == 125
    assert "ghost" in p.stderr
    assert all_entries(nook) == []


# --- exit codes of the command --------------------------------------------------------

def test_command_not_found(nook):
    p = nook("run", "--rm", "busybox", "--", "no-such-command")
    assert p.returncode == 127
    assert "no-such-command" in p.stderr
    assert nook.instances() == []


def test_command_not_executable(nook, tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\necho ran\n")
    os.chmod(script, 0o644)
    p = nook("run", "--rm", "-v", f"{tmp_path}:/v", "busybox", "--", "/v/script")
    assert p.returncode == 126
    assert "ran" not in p.stdout
    assert nook.instances() == []
    # A directory cannot be executed either.
    p = nook("run", "--rm", "busybox", "--", "/tmp")
    assert p.returncode == 126


def test_exec_exit_codes(nook):
    run_d(nook, "ec", "sleep", "100")
    assert nook("exec", "ec", "--", "no-such-command").returncode == 127
    assert nook("exec", "ec", "--", "/etc").returncode == 126
    assert nook("exec", "ec", "--", "sh", "-c", "exit 42").returncode == 42
    time.sleep(0.1)
    assert nook.state("ec")["status"] == "running"
