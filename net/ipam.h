/* IP address management: one lease per instance, persisted under NOOK_ROOT/net/NAME/leases. */
#ifndef NOOK_NET_IPAM_H
#define NOOK_NET_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "network.h"

#define NK_LEASE_NAME_MAX 255

struct nk_lease {
	uint32_t addr;                          /* host order */
	char instance[NK_LEASE_NAME_MAX + 1];
};

/* The lowest free address of the subnet (never the network, gateway or broadcast
 * address) for instance; an instance that already holds a lease gets the same address
 * back. -ENOSPC when the subnet is full. */
int nk_ipam_allocate(const char *root, const struct nk_network *net, const char *instance,
		     uint32_t *addr, struct nk_err *err) NK_MUST_CHECK;
/* Drop the instance's lease; no lease is not an error. */
int nk_ipam_release(const char *root, const char *network, const char *instance,
		    struct nk_err *err) NK_MUST_CHECK;
/* The instance's address; -ENOENT when it holds no lease. */
int nk_ipam_lookup(const char *root, const char *network, const char *instance, uint32_t *addr,
		   struct nk_err *err) NK_MUST_CHECK;
/* All leases sorted by address; free(*out). */
int nk_ipam_list(const char *root, const char *network, struct nk_lease **out, size_t *count,
		 struct nk_err *err) NK_MUST_CHECK;
/* Release every lease whose instance exists() says is gone; *released counts them. */
int nk_ipam_reclaim(const char *root, const char *network, nk_exists_fn exists, void *ctx,
		    size_t *released, struct nk_err *err) NK_MUST_CHECK;

#endif
