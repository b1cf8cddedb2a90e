/* A VM on a nook network: an address leased like a container's, a tap on the network's
 * bridge, virtio-net on the tap, and the address handed to the guest on its command line. */
#ifndef NOOK_VM_NET_H
#define NOOK_VM_NET_H

#include "core/vm/vmm.h"
#include "err.h"
#include "net/net.h"
#include "net/tap.h"
#include "paths.h"
#include "spec.h"

struct nk_virtio_net;

struct nk_vm_net {
	struct nk_vm *vm;
	struct nk_tap tap;                /* fd -1 when none; closing it removes the tap */
	struct nk_virtio_net *dev;
	struct nk_net_attachment at;      /* host_if is the tap */
	uint8_t mac[6];
	int leased;                       /* at.network holds a lease for the instance */
};

/* For a spec on a bridge network (nk_instance_net_bridged), before nk_vm_run: lease an
 * address, create the tap on the bridge, attach virtio-net, watch the tap, and append
 * "nook.ip=ADDR/PREFIX nook.gw=GW nook.mac=MAC" to the command line. On failure the
 * lease is released and the tap gone. Nothing to do (0) for --net none. */
int nk_vm_net_attach(struct nk_vm_net *vn, const struct nk_paths *paths, const struct nk_spec *spec,
		     struct nk_vm *vm, struct nk_err *err) NK_MUST_CHECK;

/* After nk_vm_destroy: close the tap (the kernel removes it) and free the device. The lease
 * is the monitor's to release (nk_instance_net_detach), with the rest of the network. */
void nk_vm_net_close(struct nk_vm_net *vn);

/* The MAC a VM gets for an address: 52:54:00 and the address's low three bytes, unique on
 * the bridge and never one of the containers' (nk_nl_mac_for). */
void nk_vm_net_mac(uint32_t addr, uint8_t mac[6]);

#endif
