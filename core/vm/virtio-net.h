/* virtio-net: an Ethernet card whose wire is a tap file descriptor (no offloads). */
#ifndef NOOK_VM_VIRTIO_NET_H
#define NOOK_VM_VIRTIO_NET_H

#include <stdint.h>

#include "core/err.h"
#include "core/vm/virtio-mmio.h"

struct nk_virtio_net_cfg {
	int tap_fd;       /* IFF_TAP | IFF_NO_PI (net/tap.c); made O_NONBLOCK; not closed by us */
	uint8_t mac[6];   /* the guest's MAC, in config space (VIRTIO_NET_F_MAC) */
	/* Bytes of struct virtio_net_hdr before each frame on tap_fd (0, 10 or 12). Only used
	 * when tap_fd is not a tap (tests use a socketpair); a tap is asked instead. */
	int vnet_hdr_len;
	/* Called (from whichever thread processes the RX queue) when the guest posts receive
	 * buffers, so a VMM that stopped watching the tap after -ENOBUFS starts again. */
	void (*rx_wake)(void *opaque);
	void *rx_wake_opaque;
};

struct nk_virtio_net;

int nk_virtio_net_create(const struct nk_virtio_net_cfg *cfg, struct nk_virtio_net **out,
			 struct nk_err *err) NK_MUST_CHECK;
void nk_virtio_net_destroy(struct nk_virtio_net *net);
/* For nk_virtio_mmio_create. Queue 0 receives, queue 1 transmits. */
struct nk_virtio_dev *nk_virtio_net_dev(struct nk_virtio_net *net);

/* Call when the tap fd is readable: moves frames into the guest's receive buffers until
 * the tap is empty. Returns the frames delivered, or -ENOBUFS when the guest has no
 * buffers left (frames may still wait: stop watching the tap until rx_wake), or another
 * -errno when reading the tap failed. Frames too big for the guest's buffer are dropped. */
int nk_virtio_net_poll_rx(struct nk_virtio_net *net);

/* Frames dropped so far (too big, bad headers, tap write errors), for live numbers. */
uint64_t nk_virtio_net_dropped(struct nk_virtio_net *net);

#endif
