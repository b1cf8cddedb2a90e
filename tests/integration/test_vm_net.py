"""VMs on nook networks: a tap on the network's bridge, an address from its IPAM handed
to the guest (nook.ip, nook.gw, nook.mac), virtio-net on the tap. The test guest ARPs the
gateway and sends a UDP broadcast that a container on the same network receives.

Traffic stays on networks these tests create (see test_network.py)."""
import glob
import ipaddress
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import NOOK
from test_network import host_links, members, mknet, uniq, wait_for  # noqa: F401 (mknet is a fixture)

GUEST = os.path.join(os.path.dirname(NOOK), "build", "vm-guest", "guest.bin")
PORT = 5353
LISTENER = ("import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"s.bind(('', {PORT}))\n"
            "print('listening', flush=True)\n"
            "data, peer = s.recvfrom(256)\n"
            "print('got', peer[0], data.decode().strip(), flush=True)\n")


@pytest.fixture(scope="module", autouse=True)
def guest():
    subprocess.run(["make", "-s", "build/vm-guest/guest.bin"], cwd=os.path.dirname(NOOK), check=True)


def link_master(name):
    out = subprocess.run(["ip", "-o", "link", "show", name], capture_output=True, text=True).stdout
    m = re.search(r"master (\S+)", out)
    return m.group(1) if m else None


def guest_says(nook, name, text):
    return wait_for(lambda: text in nook("logs", name).stdout, timeout=20)


def test_vm_and_container_share_a_network(nook, mknet):
    net, subnet = mknet("vn")
    sn = ipaddress.ip_network(subnet)
    listener, vm = uniq("lis"), uniq("vm")
    # A container on the network waits for one UDP datagram (python: busybox's nc has no -u).
    nook("run", "-d", "--name", listener, "--net", net, "host", "--", "/usr/bin/python3", "-u", "-c", LISTENER,
         check=True)
    assert guest_says(nook, listener, "listening")
    nook("run", "-d", "--vm", "--kernel", GUEST, "--name", vm, "--net", net,
         "--cmdline", f"virtio=net virtio_udp={PORT} nook.wait_stop=1", "busybox", check=True)
    assert guest_says(nook, vm, "waiting for ctrl-alt-del"), nook("logs", vm).stdout
    log = nook("logs", vm).stdout
    assert "FAIL" not in log, log
    st = nook.state(vm)
    ip, tap = st["ip"], st["host_if"]
    gw = str(sn.network_address + 1)
    assert ipaddress.ip_address(ip) in sn and members(nook, net)[vm] == ip
    # The guest got its address on the command line, and the MAC virtio-net reports.
    mac = "52:54:00:%02x:%02x:%02x" % tuple(ipaddress.ip_address(ip).packed[1:])
    assert f"nook.ip={ip}/{sn.prefixlen} nook.gw={gw} nook.mac={mac}" in log
    assert f"virtio-net: mac {mac} ok" in log
    # Both ways over the bridge: the gateway answered the guest's ARP, the container got
    # the guest's broadcast from the guest's address.
    assert "virtio-net: receive the ARP reply ok" in log
    assert "virtio-net: send a UDP broadcast ok" in log
    assert guest_says(nook, listener, f"got {ip} hello from nook-vm"), nook("logs", listener).stdout
    # The tap is the VM's wire on the network's bridge; its counters are the VM's traffic.
    assert tap.startswith("nkt") and link_master(tap) == "nk-" + net
    row = json.loads(nook("stats", "--json", vm, check=True).stdout)[0]
    assert row["net_tx_packets"] >= 2 and row["net_tx_bytes"] >= 60 + 61
    assert row["net_rx_packets"] >= 1
    info = nook.inspect(vm)["Network"]
    assert info == {"network": net, "ip": ip, "host_interface": tap}
    # Containers of the network reach the VM by name.
    hosts_file = os.path.join(nook.root, "instances", listener, "etc", "hosts")
    sleeper = uniq("sl")
    nook("run", "-d", "--name", sleeper, "--net", net, "busybox", "--", "sleep", "60", check=True)
    hosts = nook("exec", sleeper, "--", "cat", "/etc/hosts", check=True).stdout
    assert re.search(rf"^{re.escape(ip)}\s+{vm}$", hosts, re.M), hosts
    nook("stop", vm, check=True, timeout=30)
    # Stopped: the tap is gone, the lease released, the name gone from the others' hosts.
    assert wait_for(lambda: tap not in host_links(), timeout=5)
    assert vm not in members(nook, net)
    assert vm not in nook("exec", sleeper, "--", "cat", "/etc/hosts", check=True).stdout
    assert os.path.exists(hosts_file)
    assert nook.state(vm)["exit_reason"] == "reset"


def test_a_lost_monitor_leaves_no_tap_or_lease(nook, mknet):
    net, _ = mknet("vl")
    vm = uniq("vml")
    nook("run", "-d", "--vm", "--kernel", GUEST, "--name", vm, "--net", net, "--cmdline", "nook.wait_stop=1",
         "busybox", check=True)
    assert guest_says(nook, vm, "waiting for ctrl-alt-del")
    st = nook.state(vm)
    assert st["host_if"] in host_links() and vm in members(nook, net)
    os.kill(st["monitor_pid"], signal.SIGKILL)
    # The tap lived on the monitor's fd; the next command reconciles the rest.
    assert wait_for(lambda: st["host_if"] not in host_links(), timeout=5)
    assert wait_for(lambda: not os.path.exists(f"/proc/{st['monitor_pid']}"), timeout=10)  # reaped
    assert nook("ls", "-a", check=True).returncode == 0
    assert nook.state(vm)["exit_reason"] == "monitor-lost"
    assert vm not in members(nook, net)


def test_rm_vm_on_a_network_leaves_nothing(nook, mknet):
    net, _ = mknet("vr")
    vm = uniq("vmr")
    before = set(host_links())
    p = nook("run", "--rm", "--vm", "--kernel", GUEST, "--name", vm, "--net", net, "--cmdline", "virtio=net",
             "busybox", timeout=60)
    assert p.returncode == 0, p.stderr
    assert "virtio-net result=0 ok" in p.stdout and "receive the ARP reply ok" in p.stdout
    assert nook.instances() == [] and members(nook, net) == {}
    assert not [link for link in set(host_links()) - before if link.startswith("nkt")]
    assert not glob.glob(f"/sys/fs/cgroup/*/nook/{vm}@*") and not glob.glob(f"/sys/fs/cgroup/nook/{vm}@*")


def test_vm_cannot_use_the_hosts_network(nook):
    p = nook("run", "--rm", "--vm", "--kernel", GUEST, "--net", "host", "busybox")
    assert p.returncode == 125 and "cannot share the host's network" in p.stderr
    assert nook.instances() == []
