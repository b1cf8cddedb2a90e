/* virtio-net: frames between the guest's two queues and a tap fd, with no offloads. */
#include "core/vm/virtio-net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define VIRTIO_ID_NET 1
#define NET_F_MAC 5
#define RXQ 0
#define TXQ 1
#define QUEUE_MAX 256
/* struct virtio_net_hdr_v1: the guest's header is 12 bytes under VIRTIO_F_VERSION_1. */
#define GUEST_HDR 12
#define HDR_NUM_BUFFERS 10
#define TAP_HDR_MAX 64
#define ETH_HLEN_MIN 14
#define NET_HDR_F_NEEDS_CSUM 1

struct nk_virtio_net {
	struct nk_virtio_dev dev;
	int fd;
	int tap_hdr; /* bytes of virtio_net_hdr before each frame on fd */
	uint8_t mac[6];
	void (*rx_wake)(void *opaque);
	void *rx_wake_opaque;
	uint64_t dropped;
	/* Scratch, one set per queue, used only under that queue's lock. */
	struct nk_vq_chain rx_chain, tx_chain;
	struct iovec rx_iov[NK_VQ_MAX_SEGS + 2], tx_iov[NK_VQ_MAX_SEGS + 1];
	uint8_t rx_hdr[TAP_HDR_MAX], tx_hdr[TAP_HDR_MAX];
};

static struct nk_virtio_net *to_net(struct nk_virtio_dev *dev)
{
	return (struct nk_virtio_net *)dev;
}

static void drop(struct nk_virtio_net *n)
{
	__atomic_fetch_add(&n->dropped, 1, __ATOMIC_RELAXED);
}

/* One guest frame to the tap: our own all-zero header (no offloads were negotiated, so
 * nothing in the guest's header means anything) and the frame, in one writev. */
static void tx_one(struct nk_virtio_net *n, const struct nk_vq_chain *c)
{
	if (c->read_len < GUEST_HDR + ETH_HLEN_MIN) {
		drop(n);
		return;
	}
	int k = 0;
	if (n->tap_hdr) {
		n->tx_iov[0] = (struct iovec){.iov_base = n->tx_hdr, .iov_len = (size_t)n->tap_hdr};
		k = 1;
	}
	int m = nk_vq_chain_iov(c, false, GUEST_HDR, c->read_len - GUEST_HDR, n->tx_iov + k,
				NK_VQ_MAX_SEGS);
	if (m < 0) {
		drop(n);
		return;
	}
	ssize_t r;
	do
		r = writev(n->fd, n->tx_iov, k + m);
	while (r < 0 && errno == EINTR);
	if (r < 0) /* EAGAIN: the tap's queue is full; like a wire, we drop */
		drop(n);
}

static void tx_process(struct nk_virtio_net *n)
{
	struct nk_virtq *vq = nk_virtio_mmio_queue_get(n->dev.transport, TXQ);
	if (!vq)
		return;
	for (unsigned i = 0; i < vq->size; i++) {
		if (nk_virtq_pop(vq, &n->tx_chain) <= 0)
			break;
		tx_one(n, &n->tx_chain);
		nk_virtq_push(vq, &n->tx_chain, 0);
	}
	nk_virtio_mmio_queue_put(n->dev.transport, TXQ);
}

/* Read one frame into chain c: >0 bytes for the guest, 0 tap empty, -EMSGSIZE frame
 * dropped (try again with the same chain), other -errno. */
static ssize_t rx_one(struct nk_virtio_net *n, const struct nk_vq_chain *c)
{
	int k = 0;
	if (n->tap_hdr) {
		n->rx_iov[0] = (struct iovec){.iov_base = n->rx_hdr, .iov_len = (size_t)n->tap_hdr};
		k = 1;
	}
	int m = nk_vq_chain_iov(c, true, GUEST_HDR, c->write_len - GUEST_HDR, n->rx_iov + k,
				NK_VQ_MAX_SEGS);
	if (m < 0)
		return -EMSGSIZE;
	/* One spare byte past the guest's buffer: filling it means the frame did not fit
	 * (readv on a tap or datagram socket silently truncates). */
	uint8_t spare;
	n->rx_iov[k + m] = (struct iovec){.iov_base = &spare, .iov_len = 1};
	ssize_t r;
	do
		r = readv(n->fd, n->rx_iov, k + m + 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (r == 0)
		return 0;
	uint64_t frame = (uint64_t)r - (uint64_t)n->tap_hdr;
	if ((uint64_t)r < (uint64_t)n->tap_hdr + ETH_HLEN_MIN ||
	    frame > c->write_len - GUEST_HDR ||
	    (n->tap_hdr && ((n->rx_hdr[0] & NET_HDR_F_NEEDS_CSUM) || n->rx_hdr[1] != 0)))
		return -EMSGSIZE; /* too short, too big, or offload work we never agreed to */
	uint8_t hdr[GUEST_HDR] = {0};
	hdr[HDR_NUM_BUFFERS] = 1;
	nk_vq_chain_write(c, 0, hdr, sizeof(hdr));
	return (ssize_t)(GUEST_HDR + frame);
}

int nk_virtio_net_poll_rx(struct nk_virtio_net *n)
{
	struct nk_virtq *vq = nk_virtio_mmio_queue_get(n->dev.transport, RXQ);
	if (!vq)
		return -ENOBUFS;
	struct nk_vq_chain *c = &n->rx_chain;
	int delivered = 0, ret = 0;
	/* Bounded work per call (a level-triggered poll on the tap calls again). */
	for (unsigned budget = 2u * vq->size; budget; budget--) {
		if (nk_virtq_pop(vq, c) <= 0) {
			ret = -ENOBUFS;
			break;
		}
		if (c->write_len <= GUEST_HDR + ETH_HLEN_MIN) {
			nk_virtq_push(vq, c, 0); /* useless buffer: hand it straight back */
			continue;
		}
		ssize_t r = rx_one(n, c);
		if (r > 0) {
			nk_virtq_push(vq, c, (uint32_t)r);
			ret = ++delivered;
			continue;
		}
		nk_virtq_unpop(vq);
		if (r == -EMSGSIZE) {
			drop(n); /* the same buffer takes the next frame */
			continue;
		}
		ret = r < 0 ? (int)r : delivered;
		break;
	}
	nk_virtio_mmio_queue_put(n->dev.transport, RXQ);
	return ret;
}

static void net_notify(struct nk_virtio_dev *dev, uint16_t queue)
{
	struct nk_virtio_net *n = to_net(dev);
	if (queue == TXQ) {
		tx_process(n);
		return;
	}
	if (n->rx_wake)
		n->rx_wake(n->rx_wake_opaque);
	(void)nk_virtio_net_poll_rx(n);
}

static uint64_t net_features(struct nk_virtio_dev *dev)
{
	(void)dev;
	return 1ull << NET_F_MAC;
}

static void net_config_read(struct nk_virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct nk_virtio_net *n = to_net(dev);
	nk_virtio_config_copy(n->mac, sizeof(n->mac), offset, data, len);
}

static const struct nk_virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = QUEUE_MAX,
	.features = net_features,
	.config_read = net_config_read,
	.notify = net_notify,
};

/* How many header bytes the fd puts before each frame: a tap says so itself. */
static int tap_header(const struct nk_virtio_net_cfg *cfg, int *hdr, struct nk_err *err)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(cfg->tap_fd, TUNGETIFF, &ifr) < 0) {
		if (cfg->vnet_hdr_len != 0 && cfg->vnet_hdr_len != 10 && cfg->vnet_hdr_len != 12)
			return nk_err_msg(err, EINVAL, "virtio-net: header length %d is not 0, 10 or 12",
					  cfg->vnet_hdr_len);
		*hdr = cfg->vnet_hdr_len;
		return 0;
	}
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI))
		return nk_err_msg(err, EINVAL, "virtio-net: %s is not a tap with IFF_NO_PI", ifr.ifr_name);
	*hdr = 0;
	if (ifr.ifr_flags & IFF_VNET_HDR) {
		if (ioctl(cfg->tap_fd, TUNGETVNETHDRSZ, hdr) < 0)
			return nk_err_set(err, errno, "virtio-net: cannot get %s's header size", ifr.ifr_name);
		if (*hdr < 10 || *hdr > TAP_HDR_MAX)
			return nk_err_msg(err, EINVAL, "virtio-net: %s has a %d-byte header", ifr.ifr_name,
					  *hdr);
	}
	return 0;
}

int nk_virtio_net_create(const struct nk_virtio_net_cfg *cfg, struct nk_virtio_net **out,
			 struct nk_err *err)
{
	int fl = fcntl(cfg->tap_fd, F_GETFL);
	if (fl < 0)
		return nk_err_set(err, errno, "virtio-net: bad tap file descriptor %d", cfg->tap_fd);
	int hdr;
	int r = tap_header(cfg, &hdr, err);
	if (r < 0)
		return r;
	/* poll_rx must never block the thread that calls it. */
	if (!(fl & O_NONBLOCK) && fcntl(cfg->tap_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return nk_err_set(err, errno, "virtio-net: cannot make the tap non-blocking");
	struct nk_virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return nk_err_set(err, ENOMEM, "virtio-net: cannot allocate the device");
	n->dev.ops = &net_ops;
	n->fd = cfg->tap_fd;
	n->tap_hdr = hdr;
	memcpy(n->mac, cfg->mac, sizeof(n->mac));
	n->rx_wake = cfg->rx_wake;
	n->rx_wake_opaque = cfg->rx_wake_opaque;
	*out = n;
	return 0;
}

void nk_virtio_net_destroy(struct nk_virtio_net *net)
{
	free(net);
}

struct nk_virtio_dev *nk_virtio_net_dev(struct nk_virtio_net *net)
{
	return &net->dev;
}

uint64_t nk_virtio_net_dropped(struct nk_virtio_net *net)
{
	return __atomic_load_n(&net->dropped, __ATOMIC_RELAXED);
}
