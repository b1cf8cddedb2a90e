"""Networking: --net none/host/bridge/NAME, nook's own networks, /etc files, published
ports, leases, links and traffic counters.

Traffic stays on the host's loopback and between containers of networks these tests
create; nothing here enables forwarding or NAT, or sends anywhere else.

Several things are host-wide while NOOK_ROOT is not: bridges (nk-NAME), the
containers' veth names (derived from the instance name) and cgroups. Other test files
run in parallel with their own roots, so every network and instance made here carries
a tag from this process's pid, and each network gets a subnet no host address uses.
Each test's root has a default network of its own (bridge nook<hash>, a /24 of
10.87.0.0/16); the host's nook0 belongs to /var/lib/nook.

Firewall rules (table inet nook-<hash>) are programmed on the host by these tests only
for networks without masquerade; test_firewall.py checks masquerade and forwarding in
network namespaces it makes.
"""
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import Nook, remove_networks
from nooktest import wait_for

TAG = f"n{os.getpid() % 100000}"  # at most 6 characters: room for a suffix in 12
_serial = itertools.count()


def uniq(word):
    """A name no other root on this host uses: instance and network names are host-wide
    through their bridges, veths and cgroups."""
    return f"{TAG}{word}"


def host_links():
    """{name: alias} of the host's links, from `ip -o link`."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return parse_links(out)


def parse_links(text):
    links = {}
    for line in text.splitlines():
        m = re.match(r"\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:", line)
        if not m:
            continue
        alias = re.search(r"\\\s+alias (.*)$", line)
        links[m.group(1)] = alias.group(1).strip() if alias else ""
    return links


def host_subnets():
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout
    return [ipaddress.ip_interface(m).network for m in re.findall(r"inet (\S+)", out)]


def free_subnet(prefix=24):
    """A 10.91.X.0/prefix that no host address is in, X spread by pid and call."""
    used = host_subnets()
    start = os.getpid() + 37 * next(_serial)
    for i in range(256):
        x = (start + i) % 250 + 1
        net = ipaddress.ip_network(f"10.91.{x}.0/{prefix}")
        if not any(net.overlaps(u) for u in used):
            return str(net)
    pytest.fail("no free 10.91.X.0/24 on this host")


def loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def net_inspect(nook, name):
    return json.loads(nook("net", "inspect", name, check=True).stdout)


def members(nook, network):
    return {m["instance"]: m["ip"] for m in net_inspect(nook, network)["instances"]}


def stats(nook, name):
    return json.loads(nook("stats", "--json", name, check=True).stdout)[0]


def ls_json(nook):
    return {i["name"]: i for i in json.loads(nook("ls", "-a", "--json", check=True).stdout)}


def exec_out(nook, name, *cmd, timeout=30):
    return nook("exec", name, "--", *cmd, check=True, timeout=timeout).stdout


def sleeper(nook, name, net, *extra, seconds=60):
    nook("run", "-d", "--name", name, "--net", net, *extra, "busybox", "--", "sleep", str(seconds),
         check=True)
    return nook.inspect(name)["Network"]["ip"]


@pytest.fixture
def mknet(nook):
    """mknet(word, prefix=24) -> (network name, subnet); removed afterwards, and its
    bridge must be gone from the host."""
    made = []

    def make(word, prefix=24):
        name, subnet = uniq(word), free_subnet(prefix)
        p = nook("net", "create", name, "--subnet", subnet)
        assert p.returncode == 0, p.stderr
        assert p.stdout == name + "\n"
        made.append(name)
        return name, subnet

    yield make
    for name in made:
        if nook("net", "inspect", name).returncode != 0:
            continue  # the test removed it
        for inst in members(nook, name):
            nook("rm", "-f", inst, timeout=30)
        p = nook("net", "rm", name, timeout=30)
        assert p.returncode == 0, p.stderr
    assert wait_for(lambda: not any("nk-" + n in host_links() for n in made), timeout=5), \
        f"bridges left on the host: {[n for n in made if 'nk-' + n in host_links()]}"


@pytest.fixture
def second_root(nook):
    """Another NOOK_ROOT on the same host, as a parallel test or user would have."""
    base = tempfile.mkdtemp(prefix="nook-test-net2-")
    root, run = os.path.join(base, "root"), os.path.join(base, "run")
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(run)
    shutil.copytree(os.path.join(nook.root, "images", "busybox"), os.path.join(root, "images", "busybox"),
                    symlinks=True)
    other = Nook(root, run)
    try:
        yield other
    finally:
        for name in other.instances():
            other("rm", "-f", name, timeout=30)
        remove_networks(other)
        shutil.rmtree(base, ignore_errors=True)


def test_net_none_has_only_loopback_up(nook):
    p = nook("run", "--rm", "--net", "none", "busybox", "--", "sh", "-c",
             "ip -o link; echo ---; ip -o -4 addr; echo ---; ip route")
    assert p.returncode == 0, p.stderr
    links, addrs, routes = p.stdout.split("---\n")
    assert list(parse_links(links)) == ["lo"]
    assert "UP" in re.search(r"<([^>]*)>", links).group(1).split(",")
    assert re.findall(r"inet (\S+)", addrs) == ["127.0.0.1/8"]
    assert routes.strip() == ""
    assert nook.instances() == []


def test_default_bridge_gives_eth0_its_lease_and_a_default_route(nook):
    name = uniq("dflt")
    ip = sleeper(nook, name, "bridge")
    net = nook.inspect(name)["Network"]
    assert net["network"] == "nook"
    default = net_inspect(nook, "nook")
    # A private root: its own bridge, not the host's nook0 that /var/lib/nook uses.
    assert re.fullmatch(r"nook[0-9a-f]{8}", default["bridge"]), default["bridge"]
    assert default["bridge"] in host_links()
    subnet = ipaddress.ip_network(default["subnet"])
    if not os.environ.get("NOOK_DEFAULT_SUBNET"):
        assert subnet.prefixlen == 24 and subnet.subnet_of(ipaddress.ip_network("10.87.0.0/16")), subnet
    assert ipaddress.ip_address(ip) in subnet
    assert default["gateway"] == str(subnet.network_address + 1)
    assert {m["instance"]: m["ip"] for m in default["instances"]} == {name: ip}
    assert net["host_interface"].startswith("nkv")
    # Labelled with its instance (and, for a private NOOK_ROOT, a hash of that root).
    assert host_links().get(net["host_interface"], "").split("@")[0] == name

    addr = exec_out(nook, name, "ip", "-o", "-4", "addr", "show", "eth0")
    assert re.findall(r"inet (\S+)", addr) == [f"{ip}/{subnet.prefixlen}"]
    assert "UP" in exec_out(nook, name, "ip", "-o", "link", "show", "eth0").split(">")[0]
    routes = exec_out(nook, name, "ip", "route").splitlines()
    assert any(re.match(rf"default via {re.escape(default['gateway'])} dev eth0\b", r) for r in routes), routes

    row = ls_json(nook)[name]
    assert row["ip"] == ip
    assert re.search(rf"^{re.escape(name)}\s.*\s{re.escape(ip)}\s", nook("ls", check=True).stdout, re.M)

    # The /etc files: hostname, hosts with itself, the host's resolvers minus loopback ones.
    assert exec_out(nook, name, "cat", "/etc/hostname") == name + "\n"
    hosts = exec_out(nook, name, "cat", "/etc/hosts")
    assert re.search(rf"^127\.0\.0\.1\s+localhost\b", hosts, re.M)
    assert re.search(rf"^{re.escape(ip)}\s+{re.escape(name)}$", hosts, re.M), hosts
    resolv = exec_out(nook, name, "cat", "/etc/resolv.conf")
    inside = re.findall(r"^nameserver\s+(\S+)", resolv, re.M)
    with open("/etc/resolv.conf") as f:
        host = re.findall(r"^nameserver\s+(\S+)", f.read(), re.M)
    assert inside == [s for s in host if not s.startswith("127.") and s != "::1"]


def test_members_reach_each_other_by_name_and_over_tcp(nook, mknet):
    net, _ = mknet("ab")
    a, b = uniq("a"), uniq("b")
    nook("run", "-d", "--name", a, "--net", net, "busybox", "--", "sh", "-c",
         "sleep 60 | nc -l -p 5000 > /tmp/got; sleep 60", check=True)
    ip_b = sleeper(nook, b, net)
    assert nook("exec", b, "--", "ping", "-c1", "-W2", a).returncode == 0
    # a started first: its /etc/hosts learned b afterwards.
    assert nook("exec", a, "--", "ping", "-c1", "-W2", b).returncode == 0
    assert ip_b in exec_out(nook, a, "cat", "/etc/hosts")

    def send():
        return nook("exec", b, "--", "sh", "-c", f"echo hi | nc {a} 5000", timeout=10).returncode == 0

    assert wait_for(send, timeout=5, step=0.1), "nc could not connect to the listener"
    assert wait_for(lambda: exec_out(nook, a, "cat", "/tmp/got") == "hi\n", timeout=5)


def test_two_networks_cannot_reach_each_other(nook, mknet):
    # Whether the host forwards or not (test_firewall.py turns forwarding on in a
    # namespace of its own to show the firewall is what holds).
    x, _ = mknet("x")
    y, _ = mknet("y")
    a, b, c = uniq("xa"), uniq("xb"), uniq("yc")
    sleeper(nook, a, x)
    ip_b = sleeper(nook, b, x)
    ip_c = sleeper(nook, c, y)
    assert nook("exec", a, "--", "ping", "-c1", "-W2", ip_b).returncode == 0  # the control
    assert nook("exec", a, "--", "ping", "-c1", "-W1", ip_c).returncode != 0
    assert nook("exec", c, "--", "ping", "-c1", "-W1", ip_b).returncode != 0
    # Nor do they know each other's names (a lookup of an unknown name would go to the
    # host's resolvers, so it is not tried).
    assert c not in exec_out(nook, a, "cat", "/etc/hosts")
    assert a not in exec_out(nook, c, "cat", "/etc/hosts")


def test_hosts_file_follows_members_as_they_come_and_go(nook, mknet):
    net, _ = mknet("h")
    a, b = uniq("ha"), uniq("hb")
    ip_a = sleeper(nook, a, net)

    def line_for(inst, ip):
        return re.compile(rf"^{re.escape(ip)}\s+{re.escape(inst)}$", re.M)

    hosts = exec_out(nook, a, "cat", "/etc/hosts")
    assert line_for(a, ip_a).search(hosts) and b not in hosts
    ip_b = sleeper(nook, b, net)
    # Read from inside: the bind-mounted file is rewritten in place, not replaced.
    assert wait_for(lambda: line_for(b, ip_b).search(exec_out(nook, a, "cat", "/etc/hosts")), timeout=5)
    assert line_for(a, ip_a).search(exec_out(nook, b, "cat", "/etc/hosts"))
    nook("stop", b, check=True, timeout=30)
    assert wait_for(lambda: b not in exec_out(nook, a, "cat", "/etc/hosts"), timeout=5), \
        exec_out(nook, a, "cat", "/etc/hosts")
    assert members(nook, net) == {a: ip_a}  # the stopped member's lease went with it
    assert ls_json(nook)[b]["ip"] == ""


def test_net_create_ls_inspect_rm(nook, mknet):
    net, subnet = mknet("c")
    sn = ipaddress.ip_network(subnet)
    gw = str(sn.network_address + 1)
    info = net_inspect(nook, net)
    fw = info.pop("firewall")
    assert info == {"name": net, "subnet": subnet, "gateway": gw, "bridge": "nk-" + net,
                    "masquerade": False, "instances": []}
    assert fw["isolated"] is True and fw["masquerade"] is False, fw
    assert re.fullmatch(r"nook-[0-9a-f]{8}", fw["table"]), fw
    ls = nook("net", "ls", check=True).stdout
    assert re.search(rf"^{net}\s+{re.escape(subnet)}\s+{re.escape(gw)}\s+nk-{net}\s+0$", ls, re.M), ls

    again = nook("net", "create", net, "--subnet", free_subnet())
    assert again.returncode == 125 and "already exists" in again.stderr
    for overlap in (str(next(sn.subnets(new_prefix=25))), str(sn.supernet(new_prefix=16))):
        p = nook("net", "create", uniq("o"), "--subnet", overlap)
        assert p.returncode == 125, overlap
        assert "overlaps" in p.stderr and net in p.stderr, p.stderr
    for bad in ("10.91.300.0/24", "10.91.1.0", "10.91.1.5/24", "10.91.1.0/33", "abc", "",
                "10.91.1.0/31"):
        p = nook("net", "create", uniq("bad"), "--subnet", bad)
        assert p.returncode == 125, bad
        assert p.stderr.startswith("nook: ") and "subnet" in p.stderr, p.stderr
    p = nook("net", "create", uniq("nos"))
    assert p.returncode == 125 and "needs a subnet" in p.stderr
    long = uniq("x" * (13 - len(TAG)))
    assert len(long) == 13
    p = nook("net", "create", long, "--subnet", free_subnet())
    assert p.returncode == 125 and "limit is 12" in p.stderr, p.stderr
    for name in (uniq("o"), uniq("bad"), uniq("nos"), long):
        assert nook("net", "inspect", name).returncode == 125
        assert name not in nook("net", "ls", check=True).stdout
    assert not os.path.exists(os.path.join(nook.root, "net", long))

    # Twelve characters fit (nk- plus twelve is fifteen). (Masquerade is never
    # programmed on the host: test_firewall.py checks it in a namespace of its own.)
    twelve = uniq("y" * (12 - len(TAG)))
    p = nook("net", "create", twelve, "--subnet", free_subnet())
    assert p.returncode == 0, p.stderr
    try:
        # A member brings the bridge up; while it holds a lease, rm is refused.
        inst = uniq("m")
        ip = sleeper(nook, inst, twelve)
        assert "nk-" + twelve in host_links()
        assert members(nook, twelve) == {inst: ip}
        p = nook("net", "rm", twelve)
        assert p.returncode == 125 and "in use" in p.stderr and inst in p.stderr, p.stderr
        assert net_inspect(nook, twelve)["instances"] == [{"instance": inst, "ip": ip}]
        assert "nk-" + twelve in host_links()
        nook("rm", "-f", inst, check=True, timeout=30)
    finally:
        p = nook("net", "rm", twelve, timeout=30)
    assert p.returncode == 0 and p.stdout == twelve + "\n", p.stderr
    assert wait_for(lambda: "nk-" + twelve not in host_links(), timeout=5)
    assert nook("net", "inspect", twelve).returncode == 125
    assert twelve not in nook("net", "ls", check=True).stdout
    assert nook("net", "rm", twelve).returncode == 125  # gone already

    p = nook("net", "rm", net, check=True)
    assert wait_for(lambda: "nk-" + net not in host_links(), timeout=5)


def test_run_on_an_unknown_network_creates_nothing(nook):
    for net in (uniq("nosuch"), "bad/name"):
        name = uniq("u")
        p = nook("run", "-d", "--name", name, "--net", net, "busybox", "--", "true")
        assert p.returncode == 125, (net, p.stderr)
        assert net in p.stderr
        assert nook.instances() == []
        assert name not in host_links().values()
    assert "no such network" in nook("run", "--net", uniq("nosuch"), "busybox", "--", "true").stderr
    assert not os.path.exists(os.path.join(nook.root, "net", uniq("nosuch")))


def test_a_full_subnet_refuses_the_next_member_and_leaves_nothing(nook, mknet):
    net, subnet = mknet("f", prefix=29)
    sn = ipaddress.ip_network(subnet)
    names = [uniq(f"f{i}") for i in range(6)]
    ips = [sleeper(nook, n, net) for n in names[:5]]
    # A /29 holds 8 addresses: network, gateway (.1), broadcast, and 5 for members.
    assert sorted(ips, key=ipaddress.ip_address) == [str(sn.network_address + i) for i in range(2, 7)]
    p = nook("run", "-d", "--name", names[5], "--net", net, "busybox", "--", "sleep", "60")
    assert p.returncode == 125
    assert "no free address" in p.stderr and net in p.stderr, p.stderr
    assert nook.instances() == sorted(names[:5])
    assert members(nook, net) == dict(zip(names[:5], ips))
    assert sorted(os.listdir(os.path.join(nook.root, "net", net, "leases")), key=ipaddress.ip_address) == \
        sorted(ips, key=ipaddress.ip_address)
    assert names[5] not in host_links().values()
    # A freed address is the next member's.
    nook("rm", "-f", names[2], check=True, timeout=30)
    assert sleeper(nook, names[5], net) == ips[2]


def test_published_port_reaches_the_container(nook, mknet):
    net, _ = mknet("p")
    name = uniq("web")
    p1, p2 = loopback_port(), loopback_port()
    nook("run", "-d", "--name", name, "--net", net, "-p", f"127.0.0.1:{p1}:80", "-p", f"{p2}:80/tcp",
         "busybox", "--", "sh", "-c",
         "mkdir -p /www && echo hello-from-nook > /www/index.html && exec httpd -f -p 80 -h /www", check=True)

    def get(port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return None

    assert wait_for(lambda: get(p1), timeout=5) == "hello-from-nook\n"
    assert get(p2) == "hello-from-nook\n"
    # The host port is taken by the forwarder: another instance cannot have it.
    other = uniq("web2")
    p = nook("run", "-d", "--name", other, "--net", net, "-p", f"{p1}:80", "busybox", "--", "sleep", "60")
    assert p.returncode == 125 and "already in use" in p.stderr, p.stderr
    assert nook.instances() == [name]
    assert list(members(nook, net)) == [name]
    nook("rm", "-f", name, check=True, timeout=30)

    def port_free():
        with socket.socket() as s:
            # As a listener would: the connections just made may linger in TIME_WAIT.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", p1))
                s.listen(1)
                return True
            except OSError:
                return False

    assert wait_for(port_free, timeout=5), f"port {p1} still taken after rm"


def test_bad_publish_requests_are_refused_and_create_nothing(nook, mknet):
    net, _ = mknet("q")
    name = uniq("q")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        free = loopback_port()
        cases = [
            (["--net", net, "-p", f"{port}:80"], "already in use"),
            (["--net", net, "-p", f"{free}:80/sctp"], "unknown protocol"),
            (["--net", net, "-p", f"0.0.0.0:{free}:80"], "loopback"),
            (["--net", net, "-p", f"192.0.2.1:{free}:80"], "loopback"),
            (["--net", net, "-p", f"{free}"], "-p"),
            (["--net", "none", "-p", f"{free}:80"], "bridge"),
            (["--net", "host", "-p", f"{free}:80"], "bridge"),
        ]
        for args, words in cases:
            p = nook("run", "-d", "--name", name, *args, "busybox", "--", "sleep", "60")
            assert p.returncode == 125, (args, p.stderr)
            assert words in p.stderr, (args, p.stderr)
            assert nook.instances() == [], args
            assert members(nook, net) == {}, args
            assert name not in host_links().values(), args


def test_net_host_is_flagged_and_sees_the_hosts_links(nook):
    name = uniq("host")
    nook("run", "-d", "--name", name, "--net", "host", "busybox", "--", "sleep", "60", check=True)
    info = nook.inspect(name)
    assert info["Network"]["network"] == "host"
    assert info["Network"]["ip"] == ""
    assert any("not isolated" in w for w in info["Warnings"]), info["Warnings"]
    assert ls_json(nook)[name]["ip"] == ""
    # Other tests add and remove links meanwhile: retry until one reading agrees.
    for _ in range(10):
        before = set(host_links())
        inside = set(parse_links(exec_out(nook, name, "ip", "-o", "link")))
        after = set(host_links())
        if inside in (before, after):
            break
    assert inside == after or inside == before, (inside, after)
    assert "lo" in inside and len(inside) > 1


def test_leases_are_freed_on_rm_and_after_a_lost_monitor(nook, mknet):
    net, _ = mknet("l")
    a, b = uniq("la"), uniq("lb")
    ip_a, ip_b = sleeper(nook, a, net), sleeper(nook, b, net)
    veth_a = nook.inspect(a)["Network"]["host_interface"]
    veth_b = nook.inspect(b)["Network"]["host_interface"]
    assert members(nook, net) == {a: ip_a, b: ip_b}
    nook("rm", "-f", a, check=True, timeout=30)
    assert members(nook, net) == {b: ip_b}
    assert wait_for(lambda: veth_a not in host_links(), timeout=10), f"{veth_a} is still on the host"

    st = nook.state(b)
    os.kill(st["monitor_pid"], signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists(f"/proc/{st['monitor_pid']}/status") or
                    "State:\tZ" in open(f"/proc/{st['monitor_pid']}/status").read(), timeout=5)
    nook("ls", "-a", check=True)  # reconciles
    row = ls_json(nook)[b]
    assert row["state"] == "stopped" and row["exit_reason"] == "monitor-lost", row
    assert members(nook, net) == {}
    assert os.listdir(os.path.join(nook.root, "net", net, "leases")) == []
    assert wait_for(lambda: veth_b not in host_links(), timeout=10), f"{veth_b} is still on the host"
    # A stopped instance holds no address, and nook should not claim it does.
    assert row["ip"] == "", f"ls shows {row['ip']} for {b}, whose lease was released"
    assert nook.inspect(b)["Network"]["ip"] == ""


def test_twenty_containers_leave_the_hosts_links_as_they_were(nook, mknet):
    before = host_links()
    net, _ = mknet("t")
    names = [uniq(f"t{i}") for i in range(20)]
    veths = set()
    for i, name in enumerate(names):
        if i % 2:
            p = nook("run", "--rm", "--name", name, "--net", net, "busybox", "--", "ip", "-o", "-4", "addr",
                     "show", "eth0")
            assert p.returncode == 0 and "inet " in p.stdout, p.stderr
        else:
            sleeper(nook, name, net)
            veths.add(nook.inspect(name)["Network"]["host_interface"])
            nook("rm", "-f", name, check=True, timeout=30)
    assert nook.instances() == []
    assert members(nook, net) == {}
    nook("net", "rm", net, check=True)
    mine = set(names)

    def leftovers():
        # Links of other tests' instances come and go meanwhile; ours are known by their
        # alias (the instance), their recorded name, or the bridge.
        now = host_links()
        return sorted(l for l, alias in now.items() if l not in before and
                      (alias in mine or l in veths or l == "nk-" + net or
                       (l.startswith("nkv") and not alias)))

    assert wait_for(lambda: not leftovers(), timeout=15), f"links left behind: {leftovers()}"
    # Other roots' veths and bridges may go meanwhile; anything else must still be there.
    gone = sorted(l for l in set(before) - set(host_links()) if not l.startswith(("nkv", "nk-")))
    assert gone == [], f"host links that went away: {gone}"


def test_stats_count_network_traffic(nook, mknet):
    net, _ = mknet("s")
    a, b = uniq("sa"), uniq("sb")
    # The listener's stdin never ends (busybox nc quits at its end of stdin); b streams
    # to it, a steady 200 kB every 50 ms, while stats samples.
    nook("run", "-d", "--name", a, "--net", net, "busybox", "--", "sh", "-c",
         "sleep 60 | nc -l -p 5000 > /dev/null; sleep 60", check=True)
    quiet_a = stats(nook, a)
    for key in ("net_rx_bytes", "net_tx_bytes", "net_rx_rate", "net_tx_rate"):
        assert key in quiet_a, quiet_a
    assert quiet_a["net_rx_bytes"] < 1_000_000
    nook("run", "-d", "--name", b, "--net", net, "busybox", "--", "sh", "-c",
         # Until the listener is up, nc fails and the writer dies of SIGPIPE: try again.
         f"while :; do (while :; do head -c 200000 /dev/zero; sleep 0.05; done) | nc {a} 5000; "
         f"sleep 0.1; done", check=True)
    assert wait_for(lambda: stats(nook, a)["net_rx_bytes"] > 2_000_000, timeout=10), stats(nook, a)
    sa, sb = stats(nook, a), stats(nook, b)
    assert sb["net_tx_bytes"] > 2_000_000, sb
    assert sa["net_rx_rate"] > 100_000 and sb["net_tx_rate"] > 100_000, (sa, sb)
    assert sa["net_tx_bytes"] < sa["net_rx_bytes"]  # acknowledgements only


def test_same_instance_name_in_another_root_leaves_the_first_connected(nook, mknet, second_root):
    # Bridges and veths are host-wide; instance names are only unique within a root.
    x, _ = mknet("ra")
    other_net = uniq("rb")
    second_root("net", "create", other_net, "--subnet", free_subnet(), check=True)
    name, peer = uniq("same"), uniq("peer")
    sleeper(nook, name, x)
    ip_peer = sleeper(nook, peer, x)
    assert nook("exec", name, "--", "ping", "-c1", "-W2", ip_peer).returncode == 0
    sleeper(second_root, name, other_net)
    assert "eth0" in parse_links(exec_out(nook, name, "ip", "-o", "link")), \
        f"{name} lost eth0 when another root started an instance of the same name"
    assert nook("exec", name, "--", "ping", "-c1", "-W2", ip_peer).returncode == 0


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b"echo:" + d, a)
"""


def test_udp_port_is_published_on_loopback(nook, mknet):
    # The host image has python3: a UDP echo server inside the container, on a test network.
    net, _ = mknet("u")
    name = uniq("udp")
    port = loopback_port()
    nook("run", "-d", "--name", name, "--net", net, "-p", f"{port}:5353/udp", "host", "--",
         "python3", "-c", UDP_ECHO, check=True)
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.settimeout(0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(replies) < 2:
            c.sendto(b"ping%d" % len(replies), ("127.0.0.1", port))
            try:
                data, addr = c.recvfrom(100)
            except socket.timeout:
                continue
            replies.append(data)
            assert addr == ("127.0.0.1", port)
    assert replies == [b"echo:ping0", b"echo:ping1"]
