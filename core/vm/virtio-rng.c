/* virtio-rng: every device-writable buffer the guest posts comes back full of getrandom bytes. */
#include "core/vm/virtio-rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#define VIRTIO_ID_RNG 4
#define QUEUE_MAX 64
/* Bytes per request at most: the spec lets the device return fewer than asked, and a
 * guest asking for gigabytes should not keep the I/O thread busy for seconds. */
#define MAX_PER_REQUEST (64 * 1024)

struct nk_virtio_rng {
	struct nk_virtio_dev dev;
	struct nk_vq_chain chain; /* used only under the queue's lock */
};

static int fill(uint8_t *p, size_t len)
{
	while (len) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void rng_notify(struct nk_virtio_dev *dev, uint16_t queue)
{
	struct nk_virtio_rng *rng = (struct nk_virtio_rng *)dev;
	struct nk_virtq *vq = nk_virtio_mmio_queue_get(dev->transport, queue);
	if (!vq)
		return;
	struct nk_vq_chain *c = &rng->chain;
	for (unsigned i = 0; i < vq->size; i++) {
		if (nk_virtq_pop(vq, c) <= 0)
			break;
		/* Device-readable buffers are ignored: they are never written. */
		uint32_t done = 0;
		for (unsigned s = c->nread; s < (unsigned)c->nread + c->nwrite && done < MAX_PER_REQUEST; s++) {
			uint32_t n = c->seg[s].len;
			if (n > MAX_PER_REQUEST - done)
				n = MAX_PER_REQUEST - done;
			if (fill(c->seg[s].host, n) < 0)
				break;
			done += n;
		}
		nk_virtq_push(vq, c, done);
	}
	nk_virtio_mmio_queue_put(dev->transport, queue);
}

static const struct nk_virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = QUEUE_MAX,
	.notify = rng_notify,
};

int nk_virtio_rng_create(struct nk_virtio_rng **out, struct nk_err *err)
{
	struct nk_virtio_rng *rng = calloc(1, sizeof(*rng));
	if (!rng)
		return nk_err_set(err, ENOMEM, "virtio-rng: cannot allocate the device");
	rng->dev.ops = &rng_ops;
	*out = rng;
	return 0;
}

void nk_virtio_rng_destroy(struct nk_virtio_rng *rng)
{
	free(rng);
}

struct nk_virtio_dev *nk_virtio_rng_dev(struct nk_virtio_rng *rng)
{
	return &rng->dev;
}
