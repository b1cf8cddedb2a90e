"""Containers made through the OCI runtime interface show in nook's own views (ls, stats)
as kind "oci", and nook's lifecycle commands point to their engine instead of acting."""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def make_bundle(path, args, cgroup):
    rootfs = os.path.join(path, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    for tool in ("sh", "sleep", "true"):
        os.symlink("busybox", os.path.join(rootfs, "bin", tool))
    config = {
        "ociVersion": "1.0.2",
        "process": {"args": args, "cwd": "/", "env": ["PATH=/bin"],
                    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                     "permitted": ["CAP_KILL"]}},
        "root": {"path": "rootfs"},
        "hostname": "oci",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts", "network")],
                  "cgroupsPath": cgroup,
                  "resources": {"pids": {"limit": 64}}},
    }
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


def nook_bin(nook):
    from conftest import NOOK
    return NOOK


def remove_cgroup(relpath):
    for top in ["/sys/fs/cgroup"] + [os.path.join("/sys/fs/cgroup", d) for d in os.listdir("/sys/fs/cgroup")]:
        parts = relpath.strip("/").split("/")
        for depth in range(len(parts), 0, -1):
            d = os.path.join(top, *parts[:depth])
            if os.path.isdir(d) and not os.path.islink(top):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


@pytest.fixture
def oci(nook, tmp_path):
    root = nook.env["NOOK_OCI_ROOT"]
    made = []

    def run(*args, check=True):
        # The container's stdio is the creator's: hand it a file, not the pipe that
        # nook() would wait on until the container ends.
        out = open(tmp_path / "container-output", "a")
        p = nook("oci", "--root", root, *args) if args[0] != "create" else \
            subprocess.run([nook_bin(nook), "oci", "--root", root, *args], env=nook.env, stdin=subprocess.DEVNULL,
                           stdout=out, stderr=out, text=True, timeout=60)
        out.close()
        if args[0] == "create":
            p.stderr = (tmp_path / "container-output").read_text()
        if check and p.returncode != 0:
            raise AssertionError(f"nook oci {' '.join(args)}: {p.stderr}")
        return p

    run.made = made
    yield run
    for cid, cgroup in made:
        run("delete", "--force", cid, check=False)
        remove_cgroup(cgroup)


def test_runtime_containers_show_in_ls_and_stats(nook, oci, tmp_path):
    cid = "nk" + uuid.uuid4().hex  # 34 characters: shown whole
    cgroup = f"/nook-test-oci-ls/{cid}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    make_bundle(str(bundle), ["sleep", "1000"], cgroup)
    oci.made.append((cid, cgroup))
    oci("create", "--bundle", str(bundle), cid)

    rows = {r["name"]: r for r in json.loads(nook("ls", "-a", "--json", check=True).stdout)}
    assert rows[cid]["kind"] == "oci" and rows[cid]["state"] == "created"

    oci("start", cid)
    rows = {r["name"]: r for r in json.loads(nook("ls", "--json", check=True).stdout)}
    assert rows[cid]["state"] == "running"
    assert rows[cid]["command"] == "sleep 1000"
    pid = json.loads(oci("state", cid).stdout)["pid"]
    assert rows[cid]["pid"] == pid

    table = nook("ls", check=True).stdout
    assert any(line.startswith(cid) and " oci " in line for line in table.splitlines())

    stats = json.loads(nook("stats", "--no-stream", "--json", cid, check=True).stdout)
    row = stats[0] if isinstance(stats, list) else stats
    assert row["pids"] >= 1, row

    p = nook("stop", cid)
    assert p.returncode != 0
    assert "OCI runtime" in p.stderr and "engine" in p.stderr

    oci("delete", "--force", cid)
    assert cid not in nook("ls", "-a", check=True).stdout


def test_long_engine_ids_are_shown_and_found_by_their_first_twelve(nook, oci, tmp_path):
    cid = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex digits, like podman's
    cgroup = f"/nook-test-oci-ls/{cid[:16]}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    make_bundle(str(bundle), ["sleep", "1000"], cgroup)
    oci.made.append((cid, cgroup))
    oci("create", "--bundle", str(bundle), cid)
    oci("start", cid)
    rows = {r["name"]: r for r in json.loads(nook("ls", "--json", check=True).stdout)}
    assert cid[:12] in rows and rows[cid[:12]]["kind"] == "oci"
    stats = json.loads(nook("stats", "--no-stream", "--json", cid[:12], check=True).stdout)
    row = stats[0] if isinstance(stats, list) else stats
    assert row["pids"] >= 1
