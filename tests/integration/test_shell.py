"""`nook shell`: completion, history, errors that leave the shell standing, Ctrl-C and
Ctrl-D, and script mode's exit codes, driven through a real terminal with pexpect."""
import os
import re

import pexpect
import pytest

from conftest import NOOK

PROMPT = "nook> "
VERSION = re.compile(r"\r\nnook \d+\.\d+\.\d+\r\n")
CTRL_C, CTRL_D, UP = "\x03", "\x04", "\x1b[A"


@pytest.fixture
def home(tmp_path):
    d = tmp_path / "home"
    d.mkdir()
    return d


def spawn(nook, home, *args):
    # Our own inputrc: the host's /etc/inputrc must not change what keys do here, and
    # bracketed paste would wrap every command's output in escape sequences.
    inputrc = home / "inputrc"
    inputrc.write_text("set enable-bracketed-paste off\n")
    env = dict(nook.env, HOME=str(home), TERM="xterm", INPUTRC=str(inputrc))
    child = pexpect.spawn(NOOK, ["shell", *args], env=env, encoding="utf-8", timeout=30,
                          dimensions=(40, 160))
    child.expect_exact(PROMPT)
    return child


def leave(child):
    """Ctrl-D at an empty prompt; returns the shell's exit status."""
    child.send(CTRL_D)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_tab_completes_a_command(nook, home):
    sh = spawn(nook, home)
    sh.send("ins\t")
    sh.expect_exact("pect ")
    # What Enter runs is the completed line: its help proves it.
    sh.send("--help\r")
    sh.expect_exact("usage: nook inspect")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


def test_tab_twice_lists_the_choices(nook, home):
    sh = spawn(nook, home)
    sh.send("st\t\t")
    sh.expect(r"start\s+stats\s+stop")
    assert "shell" not in sh.after
    sh.send(CTRL_C)
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


def test_tab_completes_an_option(nook, home):
    sh = spawn(nook, home)
    sh.send("run --na\t")
    sh.expect_exact("me ")
    # Without the completion this would be `run --nafromtab`, which nook refuses.
    sh.send("fromtab --rm busybox -- hostname\r")
    sh.expect(r"\r\nfromtab\r\n")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


def test_tab_completes_instance_and_image_names(nook, home):
    nook("create", "--name", "webserver", "busybox", check=True)
    sh = spawn(nook, home)
    sh.send("inspect web\t")
    sh.expect_exact("server ")
    sh.send("\r")
    sh.expect(r'"Name":\s*"webserver"')
    sh.expect_exact(PROMPT)
    sh.send("create --name second busy\t")
    sh.expect_exact("box ")
    sh.send("\r")
    sh.expect(r"\r\nsecond\r\n")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0
    assert nook.instances() == ["second", "webserver"]


def test_history_survives_a_restart(nook, home):
    sh = spawn(nook, home)
    sh.send("help version\r")
    sh.expect_exact("usage: nook version")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0
    with open(home / ".nook_history") as f:
        assert "help version" in f.read().splitlines()

    sh = spawn(nook, home)
    sh.send(UP)
    sh.expect_exact("help version")
    sh.send("\r")
    sh.expect_exact("usage: nook version")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


def test_errors_do_not_end_the_shell(nook, home):
    sh = spawn(nook, home)
    sh.send("frobnicate\r")
    sh.expect_exact("no such command: frobnicate")
    sh.expect_exact(PROMPT)
    sh.send("rm nosuch\r")
    sh.expect_exact("no such instance: nosuch")
    sh.expect_exact(PROMPT)
    sh.send("stop -t nope x\r")
    sh.expect_exact("usage: nook stop")
    sh.expect_exact(PROMPT)
    sh.send("rm 'unclosed\r")
    sh.expect_exact("unterminated single quote")
    sh.expect_exact(PROMPT)
    sh.send("version\r")
    sh.expect(VERSION)
    sh.expect_exact(PROMPT)
    assert sh.isalive()
    # Errors shown at the prompt are not the shell's failure.
    assert leave(sh) == 0


def test_ctrl_c_drops_the_line(nook, home):
    sh = spawn(nook, home)
    sh.send("rm nosuch")
    sh.expect_exact("rm nosuch")
    sh.send(CTRL_C)
    sh.expect_exact(PROMPT)
    # Had the line survived, this would run `rm nosuchversion`.
    sh.send("version\r")
    assert sh.expect([VERSION, "no such instance"]) == 0
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


def test_ctrl_d_leaves_with_zero(nook, home):
    sh = spawn(nook, home)
    sh.send("rm nosuch\r")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


def test_exit_with_a_code(nook, home):
    sh = spawn(nook, home)
    sh.send("exit 4\r")
    sh.expect(pexpect.EOF)
    sh.close()
    assert sh.exitstatus == 4


def test_ctrl_c_stops_a_streaming_command(nook, home):
    nook("run", "-d", "--name", "ticker", "busybox", "--", "sleep", "300", check=True)
    sh = spawn(nook, home)
    sh.send("stats\r")
    sh.expect_exact("ticker")
    sh.expect_exact("ticker")  # a second frame: it streams
    sh.send(CTRL_C)
    sh.expect_exact(PROMPT)
    sh.send("version\r")
    sh.expect(VERSION)
    sh.expect_exact(PROMPT)
    # stats has really ended: nothing repaints the screen any more.
    assert sh.expect(["ticker", pexpect.TIMEOUT], timeout=2.5) == 1
    assert sh.isalive()
    assert leave(sh) == 0


def test_quoting_interactive(nook, home):
    sh = spawn(nook, home)
    sh.send("run --rm busybox -- sh -c 'echo \"a  b\"'\r")
    sh.expect(r"\r\na  b\r\n")
    sh.expect_exact(PROMPT)
    assert leave(sh) == 0


# --- script mode: stdin is not a terminal ------------------------------------------------

SCRIPT = "run --rm busybox -- true\nrm nosuch\nversion\n"


def test_script_stops_at_the_first_error(nook):
    p = nook("shell", input=SCRIPT)
    assert p.returncode == 125
    assert "nook 0" not in p.stdout
    assert p.stdout == ""
    assert "nook shell: line 2: `rm nosuch` failed with exit code 125" in p.stderr


def test_script_keep_going(nook):
    p = nook("shell", "-k", input=SCRIPT)
    # The verdict is the first failure's code: -k changes what runs, not the verdict.
    assert p.returncode == 125
    assert re.fullmatch(r"nook \d+\.\d+\.\d+\n", p.stdout)
    assert "line 2:" in p.stderr


def test_script_exit_code_is_the_failing_commands(nook):
    p = nook("shell", "-k", input="run --rm busybox -- sh -c 'exit 3'\nrm nosuch\n")
    assert p.returncode == 3
    p = nook("shell", input="run --rm busybox -- sh -c 'exit 3'\nversion\n")
    assert p.returncode == 3
    assert p.stdout == ""


def test_script_success_prints_only_command_output(nook):
    script = "# a comment\n\n   \nrun --rm busybox -- sh -c 'echo \"a b\"'  # trailing\nversion\n"
    p = nook("shell", input=script)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"a b\nnook \d+\.\d+\.\d+\n", p.stdout)
    assert p.stderr == ""


def test_script_unterminated_quote(nook):
    p = nook("shell", input="version\nrun --rm busybox -- echo 'oops\nversion\n")
    assert p.returncode == 125
    assert p.stdout.count("nook 0") == 1
    assert "line 2: unterminated single quote" in p.stderr


def test_script_commands_do_not_read_the_script(nook):
    # A command reading stdin must not swallow the lines after it. The padding goes past
    # what the shell's own reads buffer, so a `cat` sharing its stdin would get the rest.
    script = "run --rm -i busybox -- cat\n" + "# padding\n" * 3000 + "version\n"
    p = nook("shell", input=script)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"nook \d+\.\d+\.\d+\n", p.stdout)


def test_script_exit(nook):
    p = nook("shell", input="exit 7\nversion\n")
    assert p.returncode == 7
    assert p.stdout == ""


def test_shell_refuses_arguments(nook):
    p = nook("shell", "script.txt", input="")
    assert p.returncode == 125
    assert "nook shell < FILE" in p.stderr
    assert os.path.exists(NOOK)
