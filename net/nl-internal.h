/* What the net/ files share about libnl: the socket handle and error translation. */
#ifndef NOOK_NET_NL_INTERNAL_H
#define NOOK_NET_NL_INTERNAL_H

#include <netlink/netlink.h>
#include <stdint.h>

#include "nl.h"

struct nk_nl {
	struct nl_sock *sk;
};

/* libnl returns -NLE_* codes; the engine speaks -errno. */
int nk_nl_errno(int nlerr);
/* nk_err_msg with libnl's description of nlerr appended; returns -errno. */
int nk_nl_err(struct nk_err *err, int nlerr, const char *fmt, ...) NK_PRINTF(3, 4);

/* A connected route socket in the namespace netns_fd names; the calling thread's own
 * namespace is restored before returning. */
int nk_nl_socket_in(int netns_fd, struct nl_sock **out, struct nk_err *err) NK_MUST_CHECK;

/* Set IFF_UP on a link by ifindex and, when master > 0, enslave it to master, in one
 * RTM_NEWLINK round trip. */
int nk_nl_link_up(struct nl_sock *sk, int ifindex, int master) NK_MUST_CHECK;
/* Add addr/prefix (host order) on ifindex; an address already there is not an error. */
int nk_nl_addr_add(struct nl_sock *sk, int ifindex, uint32_t addr, uint8_t prefix) NK_MUST_CHECK;
/* A locally administered MAC derived from an IPv4 address (0a:58:a.b.c.d): a reused
 * address keeps its MAC, so neighbours' ARP caches never point at a dead port. */
void nk_nl_mac_for(uint32_t addr, unsigned char mac[6]);

#endif
