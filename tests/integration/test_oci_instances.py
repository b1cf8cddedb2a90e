"""Containers made through the OCI runtime interface show in nook's own views (ls, stats)
as kind "oci", and nook's lifecycle commands point to their engine instead of acting."""
import json
import os
import subprocess
import uuid

import pytest
from conftest import NOOK
from nooktest import make_oci_bundle, remove_cgroup_path


@pytest.fixture
def oci(nook, tmp_path):
    root = nook.env["NOOK_OCI_ROOT"]
    made = []

    def run(*args, check=True):
        # The container's stdio is the creator's: hand it a file, not the pipe that
        # nook() would wait on until the container ends.
        out = open(tmp_path / "container-output", "a")
        p = nook("oci", "--root", root, *args) if args[0] != "create" else \
            subprocess.run([NOOK, "oci", "--root", root, *args], env=nook.env, stdin=subprocess.DEVNULL,
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
        remove_cgroup_path(cgroup)


def test_runtime_containers_show_in_ls_and_stats(nook, oci, tmp_path):
    cid = "nk" + uuid.uuid4().hex  # 34 characters: shown whole
    cgroup = f"/nook-test-oci-ls/{cid}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    make_oci_bundle(str(bundle), ["sleep", "1000"], cgroup)
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
    assert "OCI runtime container" in p.stderr and "engine manages it" in p.stderr

    oci("delete", "--force", cid)
    assert cid not in nook("ls", "-a", check=True).stdout


def test_long_engine_ids_are_shown_and_found_by_their_first_twelve(nook, oci, tmp_path):
    cid = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex digits, like podman's
    cgroup = f"/nook-test-oci-ls/{cid[:16]}"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    make_oci_bundle(str(bundle), ["sleep", "1000"], cgroup)
    oci.made.append((cid, cgroup))
    oci("create", "--bundle", str(bundle), cid)
    oci("start", cid)
    rows = {r["name"]: r for r in json.loads(nook("ls", "--json", check=True).stdout)}
    assert cid[:12] in rows and rows[cid[:12]]["kind"] == "oci"
    stats = json.loads(nook("stats", "--no-stream", "--json", cid[:12], check=True).stdout)
    row = stats[0] if isinstance(stats, list) else stats
    assert row["pids"] >= 1


def test_delete_force_follows_the_record_of_a_create_that_was_killed(nook, oci):
    """create records the container (pid 0, its cgroup) before it makes anything on the
    host; delete --force of such a record removes the cgroup a killed create left."""
    cid = "killed" + uuid.uuid4().hex[:8]
    cgroup = f"nook-test-oci-ls/{cid}"
    base = "/sys/fs/cgroup"
    v2 = os.path.exists(os.path.join(base, "cgroup.controllers"))
    made = [os.path.join(base, cgroup)] if v2 else [os.path.join(base, h, cgroup) for h in ("memory", "pids")]
    oci.made.append((cid, cgroup))
    for d in made:
        os.makedirs(d)
    rec = os.path.join(nook.env["NOOK_OCI_ROOT"], cid)
    os.makedirs(rec)
    with open(os.path.join(rec, "state.json"), "w") as f:
        json.dump({"id": cid, "pid": 0, "pid_start": 0, "bundle": "/nonexistent", "rootfs": "/nonexistent",
                   "created": 0, "cgroup": cgroup}, f)
    assert json.loads(oci("state", cid).stdout)["status"] == "stopped"
    oci("delete", "--force", cid)
    assert not os.path.exists(rec)
    assert [d for d in made if os.path.exists(d)] == []
