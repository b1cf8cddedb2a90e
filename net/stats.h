/* Traffic counters of a link, read over the caller's netlink handle (one request each). */
#ifndef NOOK_NET_STATS_H
#define NOOK_NET_STATS_H

#include <stdint.h>

#include "nl.h"

struct nk_link_stats {
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* By ifindex when ifindex > 0, else by name. A container's traffic shows on its veth host
 * end (nk_veth_host_name) mirrored: what the container sends, the host end receives. */
int nk_stats_read(struct nk_nl *nl, int ifindex, const char *name, struct nk_link_stats *out,
		  struct nk_err *err) NK_MUST_CHECK;

#endif
