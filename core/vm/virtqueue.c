/* Split virtqueues: the descriptor-chain walker that checks everything the guest controls. */
#include "core/vm/virtqueue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Guest memory is little-endian and so is every host KVM runs this VMM on (x86-64). */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtqueue.c assumes a little-endian host"
#endif

#define DESC_SIZE 16

/* Guest-visible layout of a descriptor. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Another vCPU may rewrite a descriptor while we walk it. Copy it once and stop the
 * compiler from re-reading guest memory later: every check then applies to the copy we
 * actually use (no time-of-check/time-of-use gap). */
static void desc_snapshot(const uint8_t *p, struct desc *d)
{
	memcpy(&d->addr, p, 8);
	memcpy(&d->len, p + 8, 4);
	memcpy(&d->flags, p + 12, 2);
	memcpy(&d->next, p + 14, 2);
	__asm__ __volatile__("" ::: "memory");
}

static uint16_t load16(const uint8_t *p, int order)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, order);
}

static int vq_vfail(struct nk_virtq *vq, const char *fmt, va_list ap) NK_PRINTF(2, 0);
static int vq_vfail(struct nk_virtq *vq, const char *fmt, va_list ap)
{
	vq->broken = true;
	vq->err.code = EINVAL;
	vsnprintf(vq->err.msg, sizeof(vq->err.msg), fmt, ap);
	return -EINVAL;
}

int nk_virtq_fail(struct nk_virtq *vq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vq_vfail(vq, fmt, ap);
	va_end(ap);
	return r;
}

/* A ring of len bytes at gpa, aligned to align both as a guest address and as a host
 * address (so the atomic 16- and 32-bit accesses below are aligned). */
static uint8_t *ring_ptr(const struct nk_vm_mem *mem, uint64_t gpa, uint64_t len, uint64_t align)
{
	if (gpa % align)
		return NULL;
	uint8_t *p = nk_vm_mem_ptr(mem, gpa, len);
	if (p && (uintptr_t)p % align)
		return NULL;
	return p;
}

int nk_virtq_enable(struct nk_virtq *vq, const struct nk_vm_mem *mem, uint32_t size, uint32_t max,
		    uint64_t desc, uint64_t avail, uint64_t used, bool indirect, struct nk_err *err)
{
	nk_virtq_disable(vq);
	if (max > NK_VQ_MAX_SIZE)
		max = NK_VQ_MAX_SIZE;
	if (size == 0 || size > max || (size & (size - 1)))
		return nk_err_msg(err, EINVAL, "queue size %u is not a power of two between 1 and %u",
				  size, max);
	uint8_t *d = ring_ptr(mem, desc, (uint64_t)DESC_SIZE * size, 16);
	if (!d)
		return nk_err_msg(err, EINVAL, "descriptor table at 0x%llx (%u bytes) is not 16-byte "
				  "aligned inside guest RAM", (unsigned long long)desc, DESC_SIZE * size);
	/* flags, idx, ring[size]; used_event is never read (no VIRTIO_RING_F_EVENT_IDX). */
	uint8_t *a = ring_ptr(mem, avail, 4 + 2ull * size, 2);
	if (!a)
		return nk_err_msg(err, EINVAL, "available ring at 0x%llx is not 2-byte aligned "
				  "inside guest RAM", (unsigned long long)avail);
	uint8_t *u = ring_ptr(mem, used, 4 + 8ull * size, 4);
	if (!u)
		return nk_err_msg(err, EINVAL, "used ring at 0x%llx is not 4-byte aligned inside "
				  "guest RAM", (unsigned long long)used);
	vq->mem = mem;
	vq->size = (uint16_t)size;
	vq->indirect = indirect;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	return 0;
}

void nk_virtq_disable(struct nk_virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

/* Append one checked buffer to the chain. */
static int add_seg(struct nk_virtq *vq, struct nk_vq_chain *c, const struct desc *d)
{
	bool writable = d->flags & NK_VQ_DESC_F_WRITE;
	if (d->len == 0)
		return nk_virtq_fail(vq, "chain %u: buffer at 0x%llx has length 0", c->head,
				     (unsigned long long)d->addr);
	uint8_t *host = nk_vm_mem_ptr(vq->mem, d->addr, d->len);
	if (!host)
		return nk_virtq_fail(vq, "chain %u: buffer 0x%llx+%u is not inside guest RAM", c->head,
				     (unsigned long long)d->addr, d->len);
	if (!writable && c->nwrite)
		return nk_virtq_fail(vq, "chain %u: device-readable buffer after a device-writable one",
				     c->head);
	unsigned n = (unsigned)c->nread + c->nwrite;
	if (n >= NK_VQ_MAX_SEGS)
		return nk_virtq_fail(vq, "chain %u: more than %d buffers", c->head, NK_VQ_MAX_SEGS);
	if ((uint64_t)c->read_len + c->write_len + d->len > UINT32_MAX)
		return nk_virtq_fail(vq, "chain %u: total length passes 4 GiB", c->head);
	c->seg[n] = (struct nk_vq_seg){.host = host, .gpa = d->addr, .len = d->len};
	if (writable) {
		c->nwrite++;
		c->write_len += d->len;
	} else {
		c->nread++;
		c->read_len += d->len;
	}
	return 0;
}

/* Follow the chain starting at head. Loops cannot hang us: each table (the ring's, or one
 * indirect table) allows at most as many steps as it has entries. */
static int walk(struct nk_virtq *vq, uint16_t head, struct nk_vq_chain *c)
{
	const uint8_t *table = vq->desc;
	uint32_t entries = vq->size;
	bool in_indirect = false;
	uint32_t idx = head;
	uint32_t steps = 0;

	c->head = head;
	c->nread = c->nwrite = 0;
	c->read_len = c->write_len = 0;
	for (;;) {
		if (idx >= entries)
			return nk_virtq_fail(vq, "chain %u: descriptor index %u is past the %s of %u",
					     head, idx, in_indirect ? "indirect table" : "queue size",
					     entries);
		if (++steps > entries)
			return nk_virtq_fail(vq, "chain %u: longer than %u descriptors (a loop?)", head,
					     entries);
		struct desc d;
		desc_snapshot(table + (size_t)idx * DESC_SIZE, &d);
		if (d.flags & NK_VQ_DESC_F_INDIRECT) {
			/* As Linux and QEMU do: an indirect table is the whole chain. */
			if (!vq->indirect)
				return nk_virtq_fail(vq, "chain %u: indirect descriptor, but "
						     "VIRTIO_RING_F_INDIRECT_DESC was not negotiated", head);
			if (in_indirect)
				return nk_virtq_fail(vq, "chain %u: nested indirect table", head);
			if (steps != 1 || (d.flags & NK_VQ_DESC_F_NEXT))
				return nk_virtq_fail(vq, "chain %u: indirect descriptor chained with others",
						     head);
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > NK_VQ_MAX_SEGS)
				return nk_virtq_fail(vq, "chain %u: indirect table length %u is not a "
						     "multiple of 16 between 16 and %d", head, d.len,
						     NK_VQ_MAX_SEGS * DESC_SIZE);
			table = nk_vm_mem_ptr(vq->mem, d.addr, d.len);
			if (!table)
				return nk_virtq_fail(vq, "chain %u: indirect table 0x%llx+%u is not inside "
						     "guest RAM", head, (unsigned long long)d.addr, d.len);
			entries = d.len / DESC_SIZE;
			in_indirect = true;
			idx = 0;
			steps = 0;
			continue;
		}
		int r = add_seg(vq, c, &d);
		if (r < 0)
			return r;
		if (!(d.flags & NK_VQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int nk_virtq_pop(struct nk_virtq *vq, struct nk_vq_chain *chain)
{
	if (vq->broken)
		return -EIO;
	if (!vq->size)
		return 0;
	/* Acquire: the ring entry and descriptors the driver wrote before bumping idx must be
	 * read after it (pairs with the driver's write barrier before its idx store). */
	uint16_t avail_idx = load16(vq->avail + 2, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return nk_virtq_fail(vq, "available index %u is %u entries ahead of the device's %u "
				     "(queue size %u)", avail_idx, pending, vq->last_avail, vq->size);
	uint16_t slot = vq->last_avail & (uint16_t)(vq->size - 1);
	uint16_t head = load16(vq->avail + 4 + 2u * slot, __ATOMIC_RELAXED);
	if (head >= vq->size)
		return nk_virtq_fail(vq, "available ring entry %u names descriptor %u, past the queue "
				     "size of %u", slot, head, vq->size);
	int r = walk(vq, head, chain);
	if (r < 0)
		return r;
	vq->last_avail++;
	return 1;
}

void nk_virtq_unpop(struct nk_virtq *vq)
{
	vq->last_avail--;
}

void nk_virtq_push(struct nk_virtq *vq, const struct nk_vq_chain *chain, uint32_t written)
{
	if (!vq->size || vq->broken)
		return;
	if (written > chain->write_len)
		written = chain->write_len;
	uint16_t slot = vq->used_idx & (uint16_t)(vq->size - 1);
	uint8_t *elem = vq->used + 4 + 8u * slot;
	uint32_t id = chain->head;
	__atomic_store_n((uint32_t *)(void *)elem, id, __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(void *)(elem + 4), written, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the element, and the data the device wrote into the buffers, become
	 * visible to the driver no later than the new index. */
	__atomic_store_n((uint16_t *)(void *)(vq->used + 2), vq->used_idx, __ATOMIC_RELEASE);
	vq->signal_pending = true;
}

bool nk_virtq_should_signal(struct nk_virtq *vq)
{
	if (!vq->signal_pending || !vq->size)
		return false;
	vq->signal_pending = false;
	/* Full barrier: our used idx store must be visible before we read the driver's flags,
	 * or we could miss a driver that just cleared NO_INTERRUPT and went to sleep. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(load16(vq->avail, __ATOMIC_RELAXED) & NK_VQ_AVAIL_F_NO_INTERRUPT);
}

/* Shared by read/write: copy between buf and bytes [off, off + len) of one part. */
static size_t chain_copy(const struct nk_vq_chain *c, bool writable, uint64_t off, uint8_t *buf,
			 size_t len)
{
	unsigned first = writable ? c->nread : 0;
	unsigned end = writable ? (unsigned)c->nread + c->nwrite : c->nread;
	size_t done = 0;
	for (unsigned i = first; i < end && done < len; i++) {
		const struct nk_vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		if (writable)
			memcpy(s->host + off, buf + done, n);
		else
			memcpy(buf + done, s->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t nk_vq_chain_read(const struct nk_vq_chain *c, uint64_t off, void *dst, size_t len)
{
	return chain_copy(c, false, off, dst, len);
}

size_t nk_vq_chain_write(const struct nk_vq_chain *c, uint64_t off, const void *src, size_t len)
{
	return chain_copy(c, true, off, (uint8_t *)(uintptr_t)src, len);
}

int nk_vq_chain_iov(const struct nk_vq_chain *c, bool writable, uint64_t off, uint64_t len,
		    struct iovec *iov, int max)
{
	unsigned first = writable ? c->nread : 0;
	unsigned end = writable ? (unsigned)c->nread + c->nwrite : c->nread;
	uint64_t part = writable ? c->write_len : c->read_len;
	if (off > part || len > part - off)
		return -ERANGE;
	int n = 0;
	for (unsigned i = first; i < end && len; i++) {
		const struct nk_vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		if (n == max)
			return -ERANGE;
		uint64_t take = s->len - off;
		if (take > len)
			take = len;
		iov[n].iov_base = s->host + off;
		iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}
