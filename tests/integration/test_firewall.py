"""nook's nftables firewall: isolation between networks, masquerade, and the per-root
default network.

Masquerade and forwarding are only ever turned on inside a network namespace a test
makes itself (`unshare -n`, entered with nsenter): net.ipv4.ip_forward is per namespace,
so the host's stays as it is, and the rules are listed there with `nft`. Traffic goes
only between the test's own containers.
"""
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import NOOK, Nook, remove_networks, skip_or_fail
from test_network import host_links, net_inspect, second_root, uniq, wait_for  # noqa: F401 (fixture)


def nft_json(*args, ns=None):
    cmd = ["nft", "-j", *args]
    if ns:
        cmd = ["nsenter", f"--net={ns}", "--", *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return json.loads(p.stdout)["nftables"] if p.returncode == 0 else None


def tables(ns=None):
    return {i["table"]["name"] for i in nft_json("list", "tables", ns=ns) or [] if "table" in i}


def rules(table, ns=None):
    return [i["rule"] for i in nft_json("list", "table", "inet", table, ns=ns) or [] if "rule" in i]


def with_comment(rs, text):
    return [r for r in rs if r.get("comment") == text]


class NsNook(Nook):
    """nook run inside the network namespace `ns` (a /proc/PID/ns/net path)."""

    def __init__(self, root, run, ns):
        super().__init__(root, run)
        self.ns = ns

    def __call__(self, *args, check=False, timeout=60, input=None, **kw):
        p = subprocess.run(["nsenter", f"--net={self.ns}", "--", NOOK, *args], env=self.env,
                           capture_output=True, text=True, timeout=timeout, input=input, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"nook {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def sh(self, cmd):
        return subprocess.run(["nsenter", f"--net={self.ns}", "--", "sh", "-c", cmd], capture_output=True,
                              text=True, timeout=30)


@pytest.fixture
def private_ns(nook):
    """A NOOK_ROOT whose nook runs in a network namespace of the test's own."""
    if not shutil.which("nft") or not shutil.which("nsenter") or not shutil.which("unshare"):
        skip_or_fail("needs nft (nftables), nsenter and unshare (util-linux)")
    holder = subprocess.Popen(["unshare", "-n", "--", "sleep", "600"])
    ns = f"/proc/{holder.pid}/ns/net"
    base = tempfile.mkdtemp(prefix="nook-test-fw-")
    root, run = os.path.join(base, "root"), os.path.join(base, "run")
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(run)
    shutil.copytree(os.path.join(nook.root, "images", "busybox"), os.path.join(root, "images", "busybox"),
                    symlinks=True)
    n = NsNook(root, run, ns)
    try:
        if not wait_for(lambda: os.readlink(ns) != os.readlink("/proc/self/ns/net"), timeout=5):
            skip_or_fail("unshare -n did not make a network namespace")
        n.sh("ip link set lo up")
        yield n
    finally:
        for name in n.instances():
            n("rm", "-f", name, timeout=30)
        remove_networks(n)
        holder.kill()  # the namespace, and whatever nook left in it, go with it
        holder.wait()
        shutil.rmtree(base, ignore_errors=True)


def host_forwarding():
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        return f.read().strip()


def test_rules_follow_networks_and_masquerade_is_programmed(private_ns):
    n = private_ns
    before = host_forwarding()
    p = n("net", "create", "x", "--subnet", "10.91.1.0/24", "--masquerade", check=True)
    assert "net.ipv4.ip_forward=0" in p.stderr, p.stderr  # nook never turns it on itself
    n("net", "create", "y", "--subnet", "10.91.2.0/24", check=True)
    table = net_inspect(n, "x")["firewall"]["table"]
    assert re.fullmatch(r"nook-[0-9a-f]{8}", table)
    assert table in tables(n.ns)
    assert table not in tables(), "a private namespace's nook programmed the host"
    rs = rules(table, n.ns)

    # masquerade: the subnet, leaving through anything but its own bridge
    masq = with_comment(rs, "x: masquerade")
    assert len(masq) == 1, rs
    exprs = json.dumps(masq[0]["expr"])
    assert '"masquerade"' in exprs
    assert '{"prefix": {"addr": "10.91.1.0", "len": 24}}' in exprs, exprs
    assert '"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "nk-x"' in exprs, exprs
    assert with_comment(rs, "x: masquerade return"), rs
    assert not with_comment(rs, "y: masquerade")

    # isolation: drops between each network's bridge and any other nook bridge, both ways
    for net in ("x", "y"):
        drops = with_comment(rs, f"{net}: isolation")
        assert len(drops) == 4, rs
        assert all({"drop": None} in r["expr"] for r in drops)
        pairs = {(e["match"]["left"]["meta"]["key"], e["match"]["right"]) for r in drops for e in r["expr"]
                 if "match" in e}
        assert {("iifname", f"nk-{net}"), ("oifname", "nk-*"), ("oifname", "nook*"),
                ("iifname", "nk-*"), ("iifname", "nook*"), ("oifname", f"nk-{net}")} <= pairs, pairs

    info = net_inspect(n, "x")
    assert info["firewall"] == {"isolated": True, "masquerade": True, "host_forwarding": False, "table": table}
    p = n("net", "inspect", "x", check=True)
    assert "net.ipv4.ip_forward=0" in p.stderr, p.stderr
    assert net_inspect(n, "y")["firewall"]["masquerade"] is False

    # creating again is refused and changes nothing
    assert n("net", "create", "x", "--subnet", "10.91.3.0/24", "--masquerade").returncode == 125
    assert rules(table, n.ns) == rs

    n("net", "rm", "x", check=True)
    rs = rules(table, n.ns)
    assert not [r for r in rs if r.get("comment", "").startswith("x:")], rs
    assert len(with_comment(rs, "y: isolation")) == 4
    assert not any(r["chain"] == "postrouting" for r in rs)
    n("net", "rm", "y", check=True)
    assert table not in tables(n.ns)
    assert host_forwarding() == before


def ping(n, name, ip):
    return n("exec", name, "--", "ping", "-c1", "-W1", ip, timeout=30).returncode == 0


def test_networks_stay_apart_even_with_forwarding_on(private_ns):
    n = private_ns
    before = host_forwarding()
    n("net", "create", "x", "--subnet", "10.91.1.0/24", check=True)
    n("net", "create", "y", "--subnet", "10.91.2.0/24", check=True)
    for name, net in (("a", "x"), ("a2", "x"), ("b", "y")):
        n("run", "-d", "--name", name, "--net", net, "busybox", "--", "sleep", "120", check=True)
    ip = {name: n.inspect(name)["Network"]["ip"] for name in ("a", "a2", "b")}
    # Forwarding on in the test's namespace only: now the kernel would route x <-> y.
    assert n.sh("echo 1 > /proc/sys/net/ipv4/ip_forward").returncode == 0
    assert n.sh("cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    assert host_forwarding() == before
    assert net_inspect(n, "x")["firewall"]["host_forwarding"] is True

    assert ping(n, "a", ip["a2"])       # the same network works
    assert not ping(n, "a", ip["b"])    # the other network does not
    assert not ping(n, "b", ip["a"])
    table = net_inspect(n, "x")["firewall"]["table"]
    drops = with_comment(rules(table, n.ns), "x: isolation")
    assert sum(r["expr"][2]["counter"]["packets"] for r in drops) >= 1, drops

    # The control: without nook's table the host routes between the networks.
    assert n.sh(f"nft delete table inet {table}").returncode == 0
    assert net_inspect(n, "x")["firewall"]["isolated"] is False
    assert wait_for(lambda: ping(n, "a", ip["b"]), timeout=10)
    assert ping(n, "b", ip["a"])

    # The next start puts the rules back before its container joins.
    n("run", "--rm", "--net", "y", "busybox", "--", "true", check=True)
    assert net_inspect(n, "x")["firewall"]["isolated"] is True
    assert not ping(n, "a", ip["b"])
    assert not ping(n, "b", ip["a"])
    assert ping(n, "a", ip["a2"])


def test_each_root_has_its_own_default_network(nook, second_root):
    a, b = uniq("da"), uniq("db")
    for n, name in ((nook, a), (second_root, b)):
        n("run", "-d", "--name", name, "busybox", "--", "sleep", "60", check=True)
    one, two = net_inspect(nook, "nook"), net_inspect(second_root, "nook")
    assert one["bridge"] != two["bridge"]
    assert "nook0" not in (one["bridge"], two["bridge"])
    assert not ipaddress.ip_network(one["subnet"]).overlaps(ipaddress.ip_network(two["subnet"]))
    links = host_links()
    assert one["bridge"] in links and two["bridge"] in links
    # and neither overlaps the host's own nook0 network, if /var/lib/nook has one
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "nook0"], capture_output=True,
                         text=True).stdout
    for block in re.findall(r"inet (\S+)", out):
        assert not ipaddress.ip_interface(block).network.overlaps(ipaddress.ip_network(one["subnet"]))
    # the members of one cannot reach the other's (they are two networks, and isolated)
    ip_b = second_root.inspect(b)["Network"]["ip"]
    assert nook("exec", a, "--", "ping", "-c1", "-W1", ip_b).returncode != 0
    # each root's firewall table holds its default network's rules until it goes
    table = one["firewall"]["table"]
    assert one["firewall"]["isolated"] is True and one["firewall"]["masquerade"] is False
    assert table != two["firewall"]["table"]
    nook("rm", "-f", a, check=True, timeout=30)
    nook("net", "rm", "nook", check=True)
    assert wait_for(lambda: one["bridge"] not in host_links(), timeout=5)
    if shutil.which("nft"):
        assert table not in tables()
