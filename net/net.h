/* The calls a container monitor makes: attach an instance to a network, detach, reconcile. */
#ifndef NOOK_NET_NET_H
#define NOOK_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "ipam.h"
#include "network.h"
#include "nl.h"
#include "veth.h"

/*
 * Call order (all from the host network namespace; nl from nk_nl_open, kept by the caller):
 *
 * start   monitor: clone(CLONE_NEWNET|...) -> child waits on the sync pipe;
 *         fd = nk_netns_open_pid(child, err); nk_net_attach(nl, root, net, name, fd, &at, err);
 *         close(fd); record `at` in the instance state; release the child.
 *         (Step by step instead: nk_network_open, nk_network_firewall_ensure, nk_ipam_allocate,
 *         nk_bridge_ensure, nk_veth_create, nk_veth_configure_peer.)
 * stop    after init is reaped: nk_net_detach(nl, root, at.network, name, 0, err). The pair
 *         goes with the namespace; a restart that finds the old host end still there (the
 *         kernel tears namespaces down asynchronously) replaces it.
 * failure between attach and exec: nk_net_detach(..., 1, err).
 * reconcile  nk_net_reconcile(nl, root, exists, ctx, ...): stale leases and host ends.
 * network rm nk_network_remove, then nk_bridge_delete.
 * microVM    nk_network_open, nk_network_firewall_ensure, nk_ipam_allocate, nk_bridge_ensure,
 *            nk_tap_create.
 * stats      nk_stats_read(nl, at.host_ifindex, NULL, ...) once a second is cheap (~10 us).
 *
 * firewall   nk_network_create/remove program the root's nf_tables table (firewall.h);
 *            nk_net_attach checks the network's rules are there, reconcile rebuilds them.
 *            IP forwarding is left as the host has it: without it instances reach the
 *            bridge, each other and the host, not beyond, masquerade or not.
 */

/* The name a veth is named and labelled by: the instance's, plus "@" and a hash of the root
 * when it is not the default one, so two NOOK_ROOTs with an instance of the same name never
 * take each other's link (links are host-wide). */
void nk_net_link_key(const char *root, const char *instance, char *out, size_t size);

/* What an attached instance got; worth keeping in the instance's state for inspect. */
struct nk_net_attachment {
	char network[NK_NETWORK_NAME_MAX + 1];
	char bridge[NK_IFNAMSIZ];
	char host_if[NK_IFNAMSIZ]; /* veth host end, for stats and cleanup */
	char peer_if[NK_IFNAMSIZ]; /* "eth0" inside the container */
	int host_ifindex;
	uint32_t addr;             /* host order */
	uint32_t gateway;
	uint8_t prefix;
};

/* From the monitor, in the host namespace, after clone(CLONE_NEWNET) and before releasing
 * the child: open the network (NULL: the default, created on first use), lease an address,
 * ensure the bridge, create the veth with eth0 born in netns_fd, configure eth0, lo and the
 * default route inside. All or nothing: on failure the lease and the link are undone. */
int nk_net_attach(struct nk_nl *nl, const char *root, const char *network, const char *instance,
		  int netns_fd, struct nk_net_attachment *out, struct nk_err *err) NK_MUST_CHECK;

/* After the container's init is reaped: release the lease. Pass delete_link = 0 on the
 * normal path (the kernel removes the pair with the namespace, and a delete costs a
 * synchronize_net()); 1 when the namespace may outlive the instance (error paths). */
int nk_net_detach(struct nk_nl *nl, const char *root, const char *network, const char *instance,
		  int delete_link, struct nk_err *err) NK_MUST_CHECK;

/* Once at start-up, with a callback telling which instances exist: release the leases and
 * delete the veth host ends of instances that are gone. Host ends without an alias are
 * left alone (a start may be labelling one right now). Counts are optional. */
int nk_net_reconcile(struct nk_nl *nl, const char *root, nk_exists_fn exists, void *ctx,
		     size_t *leases_released, size_t *links_deleted, struct nk_err *err) NK_MUST_CHECK;

#endif
