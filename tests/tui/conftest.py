"""Fixtures for the dashboard tests: a private NOOK_ROOT/NOOK_RUN per test (as in
tests/integration), and the dashboard running in a private tmux server
(`tmux -L nook-test-<pid> -f /dev/null`). The server is killed and every instance removed
afterwards, even when the test failed (tests/lib/nooktest.py)."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nooktest import MUST_WORK, NOOK, Nook, drop_busybox_cache, private_root, skip_or_fail  # noqa: E402,F401

TMUX = shutil.which("tmux")


@pytest.fixture
def nook():
    if os.geteuid() != 0:
        skip_or_fail("containers need root")
    if not os.path.exists(NOOK):
        skip_or_fail(f"no nook binary at {NOOK} (run make)")
    with private_root("nook-tui-") as n:
        yield n


class Screen:
    """The dashboard in a tmux pane: keys in, capture-pane text out, waits by deadline."""

    def __init__(self, socket, target):
        self.socket = socket
        self.target = target

    def tmux(self, *args, check=True):
        return subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def text(self, escapes=False):
        args = ["capture-pane", "-p", "-t", self.target] + (["-e"] if escapes else [])
        return self.tmux(*args).stdout

    def lines(self):
        return self.text().splitlines()

    def keys(self, *keys):
        """tmux key names: "Enter", "Escape", "C-p", "Space", or plain text."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def click(self, x, y, button=0):
        """A press in the X10 mouse encoding, as a terminal sends it (0-based cells)."""
        self.type("\x1b[M" + chr(32 + button) + chr(32 + x + 1) + chr(32 + y + 1))

    def wait(self, pattern, timeout=10.0, gone=False):
        """Poll the pane until the regex matches (or, with gone, stops matching)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.M)
        while True:
            screen = self.text()
            found = rx.search(screen)
            if bool(found) != gone:
                return found
            if time.monotonic() > deadline:
                what = "still showing" if gone else "never showed"
                raise AssertionError(f"the dashboard {what} /{pattern}/; the screen was:\n{screen}")
            time.sleep(0.05)

    def row(self, name):
        """The list line of an instance (tag and spinner columns, then NAME)."""
        for line in self.lines():
            if re.match(r"^..%s\s" % re.escape(name), line):
                return line
        return None

    def wait_row(self, name, pattern, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            line = self.row(name)
            if line and re.search(pattern, line):
                return line
            if time.monotonic() > deadline:
                raise AssertionError(f"row {name} never matched /{pattern}/; it was {line!r}; screen:\n{self.text()}")
            time.sleep(0.05)


@pytest.fixture
def dashboard(nook):
    """Start the dashboard: dashboard(width, height, **env) -> Screen."""
    if not TMUX:
        skip_or_fail("tmux is not installed (apt-get install tmux)")
    socket = f"nook-test-{os.getpid()}"
    started = []

    def start(width=120, height=40, **env):
        name = f"d{len(started)}"
        full = dict(nook.env, TERM="screen-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        full.pop("NO_COLOR", None)
        full.update(env)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in full.items()
                           if k in ("NOOK_ROOT", "NOOK_RUN", "NOOK_OCI_ROOT", "TERM", "LANG", "LC_ALL", "NO_COLOR", "HOME",
                                    "PATH", "NOOK_PROFILES"))
        # The pane outlives the dashboard so a crash stays readable in the failure output.
        cmd = f"env -i {exports} {shlex.quote(NOOK)} tui; echo \"[dashboard exited $?]\"; sleep 600"
        subprocess.run([TMUX, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", name,
                        "-x", str(width), "-y", str(height), cmd], check=True)
        started.append(name)
        return Screen(socket, name)

    try:
        yield start
    finally:
        path = subprocess.run([TMUX, "-L", socket, "display-message", "-p", "#{socket_path}"],
                              capture_output=True, text=True).stdout.strip()
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)
        if path:
            try:
                os.unlink(path)  # tmux leaves its socket file behind
            except OSError:
                pass


def pytest_sessionfinish(session, exitstatus):
    drop_busybox_cache()
