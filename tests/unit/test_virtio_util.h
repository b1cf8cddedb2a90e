/* A fake guest for the virtio unit tests: RAM between guard pages, an IRQ line that counts,
 * and a tiny driver that programs virtio-mmio registers and builds rings like Linux does. */
#ifndef NOOK_TEST_VIRTIO_UTIL_H
#define NOOK_TEST_VIRTIO_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/virtio-mmio.h"
#include "core/vm/virtqueue.h"

#define RAM_SIZE (1u << 20)
#define GUARD 8192u
#define GUARD_BYTE 0xa5
#define DATA_GPA 0x40000u /* buffers live from here; rings below */

struct fq {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen;
};

struct fake_vm {
	uint8_t *block; /* guard, RAM, guard */
	struct nk_vm_mem mem;
	int raises, lowers, level;
	struct nk_vm_irq irq;
	struct nk_virtio_mmio *t;
	struct fq q[NK_VIRTIO_MAX_QUEUES];
};

static inline int fake_irq_set(void *opaque, uint32_t gsi, int level)
{
	struct fake_vm *v = opaque;
	assert_int_equal(gsi, 5);
	if (level)
		v->raises++;
	else
		v->lowers++;
	v->level = level;
	return 0;
}

static inline void fv_init(struct fake_vm *v)
{
	memset(v, 0, sizeof(*v));
	v->block = aligned_alloc(4096, RAM_SIZE + 2 * GUARD);
	assert_non_null(v->block);
	memset(v->block, GUARD_BYTE, GUARD);
	memset(v->block + GUARD, 0, RAM_SIZE);
	memset(v->block + GUARD + RAM_SIZE, GUARD_BYTE, GUARD);
	v->mem = (struct nk_vm_mem){.host = v->block + GUARD, .size = RAM_SIZE};
	v->irq = (struct nk_vm_irq){.set = fake_irq_set, .opaque = v, .gsi = 5};
}

/* Nothing was ever written outside guest RAM. */
static inline void fv_guards_intact(const struct fake_vm *v)
{
	for (size_t i = 0; i < GUARD; i++) {
		if (v->block[i] != GUARD_BYTE || v->block[GUARD + RAM_SIZE + i] != GUARD_BYTE)
			fail_msg("guard byte %zu around guest RAM was overwritten", i);
	}
}

static inline void fv_attach(struct fake_vm *v, struct nk_virtio_dev *dev)
{
	struct nk_err err = {0};
	if (nk_virtio_mmio_create(dev, &v->mem, &v->irq, &v->t, &err) != 0)
		fail_msg("%s", err.msg);
}

static inline void fv_fini(struct fake_vm *v)
{
	fv_guards_intact(v);
	nk_virtio_mmio_destroy(v->t);
	free(v->block);
}

static inline void *gp(struct fake_vm *v, uint64_t gpa)
{
	return v->mem.host + gpa;
}

static inline uint32_t mr(struct fake_vm *v, uint64_t off)
{
	uint32_t x;
	nk_virtio_mmio_bus_ops.read(v->t, off, &x, 4);
	return x;
}

static inline void mw(struct fake_vm *v, uint64_t off, uint32_t val)
{
	nk_virtio_mmio_bus_ops.write(v->t, off, &val, 4);
}

static inline uint64_t device_features(struct fake_vm *v)
{
	mw(v, NK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = mr(v, NK_VIRTIO_MMIO_DEVICE_FEATURES);
	mw(v, NK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)mr(v, NK_VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* Reset, ACKNOWLEDGE, DRIVER, write features, FEATURES_OK; returns the status read back. */
static inline uint32_t fv_negotiate(struct fake_vm *v, uint64_t features)
{
	mw(v, NK_VIRTIO_MMIO_STATUS, 0);
	mw(v, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE);
	mw(v, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE | NK_VIRTIO_S_DRIVER);
	mw(v, NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mw(v, NK_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	mw(v, NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mw(v, NK_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	mw(v, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE | NK_VIRTIO_S_DRIVER | NK_VIRTIO_S_FEATURES_OK);
	return mr(v, NK_VIRTIO_MMIO_STATUS);
}

/* Program queue q at its default place (0x10000 + q * 0x4000) without making it ready. */
static inline void fv_queue_regs(struct fake_vm *v, unsigned q, uint32_t size, uint64_t desc,
				 uint64_t avail, uint64_t used)
{
	mw(v, NK_VIRTIO_MMIO_QUEUE_SEL, q);
	mw(v, NK_VIRTIO_MMIO_QUEUE_NUM, size);
	mw(v, NK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	mw(v, NK_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	mw(v, NK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	mw(v, NK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	mw(v, NK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	mw(v, NK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
}

static inline void fv_queue(struct fake_vm *v, unsigned q, uint16_t size)
{
	uint64_t base = 0x10000 + q * 0x4000u;
	v->q[q] = (struct fq){.size = size, .desc = base, .avail = base + 0x1000, .used = base + 0x2000};
	memset(gp(v, base), 0, 0x4000);
	fv_queue_regs(v, q, size, base, base + 0x1000, base + 0x2000);
	mw(v, NK_VIRTIO_MMIO_QUEUE_READY, 1);
}

static inline void fv_driver_ok(struct fake_vm *v)
{
	uint32_t s = mr(v, NK_VIRTIO_MMIO_STATUS);
	mw(v, NK_VIRTIO_MMIO_STATUS, s | NK_VIRTIO_S_DRIVER_OK);
}

/* The usual bring-up: features (VERSION_1 | extra), queues 0..nq-1 of size, DRIVER_OK. */
static inline void fv_up(struct fake_vm *v, uint64_t extra, unsigned nq, uint16_t size)
{
	uint32_t s = fv_negotiate(v, (1ull << NK_VIRTIO_F_VERSION_1) | extra);
	assert_true(s & NK_VIRTIO_S_FEATURES_OK);
	for (unsigned i = 0; i < nq; i++)
		fv_queue(v, i, size);
	fv_driver_ok(v);
	assert_int_equal(mr(v, NK_VIRTIO_MMIO_STATUS) & NK_VIRTIO_S_DRIVER_OK, NK_VIRTIO_S_DRIVER_OK);
}

/* Write raw descriptor idx of queue q (or of a table at gpa table when q < 0). */
static inline void fv_desc_at(struct fake_vm *v, uint64_t table, uint16_t idx, uint64_t addr,
			      uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = gp(v, table + 16u * idx);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static inline void fv_desc(struct fake_vm *v, unsigned q, uint16_t idx, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	fv_desc_at(v, v->q[q].desc, idx, addr, len, flags, next);
}

struct fbuf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Descriptors first .. first + n - 1 of queue q linked into one chain; returns its head. */
static inline uint16_t fv_chain(struct fake_vm *v, unsigned q, uint16_t first, const struct fbuf *b, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t flags = (b[i].write ? NK_VQ_DESC_F_WRITE : 0) | (i + 1 < n ? NK_VQ_DESC_F_NEXT : 0);
		fv_desc(v, q, (uint16_t)(first + i), b[i].addr, b[i].len, flags, (uint16_t)(first + i + 1));
	}
	return first;
}

static inline void fv_set_avail_idx(struct fake_vm *v, unsigned q, uint16_t idx)
{
	__atomic_store_n((uint16_t *)gp(v, v->q[q].avail + 2), idx, __ATOMIC_RELEASE);
}

/* Make head available (ring entry, then idx) without notifying. */
static inline void fv_post(struct fake_vm *v, unsigned q, uint16_t head)
{
	struct fq *f = &v->q[q];
	uint16_t *ring = gp(v, f->avail + 4);
	ring[f->avail_idx % f->size] = head;
	f->avail_idx++;
	fv_set_avail_idx(v, q, f->avail_idx);
}

static inline void fv_kick(struct fake_vm *v, unsigned q)
{
	mw(v, NK_VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Next used element of queue q, if any. */
static inline bool fv_used(struct fake_vm *v, unsigned q, uint32_t *id, uint32_t *len)
{
	struct fq *f = &v->q[q];
	uint16_t idx = __atomic_load_n((uint16_t *)gp(v, f->used + 2), __ATOMIC_ACQUIRE);
	if (idx == f->used_seen)
		return false;
	uint8_t *e = gp(v, f->used + 4 + 8u * (f->used_seen % f->size));
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	f->used_seen++;
	return true;
}

static inline uint16_t fv_used_idx(struct fake_vm *v, unsigned q)
{
	return __atomic_load_n((uint16_t *)gp(v, v->q[q].used + 2), __ATOMIC_ACQUIRE);
}

/* The guest's interrupt handler: read InterruptStatus, ACK it. */
static inline uint32_t fv_ack(struct fake_vm *v)
{
	uint32_t isr = mr(v, NK_VIRTIO_MMIO_INTERRUPT_STATUS);
	mw(v, NK_VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

static inline bool fv_needs_reset(struct fake_vm *v)
{
	return mr(v, NK_VIRTIO_MMIO_STATUS) & NK_VIRTIO_S_NEEDS_RESET;
}

#endif
