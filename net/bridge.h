/* A network's bridge in the host namespace: exists, is up, carries the gateway address. */
#ifndef NOOK_NET_BRIDGE_H
#define NOOK_NET_BRIDGE_H

#include "network.h"
#include "nl.h"

/* Idempotent: create the bridge if missing (with a fixed MAC derived from the gateway, so
 * it does not change as ports come and go), set it up, add gateway/prefix. Fills
 * *ifindex. A link of that name that is not a bridge is an error (-EEXIST). */
int nk_bridge_ensure(struct nk_nl *nl, const struct nk_network *net, int *ifindex,
		     struct nk_err *err) NK_MUST_CHECK;
/* Delete the network's bridge; a missing bridge is not an error. */
int nk_bridge_delete(struct nk_nl *nl, const struct nk_network *net, struct nk_err *err) NK_MUST_CHECK;

#endif
