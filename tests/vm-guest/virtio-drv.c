/* A minimal polled virtio-mmio (version 2) driver for the freestanding test guest. */
#include "virtio-guest.h"

/* x86 is TSO: stores are seen in order and loads are not reordered with older loads, so
 * ordering the ring updates only needs the compiler to keep program order. */
#define barrier() __asm__ __volatile__("" ::: "memory")

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_DEV_FEATURES = 0x010,
	R_DEV_FEATURES_SEL = 0x014, R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044,
	R_QUEUE_NOTIFY = 0x050, R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
	R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_DRIVER_LO = 0x090, R_DRIVER_HI = 0x094,
	R_DEVICE_LO = 0x0a0, R_DEVICE_HI = 0x0a4,
};

void vg_start(struct vg_line *l, const char *s)
{
	l->n = 0;
	l->buf[0] = 0;
	vg_add(l, s);
}

void vg_add(struct vg_line *l, const char *s)
{
	while (*s && l->n + 1 < sizeof(l->buf))
		l->buf[l->n++] = *s++;
	l->buf[l->n] = 0;
}

void vg_add_dec(struct vg_line *l, uint64_t v)
{
	char tmp[24];
	int i = 0;
	do
		tmp[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < 23);
	char out[24];
	int j = 0;
	while (i)
		out[j++] = tmp[--i];
	out[j] = 0;
	vg_add(l, out);
}

void vg_add_hex(struct vg_line *l, uint64_t v, int digits)
{
	char out[17];
	if (digits < 1 || digits > 16)
		digits = 16;
	for (int i = digits - 1; i >= 0; i--, v >>= 4)
		out[i] = "0123456789abcdef"[v & 15];
	out[digits] = 0;
	vg_add(l, out);
}

void vg_print(struct vg_ctx *c, struct vg_line *l)
{
	vg_add(l, "\n");
	c->env->print(l->buf);
	l->n = 0;
	l->buf[0] = 0;
}

void vg_check(struct vg_ctx *c, const char *dev, const char *what, int good, const char *why)
{
	struct vg_line l;
	vg_start(&l, dev);
	vg_add(&l, ": ");
	vg_add(&l, what);
	if (good) {
		vg_add(&l, " ok");
		c->ok++;
	} else {
		vg_add(&l, " FAIL (");
		vg_add(&l, why ? why : "?");
		vg_add(&l, ")");
		c->failed++;
	}
	vg_print(c, &l);
}

void vg_fill(volatile void *p, uint8_t v, uint64_t n)
{
	volatile uint8_t *b = p;
	for (uint64_t i = 0; i < n; i++)
		b[i] = v;
}

void vg_copy(volatile void *dst, const volatile void *src, uint64_t n)
{
	volatile uint8_t *d = dst;
	const volatile uint8_t *s = src;
	for (uint64_t i = 0; i < n; i++)
		d[i] = s[i];
}

int vg_equal(const volatile void *a, const volatile void *b, uint64_t n)
{
	const volatile uint8_t *x = a, *y = b;
	for (uint64_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

volatile uint8_t *vg_alloc(struct vg_ctx *c, uint64_t len, int page, uint64_t *gpa)
{
	uint64_t align = page ? 4096 : 16;
	/* Align the guest-physical address: that is what the device checks. */
	uint64_t start = (c->env->dma_gpa + c->dma_used + align - 1) & ~(align - 1);
	uint64_t off = start - c->env->dma_gpa;
	*gpa = 0;
	if (off > c->env->dma_len || len > c->env->dma_len - off)
		return 0;
	c->dma_used = off + len;
	*gpa = start;
	volatile uint8_t *p = c->env->dma + off;
	vg_fill(p, 0, len);
	return p;
}

uint32_t vg_r32(struct vg_dev *d, uint32_t off)
{
	return VG_MMIO_READ32(d->base + off);
}

void vg_w32(struct vg_dev *d, uint32_t off, uint32_t v)
{
	VG_MMIO_WRITE32(d->base + off, v);
}

void vg_relax(struct vg_ctx *c)
{
	if (c->env->relax)
		c->env->relax();
	else
		__asm__ __volatile__("pause");
}

void vg_reset(struct vg_dev *d)
{
	vg_w32(d, R_STATUS, 0);
	/* The reset is complete when Status reads back 0. */
	for (int i = 0; i < 1000000 && vg_r32(d, R_STATUS) != 0; i++)
		vg_relax(d->ctx);
	vg_w32(d, R_INT_ACK, vg_r32(d, R_INT_STATUS));
}

int vg_dev_init(struct vg_ctx *c, struct vg_dev *d, const char *name, uintptr_t base,
		uint32_t device_id, uint64_t want)
{
	d->ctx = c;
	d->name = name;
	d->base = base;
	d->features = 0;
	const char *why = 0;
	if (vg_r32(d, R_MAGIC) != 0x74726976)
		why = "no virtio magic";
	else if (vg_r32(d, R_VERSION) != 2)
		why = "not virtio-mmio version 2";
	else if (vg_r32(d, R_DEVICE_ID) != device_id)
		why = "unexpected device id";
	if (why) {
		vg_check(c, name, "probe", 0, why);
		return -1;
	}
	vg_reset(d);
	vg_w32(d, R_STATUS, VG_S_ACK);
	vg_w32(d, R_STATUS, VG_S_ACK | VG_S_DRIVER);
	vg_w32(d, R_DEV_FEATURES_SEL, 0);
	uint64_t offered = vg_r32(d, R_DEV_FEATURES);
	vg_w32(d, R_DEV_FEATURES_SEL, 1);
	offered |= (uint64_t)vg_r32(d, R_DEV_FEATURES) << 32;
	if (!(offered & VG_F_VERSION_1)) {
		vg_check(c, name, "probe", 0, "VERSION_1 not offered");
		return -1;
	}
	uint64_t f = (want & offered) | VG_F_VERSION_1;
	vg_w32(d, R_DRV_FEATURES_SEL, 0);
	vg_w32(d, R_DRV_FEATURES, (uint32_t)f);
	vg_w32(d, R_DRV_FEATURES_SEL, 1);
	vg_w32(d, R_DRV_FEATURES, (uint32_t)(f >> 32));
	vg_w32(d, R_STATUS, VG_S_ACK | VG_S_DRIVER | VG_S_FEATURES_OK);
	if (!(vg_r32(d, R_STATUS) & VG_S_FEATURES_OK)) {
		vg_check(c, name, "probe", 0, "FEATURES_OK refused");
		return -1;
	}
	d->features = f;
	return 0;
}

int vg_queue_init(struct vg_dev *d, struct vg_queue *q, uint16_t index, uint16_t size)
{
	if (q->desc && size > q->size)
		return -1;
	q->dev = d;
	q->index = index;
	q->size = size;
	q->avail_idx = q->used_seen = 0;
	vg_w32(d, R_QUEUE_SEL, index);
	if (vg_r32(d, R_QUEUE_READY) != 0 || vg_r32(d, R_QUEUE_NUM_MAX) < size)
		return -1;
	if (!q->desc) {
		q->desc = vg_alloc(d->ctx, 16u * size, 1, &q->desc_gpa);
		q->avail = vg_alloc(d->ctx, 6u + 2u * size, 1, &q->avail_gpa);
		q->used = vg_alloc(d->ctx, 6u + 8u * size, 1, &q->used_gpa);
		if (!q->desc || !q->avail || !q->used)
			return -1;
	} else { /* re-initialising after a reset: same rings, clean */
		vg_fill(q->desc, 0, 16u * size);
		vg_fill(q->avail, 0, 6u + 2u * size);
		vg_fill(q->used, 0, 6u + 8u * size);
	}
	/* Polled: ask for no interrupts (a CPL3 test guest has no handler). */
	*(volatile uint16_t *)q->avail = 1;
	vg_w32(d, R_QUEUE_NUM, size);
	vg_w32(d, R_DESC_LO, (uint32_t)q->desc_gpa);
	vg_w32(d, R_DESC_HI, (uint32_t)(q->desc_gpa >> 32));
	vg_w32(d, R_DRIVER_LO, (uint32_t)q->avail_gpa);
	vg_w32(d, R_DRIVER_HI, (uint32_t)(q->avail_gpa >> 32));
	vg_w32(d, R_DEVICE_LO, (uint32_t)q->used_gpa);
	vg_w32(d, R_DEVICE_HI, (uint32_t)(q->used_gpa >> 32));
	vg_w32(d, R_QUEUE_READY, 1);
	return vg_r32(d, R_QUEUE_READY) == 1 ? 0 : -1;
}

void vg_driver_ok(struct vg_dev *d)
{
	vg_w32(d, R_STATUS, VG_S_ACK | VG_S_DRIVER | VG_S_FEATURES_OK | VG_S_DRIVER_OK);
}

void vg_desc(struct vg_queue *q, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile uint8_t *e = q->desc + 16u * i;
	*(volatile uint64_t *)e = gpa;
	*(volatile uint32_t *)(e + 8) = len;
	*(volatile uint16_t *)(e + 12) = flags;
	*(volatile uint16_t *)(e + 14) = next;
}

uint16_t vg_chain(struct vg_queue *q, uint16_t first, const struct vg_buf *b, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t flags = (uint16_t)((b[i].write ? VG_DESC_WRITE : 0) | (i + 1 < n ? VG_DESC_NEXT : 0));
		vg_desc(q, (uint16_t)(first + i), b[i].gpa, b[i].len, flags, (uint16_t)(first + i + 1));
	}
	return first;
}

void vg_set_avail_idx(struct vg_queue *q, uint16_t idx)
{
	barrier(); /* ring entry and descriptors before the index */
	*(volatile uint16_t *)(q->avail + 2) = idx;
	barrier();
}

void vg_post(struct vg_queue *q, uint16_t head)
{
	*(volatile uint16_t *)(q->avail + 4 + 2u * (q->avail_idx % q->size)) = head;
	q->avail_idx++;
	vg_set_avail_idx(q, q->avail_idx);
}

void vg_kick(struct vg_queue *q)
{
	vg_w32(q->dev, R_QUEUE_NOTIFY, q->index);
}

int vg_wait_used(struct vg_queue *q, uint32_t *id, uint32_t *len, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		uint16_t idx = *(volatile uint16_t *)(q->used + 2);
		if (idx != q->used_seen) {
			barrier(); /* the element after the index */
			volatile uint8_t *e = q->used + 4 + 8u * (q->used_seen % q->size);
			*id = *(volatile uint32_t *)e;
			*len = *(volatile uint32_t *)(e + 4);
			q->used_seen++;
			vg_w32(q->dev, R_INT_ACK, vg_r32(q->dev, R_INT_STATUS));
			return 1;
		}
		vg_relax(q->dev->ctx);
	}
	return 0;
}

int vg_wait_needs_reset(struct vg_dev *d, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		if (vg_r32(d, R_STATUS) & VG_S_NEEDS_RESET)
			return 1;
		vg_relax(d->ctx);
	}
	return 0;
}
