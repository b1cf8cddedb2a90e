"""The shortest path through nook: run a command, get its output and status."""


def test_run_prints_output_and_returns_status(nook):
    p = nook("run", "--rm", "busybox", "--", "sh", "-c", "echo hello; exit 3")
    assert p.stdout == "hello\n"
    assert p.returncode == 3
    assert nook.instances() == []
