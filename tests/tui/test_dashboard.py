"""The dashboard driven like a user would, in tmux: the `n` form, live numbers, attach and
detach, filter, sort, the mouse, delete; logs, exec and help at 80x24; a monochrome vt100
run; many instances; the start-up bar and the Compare view. Assertions read capture-pane
text."""
import os
import re
import subprocess
import time

from conftest import NOOK


def run_detached(nook, name, *cmd, tty=False):
    args = ["run", "-d", "--network", "none", "--name", name] + (["-it"] if tty else [])
    nook(*args, "busybox", "--", *(cmd or ("sleep", "1000")), check=True)


def test_form_live_numbers_attach_filter_sort_delete(nook, dashboard):
    s = dashboard(120, 40)
    s.wait("No instances yet")

    # The form checks as you type: a bad memory size is refused before anything runs.
    s.keys("n")
    s.wait("New instance")
    s.keys("Tab", "Tab")
    s.type("web1")
    s.keys("Tab", "Tab")
    s.type("64x")
    s.wait(r"unknown unit 'x'")
    s.keys("BSpace", "M", "Tab", "Tab")
    s.wait(r"at most 64\.0M")
    s.type("none")
    s.wait(r"no network, only loopback")
    s.keys("Enter")

    # It appears with CPU and memory figures (CPU% needs two samples a second apart).
    line = s.wait_row("web1", r"running .*\d+\.\d\s.*\d[KMG]?/64\.0M\s+\d+", timeout=15)
    assert "busybox" in line
    assert nook.state("web1")["status"] == "running"

    # Attach: the detach key is on screen; detaching leaves it running.
    s.keys("a")
    s.wait("Detach with Ctrl-P Ctrl-Q")
    s.type("echo tui-$((6*7))")
    s.keys("Enter")
    s.wait(r"^tui-42", timeout=5)
    s.keys("C-p", "C-q")
    s.wait("detached from web1; it keeps running")
    s.wait_row("web1", "running")
    assert nook.state("web1")["status"] == "running"

    # Another instance made elsewhere shows up by itself.
    run_detached(nook, "db1")
    s.wait_row("db1", "running")
    s.wait(r"Instances 2/2")

    # Filter as you type; Esc clears it.
    s.keys("/")
    s.type("db")
    s.wait(r"Instances 1/2\s+filter: db")
    assert s.row("web1") is None and s.row("db1")
    s.keys("Enter", "Escape")
    s.wait(r"Instances 2/2\s*$")

    # Sort: NAME is first in the menu; choosing it twice reverses.
    s.keys("o")
    s.wait("Sort by")
    s.keys("Enter")
    s.wait("sort: NAME asc")
    s.keys("o", "Enter")
    s.wait("sort: NAME desc")
    names = [l[2:].split()[0] for l in s.lines() if re.match(r"^..(web1|db1)\s", l)]
    assert names == ["web1", "db1"], names

    # A click selects a row (screen row 4 is the second instance); Enter opens it.
    s.click(5, 4)
    s.keys("Enter")
    s.wait("Instance db1")
    s.keys("Escape")

    # Delete asks first, then the row goes and so does the instance.
    s.keys("g", "d")
    s.wait(r"Delete web1\? It is running")
    s.keys("y")
    s.wait(r"^..web1\s", gone=True)
    deadline = time.monotonic() + 10
    while "web1" in nook.instances() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert nook.instances() == ["db1"]


def test_80x24_logs_search_exec_help(nook, dashboard):
    run_detached(nook, "talk", "sh", "-c",
                 "for i in 1 2 3; do echo line-$i; done; echo '日本語 ✓ wide'; echo needle here; sleep 1000")
    run_detached(nook, "box", "sh", tty=True)
    long_name = "a-very-long-instance-name-" + "x" * 37  # 63 characters, the limit
    run_detached(nook, long_name)
    s = dashboard(80, 24)
    s.wait_row("talk", "running")
    lines = s.lines()
    assert len(lines) == 24 and all(len(l) <= 80 for l in lines)
    assert re.search(r"\? help\s+q quit\s*$", lines[-1]), lines[-1]
    # A long name is cut with an ellipsis; the columns after it stay in place.
    long_row = next(l for l in lines if l[2:].startswith("a-very-long"))
    assert "…" in long_row and long_row.index("running") == s.row("talk").index("running"), long_row

    # Logs: follow, then search with highlight and n.
    s.keys("G")  # talk sorts last
    s.keys("l")
    s.wait("Log of talk")
    s.wait("line-3")
    s.wait("日本語 ✓ wide")  # wide characters keep their columns
    s.keys("/")
    s.type("needle")
    s.keys("Enter")
    s.wait("search: needle")
    escaped = s.text(escapes=True)
    assert re.search(r"\x1b\[[0-9;]*m(needle)", escaped), "the match is not highlighted"
    s.keys("Escape")
    s.wait("Instances 3/3")

    # e finds a shell by itself; exit comes back.
    s.keys("g", "j", "e")
    s.wait(r"sh in box\. Type exit")
    s.type("echo exec-$((2+3))")
    s.keys("Enter")
    s.wait(r"^exec-5", timeout=5)
    s.type("exit")
    s.keys("Enter")
    s.wait(r"the sh in box ended")

    # ':' runs any command: one line of output on the message line, more in the pager.
    s.keys(":")
    s.type("version")
    s.keys("Enter")
    s.wait(r"^nook \d+\.\d+")
    s.keys(":")
    s.type("ls -a")
    s.keys("Enter")
    s.wait(r":ls -a  \(exit 0\)")
    s.wait(r"^box\s+container\s+running")
    s.keys("Escape")
    s.keys(":")
    s.type("frobnicate")
    s.keys("Enter")
    s.wait("no such command: frobnicate")

    # ? lists every key of the view, from the same table as the footer.
    s.keys("?")
    s.wait("Keys in the instance list")
    for key in ("Enter", "Space", "attach", "filter", "sort"):
        assert key in s.text()
    s.keys("Escape")
    s.wait("Instances 3/3")


def test_monochrome_vt100_tags(nook, dashboard):
    for name in ("m1", "m2", "m3"):
        run_detached(nook, name)
    s = dashboard(80, 24, TERM="vt100", LANG="C", LC_ALL="C", NO_COLOR="1")
    s.wait_row("m3", r"running.*\d")
    escaped = s.text(escapes=True)
    assert not re.search(r"\x1b\[(3|4)[0-7]m", escaped), "colour on a monochrome terminal"
    assert "\x1b[7m" in escaped or "\x1b[1m" in escaped, "no emphasis at all"

    s.keys("j", "Enter")
    s.wait("Instance m2")
    s.keys("3")
    s.wait(r"net\s+\d+\s+\d+\s+isolated")
    s.wait(r"In short: [5-8] of [6-8] namespaces its own, \d+ capabilities, NoNewPrivs yes")
    s.keys("Escape")

    # Tag two rows with space (an ASCII mark here) and stop both at once.
    s.keys("g", "Space", "Space")
    s.wait(r"2 tagged")
    assert s.row("m1").startswith("*") and s.row("m2").startswith("*")
    s.keys("s")
    s.wait_row("m1", "exited")
    s.wait_row("m2", "exited")
    s.wait_row("m3", "running")

    # Errors say what to do, on the message line.
    s.keys("Escape", "g", "p")
    s.wait("error: m1 is not running: start it with s")

    # Attaching to an instance without a terminal: its output, and the same way back.
    s.keys("G", "a")
    s.wait("m3 has no terminal")
    s.keys("C-c")  # not passed on: the workload must not stop
    s.keys("C-p", "C-q")
    s.wait("detached from m3; it keeps running")
    assert nook.state("m3")["status"] == "running"


def test_200_instances(nook, dashboard):
    # Created, not started: the list, its counts and scrolling are what is under test.
    names = [f"n{i:03d}" for i in range(200)]
    procs = []
    for chunk in range(0, 200, 25):
        script = " && ".join(f"{NOOK} create --network none --name {n} busybox >/dev/null"
                             for n in names[chunk:chunk + 25])
        procs.append(subprocess.Popen(["sh", "-c", script], env=nook.env))
    assert all(p.wait(timeout=60) == 0 for p in procs)
    s = dashboard(120, 40)
    s.wait(r"200 instances: 0 running, 0 paused, 0 stopped, 200 created")
    s.wait_row("n000", "created")
    s.keys("G")
    s.wait_row("n199", "created")
    s.keys("/")
    s.type("n19")
    s.wait(r"Instances 10/200")


def test_kvm_tab_shows_a_vms_exits_per_vcpu(nook, dashboard):
    import os
    guest = os.path.join(os.path.dirname(NOOK), "build", "vm-guest", "guest.bin")
    subprocess.run(["make", "-s", "build/vm-guest/guest.bin"], cwd=os.path.dirname(NOOK), check=True)
    nook("run", "-d", "--vm", "--cpus", "2", "--kernel", guest, "--cmdline", "nook.wait_stop=1",
         "--name", "vm1", "busybox", check=True)
    nook("run", "-d", "--network", "none", "--name", "ctr1", "busybox", "--", "sleep", "1000", check=True)
    s = dashboard(120, 40)
    s.wait_row("vm1", r"\bvm\b.*running")
    # Select the VM (rows sort by name: ctr1, vm1), open it, tab 5.
    s.keys("j", "Enter")
    s.wait(r"Instance vm1")
    s.keys("5")
    s.wait(r"2 vCPUs: why each one left the guest")
    s.wait(r"halt_exits\s+\d+\s+\d+/s\s+\d+")  # a rate appears from the second look on
    assert re.search(r"exits\s+[1-9]\d*", s.text())
    # A container's KVM tab says why it has none.
    s.keys("Escape")
    s.wait(r"Instances")
    s.keys("k", "Enter")
    s.wait(r"Instance ctr1")
    s.keys("5")
    s.wait(r"runs on the host's own kernel")


def test_overview_start_up_bar_and_compare_view(nook, dashboard):
    import os
    guest = os.path.join(os.path.dirname(NOOK), "build", "vm-guest", "guest.bin")
    subprocess.run(["make", "-s", "build/vm-guest/guest.bin"], cwd=os.path.dirname(NOOK), check=True)
    nook("run", "-d", "--vm", "--kernel", guest, "--cmdline", "nook.wait_stop=1", "--name", "vm1", "busybox",
         check=True)
    run_detached(nook, "ctr1")
    s = dashboard(120, 40)
    s.wait_row("vm1", r"\bvm\b.*running")
    # A container's start-up: one bar, its phases named in it or listed under it.
    s.keys("Enter")
    s.wait(r"Instance ctr1")
    s.wait(r"Start-up\s+\d+\.\d\d ms, phase by phase")
    bar = s.wait(r"^\s+\[.*\]\s*$").group(0)
    assert len(bar.strip()) > 20
    for phase in ("cgroup", "clone", "network", "mounts", "pivot_root", "capabilities", "seccomp", "exec"):
        assert re.search(rf"\b{phase} \d+\.\d\d ms", s.text()), phase
    # A VM's: the VMM's steps, then the guest's boot boundaries.
    s.keys("Escape")
    s.wait(r"Instances")
    s.keys("j", "Enter")
    s.wait(r"Instance vm1")
    s.wait(r"Start-up\s+\d+\.\d\d ms, phase by phase \(the VMM's steps")
    for phase in ("kvm", "memory", "vcpus", "kernel", "first-instruction", "guest-init", "first-console"):
        assert re.search(rf"\b{phase} \d+\.\d\d ms", s.text()), (phase, s.text())
    # The Compare view runs `nook compare` in the background and shows both sides.
    s.keys("Escape")
    s.wait(r"Instances")
    s.keys("c")
    s.wait(r"Compare: container vs VM")
    s.wait(r"CONTAINER\s+VM", timeout=60)
    screen = s.text()
    assert re.search(r"start-up\s+\d+\.\d\d ms", screen)
    assert re.search(r"memory: monitor / VMM RSS\s+\d+ KiB", screen)
    assert re.search(r"namespaces shared w/ host", screen)
    assert "Container start-up" in screen and "VM start-up" in screen
    assert re.search(r"^\s+\[.*\]\s*$", screen, re.M)  # the container's bar
    # On a host that cannot boot the VM side, the running VM's own start-up is shown instead.
    assert "Meanwhile the VM vm1 on this machine" in screen and "first-instruction" in screen
    # Back to the list and in again: the last result is kept, not run again.
    s.keys("Escape")
    s.wait(r"Instances 2/2")
    s.keys("c")
    s.wait(r"result of [\d.]+ s ago")
    # r runs it again, in the background: the view says so, then shows the new result.
    s.keys("r")
    s.wait(r"CONTAINER\s+VM", timeout=60)
    s.wait(r"\[running\]", gone=True, timeout=60)
    # The comparison's throwaway instances are gone.
    assert nook.instances() == ["ctr1", "vm1"]


def test_runtime_container_shows_with_live_numbers(nook, dashboard, tmp_path):
    """A container made through the OCI runtime interface (as podman would) is a row of kind
    oci with live figures; the dashboard's stop points to its engine instead of acting."""
    from nooktest import make_oci_bundle, remove_cgroup_path
    cgroup = f"/nook-test-tui-oci/{os.getpid()}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    make_oci_bundle(str(bundle), ["sh", "-c", "while :; do :; done"], cgroup)
    root = nook.env["NOOK_OCI_ROOT"]
    try:
        # Made after the dashboard opened: the runtime's root is not watched, but looked at.
        s = dashboard(120, 30)
        s.wait("No instances yet")
        with open(tmp_path / "out", "w") as out:
            subprocess.run([NOOK, "oci", "--root", root, "create", "--bundle", str(bundle), "spin"], env=nook.env,
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True, timeout=30)
        nook("oci", "--root", root, "start", "spin", check=True)
        # CPU% needs two samples; a busy loop shows a real share of a core.
        s.wait_row("spin", r"\boci\s+running\s.*\s[1-9]\d*\.\d\s", timeout=15)
        s.keys("s")
        s.wait(r"engine manages it")
        assert s.wait_row("spin", r"\boci\s+running")
        nook("oci", "--root", root, "delete", "--force", "spin", check=True)
        s.wait(r"Instances 0/0", timeout=15)
    finally:
        nook("oci", "--root", root, "delete", "--force", "spin")
        remove_cgroup_path(cgroup)
