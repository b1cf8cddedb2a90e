/* A VM on a nook network: lease, tap on the bridge, virtio-net, and the guest's address on
 * its kernel command line (nook.ip, nook.gw, nook.mac: what the guest's /init reads). */
#include "vm-net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio-net.h"
#include "instance-net.h"
#include "net/cidr.h"

void nk_vm_net_mac(uint32_t addr, uint8_t mac[6])
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(addr >> 16);
	mac[4] = (uint8_t)(addr >> 8);
	mac[5] = (uint8_t)addr;
}

/* virtio-net's receive side on the VM's I/O thread: frames from the tap into the guest;
 * while the guest has no buffers, stop watching the tap until it posts some. */
static void tap_readable(void *opaque, int fd)
{
	struct nk_vm_net *vn = opaque;
	if (nk_virtio_net_poll_rx(vn->dev) == -ENOBUFS)
		nk_vm_watch_enable(vn->vm, fd, 0);
}

static void rx_wake(void *opaque)
{
	struct nk_vm_net *vn = opaque;
	nk_vm_watch_enable(vn->vm, vn->tap.fd, 1);
}

static int guest_cmdline(struct nk_vm_net *vn, struct nk_err *err)
{
	char ip[16], gw[16], arg[128];
	if (nk_ip4_format(vn->at.addr, ip, sizeof(ip)) < 0 || nk_ip4_format(vn->at.gateway, gw, sizeof(gw)) < 0)
		return nk_err_msg(err, EINVAL, "cannot format the VM's address");
	snprintf(arg, sizeof(arg), "nook.ip=%s/%u nook.gw=%s nook.mac=%02x:%02x:%02x:%02x:%02x:%02x", ip,
		 vn->at.prefix, gw, vn->mac[0], vn->mac[1], vn->mac[2], vn->mac[3], vn->mac[4], vn->mac[5]);
	return nk_vm_cmdline_append(vn->vm, arg, err);
}

static int plug(struct nk_vm_net *vn, struct nk_nl *nl, const struct nk_paths *paths, const struct nk_spec *spec,
		struct nk_err *err)
{
	struct nk_network net;
	char key[160];
	int bridge, r;
	nk_net_link_key(paths->root, spec->name, key, sizeof(key));
	if ((r = nk_network_open(paths->root, spec->network, &net, err)) < 0 ||
	    (r = nk_ipam_allocate(paths->root, &net, spec->name, &vn->at.addr, err)) < 0)
		return r;
	vn->leased = 1;
	snprintf(vn->at.network, sizeof(vn->at.network), "%s", net.name);
	snprintf(vn->at.bridge, sizeof(vn->at.bridge), "%s", net.bridge);
	vn->at.gateway = net.gateway;
	vn->at.prefix = net.subnet.prefix;
	/* The tap is named from the root-scoped key: two NOOK_ROOTs may both have a "web". */
	if ((r = nk_bridge_ensure(nl, &net, &bridge, err)) < 0 || (r = nk_tap_create(nl, key, bridge, &vn->tap, err)) < 0)
		return r;
	snprintf(vn->at.host_if, sizeof(vn->at.host_if), "%s", vn->tap.name);
	vn->at.host_ifindex = vn->tap.ifindex;
	nk_vm_net_mac(vn->at.addr, vn->mac);
	struct nk_virtio_net_cfg cfg = {.tap_fd = vn->tap.fd, .rx_wake = rx_wake, .rx_wake_opaque = vn};
	memcpy(cfg.mac, vn->mac, sizeof(cfg.mac));
	if ((r = nk_virtio_net_create(&cfg, &vn->dev, err)) < 0 ||
	    (r = nk_vm_attach_virtio(vn->vm, "virtio-net", nk_virtio_net_dev(vn->dev), NULL, NULL, err)) < 0 ||
	    (r = nk_vm_watch_fd(vn->vm, vn->tap.fd, tap_readable, vn, err)) < 0)
		return r;
	return guest_cmdline(vn, err);
}

int nk_vm_net_attach(struct nk_vm_net *vn, const struct nk_paths *paths, const struct nk_spec *spec,
		     struct nk_vm *vm, struct nk_err *err)
{
	memset(vn, 0, sizeof(*vn));
	vn->tap.fd = -1;
	vn->vm = vm;
	if (!nk_instance_net_bridged(spec))
		return 0;
	struct nk_nl *nl;
	int r = nk_nl_open(&nl, err);
	if (r < 0)
		return r;
	r = plug(vn, nl, paths, spec, err);
	nk_nl_close(nl);
	if (r < 0) {
		/* The device may already be on the VM: it is freed with it (nk_vm_net_close after
		 * nk_vm_destroy); the lease goes now. */
		struct nk_err ignored;
		if (vn->leased)
			(void)!nk_ipam_release(paths->root, vn->at.network, spec->name, &ignored);
		vn->leased = 0;
		return nk_err_prefix(err, "joining network %s", spec->network);
	}
	nk_instance_net_refresh_hosts(paths, vn->at.network);
	return 0;
}

void nk_vm_net_close(struct nk_vm_net *vn)
{
	if (vn->dev)
		nk_virtio_net_destroy(vn->dev);
	vn->dev = NULL;
	if (vn->tap.fd >= 0)
		close(vn->tap.fd);
	vn->tap.fd = -1;
}
