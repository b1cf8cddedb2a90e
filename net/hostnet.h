/* What the host's own addresses and routes already cover, so a new network never shadows them. */
#ifndef NOOK_NET_HOSTNET_H
#define NOOK_NET_HOSTNET_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"

/* The IPv4 blocks of the caller's network namespace: every address's subnet and every
 * route's destination (default routes and the local table aside). */
struct nk_host_block {
	struct nk_cidr block;
	int ifindex;
	bool route; /* a route, else an address */
};
struct nk_host_nets {
	struct nk_host_block *v;
	size_t count;
};

int nk_host_nets_read(struct nk_host_nets *out, struct nk_err *err) NK_MUST_CHECK;
void nk_host_nets_free(struct nk_host_nets *h);

/* True when subnet overlaps one of them, with `what` saying which ("route 10.88.0.0/16
 * dev nook0"). Blocks on own_bridge (the network's own bridge, which may exist already)
 * do not count. */
bool nk_host_nets_conflict(const struct nk_host_nets *h, const struct nk_cidr *subnet, const char *own_bridge,
			   char *what, size_t size);

#endif
