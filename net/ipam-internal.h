/* IPAM pieces network.c needs to refuse removing a network that still has leases. */
#ifndef NOOK_NET_IPAM_INTERNAL_H
#define NOOK_NET_IPAM_INTERNAL_H

#include "ipam.h"

/* Take the network's lease lock (fd) without checking the network exists. */
int nk_ipam_lock(const char *root, const char *network, struct nk_err *err) NK_MUST_CHECK;
/* nk_ipam_list for a caller that already holds the lease lock. */
int nk_ipam_list_locked(const char *root, const char *network, struct nk_lease **out,
			size_t *count, struct nk_err *err) NK_MUST_CHECK;

#endif
