/* The veth pair of a container: host end nkv<hash> on the bridge, eth0 born in the container. */
#ifndef NOOK_NET_VETH_H
#define NOOK_NET_VETH_H

#include <stddef.h>
#include <stdint.h>

#include "network.h"
#include "nl.h"

#define NK_VETH_PEER "eth0"

struct nk_veth {
	char host[NK_IFNAMSIZ]; /* "nkv" + 12 hex digits of a hash of the instance name */
	char peer[NK_IFNAMSIZ]; /* its name inside the container: "eth0" */
	int host_ifindex;       /* in the host namespace */
};

/* A leftover host end found by nk_veth_find_stale. */
struct nk_veth_stale {
	char ifname[NK_IFNAMSIZ];
	char instance[256]; /* from the link's alias; "" when it has none */
};

/* nkv<hash>: the same instance name always gives the same link name. */
void nk_veth_host_name(const char *instance, char out[NK_IFNAMSIZ]);

/* Create the pair in one RTM_NEWLINK: the host end up and enslaved to bridge_ifindex, the
 * peer created directly inside the namespace netns_fd names, called eth0 (still down),
 * with the MAC derived from addr. The host end's alias records the instance name (for reconcile).
 * A host end left from the instance's previous run (its namespace still being torn down
 * by the kernel) is deleted and the creation retried. */
int nk_veth_create(struct nk_nl *nl, const char *instance, int bridge_ifindex, int netns_fd,
		   uint32_t addr, struct nk_veth *out, struct nk_err *err) NK_MUST_CHECK;

/* Inside the container namespace: the peer and lo up, addr/prefix on the peer, default
 * route via gateway. Uses a netlink socket created in that namespace (the calling thread enters it
 * with setns() for the socket() call only). */
int nk_veth_configure_peer(int netns_fd, const char *peer, uint32_t addr, uint8_t prefix,
			   uint32_t gateway, struct nk_err *err) NK_MUST_CHECK;

/* Delete the instance's host end (and so the pair); a missing link is not an error. Not
 * needed on a normal stop: the kernel removes the pair with the container's namespace. */
int nk_veth_delete(struct nk_nl *nl, const char *instance, struct nk_err *err) NK_MUST_CHECK;

/* Host ends (nkv*, type veth) whose alias names an instance exists() says is gone, or that
 * carry no alias. free(*out). */
int nk_veth_find_stale(struct nk_nl *nl, nk_exists_fn exists, void *ctx, struct nk_veth_stale **out,
		       size_t *count, struct nk_err *err) NK_MUST_CHECK;

#endif
