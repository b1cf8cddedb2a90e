/* Split virtqueues (virtio 1.x) in guest RAM: every index, address and length the guest
 * controls is checked here, once, before any device touches a buffer. */
#ifndef NOOK_VM_VIRTQUEUE_H
#define NOOK_VM_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/err.h"
#include "core/vm/vm.h"

/* Largest queue this implementation accepts; devices may advertise less (QueueNumMax). */
#define NK_VQ_MAX_SIZE 256
/* Most buffers in one chain, and most entries in one indirect table. */
#define NK_VQ_MAX_SEGS 256

/* Descriptor and ring flags, feature bits (virtio 1.x, section 2.7). */
#define NK_VQ_DESC_F_NEXT 1
#define NK_VQ_DESC_F_WRITE 2
#define NK_VQ_DESC_F_INDIRECT 4
#define NK_VQ_AVAIL_F_NO_INTERRUPT 1
#define NK_VIRTIO_F_INDIRECT_DESC 28

/* One guest buffer of a chain, already checked to lie wholly inside guest RAM. */
struct nk_vq_seg {
	uint8_t *host;  /* host address of the buffer */
	uint64_t gpa;   /* guest-physical address, for messages */
	uint32_t len;   /* never 0 */
};

/* A popped request: device-readable buffers first (seg[0 .. nread)), then device-writable
 * ones (seg[nread .. nread + nwrite)). Totals never exceed UINT32_MAX. */
struct nk_vq_chain {
	uint16_t head;        /* what nk_virtq_push gives back to the driver */
	uint16_t nread, nwrite;
	uint32_t read_len, write_len;
	struct nk_vq_seg seg[NK_VQ_MAX_SEGS];
};

/* Device-side state of one queue. Zero it, then nk_virtq_enable. Not thread-safe: the
 * transport serialises users with a per-queue lock (see virtio-mmio.h). */
struct nk_virtq {
	const struct nk_vm_mem *mem;
	uint16_t size;        /* entries, a power of two; 0 while disabled */
	bool indirect;        /* VIRTIO_RING_F_INDIRECT_DESC was negotiated */
	bool broken;          /* the driver broke the protocol: nothing more is processed */
	bool signal_pending;  /* buffers were used since the last nk_virtq_should_signal */
	uint16_t last_avail;  /* next avail ring entry to consume */
	uint16_t used_idx;    /* our copy of used->idx */
	uint8_t *desc;        /* host addresses of the three rings, checked at enable */
	uint8_t *avail;
	uint8_t *used;
	struct nk_err err;    /* why the queue broke */
};

/* Check size (power of two, 1..max, max <= NK_VQ_MAX_SIZE) and the ring addresses
 * (aligned 16/2/4, wholly inside RAM) and start the queue at index 0. On failure the
 * queue stays disabled and err says what the driver got wrong. */
int nk_virtq_enable(struct nk_virtq *vq, const struct nk_vm_mem *mem, uint32_t size, uint32_t max,
		    uint64_t desc, uint64_t avail, uint64_t used, bool indirect,
		    struct nk_err *err) NK_MUST_CHECK;

/* Back to the zero state (not ready, not broken). */
void nk_virtq_disable(struct nk_virtq *vq);

/* Take the next available chain: 1 with *chain filled, 0 when nothing is available,
 * -EINVAL (vq->broken set, vq->err says why) when the driver broke the protocol: avail idx more
 * than size ahead, head or next index out of range, a loop or over-long chain, a buffer
 * of length 0 or not wholly inside RAM, a readable buffer after a writable one, indirect
 * tables not negotiated, nested, chained, misplaced or badly sized. A broken queue returns
 * -EIO from then on, without reading guest memory. */
int nk_virtq_pop(struct nk_virtq *vq, struct nk_vq_chain *chain) NK_MUST_CHECK;

/* Mark the queue broken for a reason a device found (e.g. a request with no room for its
 * status byte). Returns -EINVAL. */
int nk_virtq_fail(struct nk_virtq *vq, const char *fmt, ...) NK_PRINTF(2, 3);

/* Give back the chain popped last, unused (e.g. no packet to receive after all). */
void nk_virtq_unpop(struct nk_virtq *vq);

/* Return a chain to the driver: written is how many bytes the device wrote into its
 * writable buffers (clamped to write_len). The used idx is published with release order. */
void nk_virtq_push(struct nk_virtq *vq, const struct nk_vq_chain *chain, uint32_t written);

/* After one or more pushes: true when the driver wants an interrupt (it did not set
 * VRING_AVAIL_F_NO_INTERRUPT). Clears signal_pending. */
bool nk_virtq_should_signal(struct nk_virtq *vq);

/* Copy len bytes starting off bytes into the chain's readable part to dst; returns the
 * bytes copied (less when the readable part is shorter). */
size_t nk_vq_chain_read(const struct nk_vq_chain *c, uint64_t off, void *dst, size_t len);
/* The same into the writable part. */
size_t nk_vq_chain_write(const struct nk_vq_chain *c, uint64_t off, const void *src, size_t len);
/* iovecs for bytes [off, off + len) of the readable (writable = false) or writable part;
 * returns the number of iovecs, or -ERANGE when the range is not wholly inside the part
 * or needs more than max iovecs. */
int nk_vq_chain_iov(const struct nk_vq_chain *c, bool writable, uint64_t off, uint64_t len,
		    struct iovec *iov, int max);

#endif
