/* Networks as objects persisted under NOOK_ROOT/net/NAME/network.json. */
#ifndef NOOK_NET_NETWORK_H
#define NOOK_NET_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "nl.h"

/* "nk-" + name must fit an interface name (15 characters). */
#define NK_NETWORK_NAME_MAX 12
#define NK_NETWORK_DEFAULT "nook"
#define NK_NETWORK_DEFAULT_BRIDGE "nook0"    /* for NOOK_ROOT=/var/lib/nook; nook<hash> otherwise */
#define NK_NETWORK_DEFAULT_SUBNET "10.88.0.0/16" /* overridden by env NOOK_DEFAULT_SUBNET */
/* Another NOOK_ROOT's default network takes a free /24 of this block (env NOOK_DEFAULT_SUBNET
 * still wins), starting at one its root's hash picks, so two roots never share addresses. */
#define NK_NETWORK_SCOPED_POOL "10.87.0.0/16"
/* Smallest and largest blocks nook accepts: /30 leaves one address for an instance. */
#define NK_NETWORK_PREFIX_MIN 8
#define NK_NETWORK_PREFIX_MAX 30

struct nk_network {
	char name[NK_NETWORK_NAME_MAX + 1];
	struct nk_cidr subnet;      /* network address, host bits zero */
	uint32_t gateway;           /* host order; first address of the subnet, on the bridge */
	char bridge[NK_IFNAMSIZ];   /* the default network's nook0 / nook<hash>, "nk-NAME" otherwise */
	bool masquerade;            /* IPv4 masquerading of the subnet toward other interfaces */
};

/* False for the default NOOK_ROOT (/var/lib/nook); otherwise true with a hash of root that
 * names its host-wide things (veth labels, the default bridge, the firewall table). */
bool nk_net_root_hash(const char *root, uint32_t *hash);
/* The default network's bridge for root: nook0, or nook<8 hex digits> for another root. */
void nk_network_default_bridge(const char *root, char out[NK_IFNAMSIZ]);

/* Tells whether an instance still exists (reconcile: leases and links of gone ones go). */
typedef bool (*nk_exists_fn)(const char *instance, void *ctx);

/* [a-zA-Z0-9][a-zA-Z0-9_.-]{0,11} */
int nk_network_name_check(const char *name, struct nk_err *err) NK_MUST_CHECK;

/* Create a network; subnet "A.B.C.D/N" with N in 8..30 and host bits zero, not overlapping
 * another nook network nor any address or route of the host. NULL subnet is allowed only
 * for the default network. Its firewall rules are programmed before this returns (all or
 * nothing: a refused firewall change leaves no network behind). */
int nk_network_create(const char *root, const char *name, const char *subnet, bool masquerade,
		      struct nk_network *out, struct nk_err *err) NK_MUST_CHECK;
/* Read one network (inspect); -ENOENT when it does not exist. */
int nk_network_load(const char *root, const char *name, struct nk_network *out,
		    struct nk_err *err) NK_MUST_CHECK;
/* What an instance start calls: load `name` (NULL means the default network), creating
 * the default network on first use from NOOK_DEFAULT_SUBNET or 10.88.0.0/16. */
int nk_network_open(const char *root, const char *name, struct nk_network *out,
		    struct nk_err *err) NK_MUST_CHECK;
/* All networks sorted by name; free(*out). */
int nk_network_list(const char *root, struct nk_network **out, size_t *count,
		    struct nk_err *err) NK_MUST_CHECK;
/* Remove the network's firewall rules (the table with the last network) and its state;
 * refused (-EBUSY) while it has leases. Delete the bridge afterwards with nk_bridge_delete. */
int nk_network_remove(const char *root, const char *name, struct nk_err *err) NK_MUST_CHECK;

/* Program net's firewall rules if the kernel lacks them (after a reboot): what a start
 * calls, one netlink round trip when they are there. */
int nk_network_firewall_ensure(const char *root, const struct nk_network *net, struct nk_err *err) NK_MUST_CHECK;
/* Rebuild the root's firewall table from its networks (reconcile; after a crash). */
int nk_network_firewall_rebuild(const char *root, struct nk_err *err) NK_MUST_CHECK;

/* The document network.json holds (malloc'd), for inspect. */
char *nk_network_to_json(const struct nk_network *net);
int nk_network_from_json(const char *json, struct nk_network *out, struct nk_err *err) NK_MUST_CHECK;

#endif
