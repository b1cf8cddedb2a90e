/* Tap devices for microVMs: created on /dev/net/tun, enslaved to a network's bridge, up. */
#ifndef NOOK_NET_TAP_H
#define NOOK_NET_TAP_H

#include "nl.h"

struct nk_tap {
	int fd;                 /* the tap's queue; closing it removes the device */
	char name[NK_IFNAMSIZ]; /* "nkt" + 12 hex digits of a hash of the instance name */
	int ifindex;
};

/* IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (the VMM sees a virtio_net_hdr before each frame),
 * O_CLOEXEC, attached to bridge_ifindex (from nk_bridge_ensure) and up. */
int nk_tap_create(struct nk_nl *nl, const char *instance, int bridge_ifindex, struct nk_tap *out,
		  struct nk_err *err) NK_MUST_CHECK;

#endif
