/* libFuzzer target: the virtqueue chain walker, and virtio-blk / virtio-net behind the
 * virtio-mmio transport, over guest RAM built from the input (rings, descriptors, data).
 * Guest RAM is an exact-size heap block, so ASan flags any access outside it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/vm/virtio-blk.h"
#include "core/vm/virtio-mmio.h"
#include "core/vm/virtio-net.h"
#include "core/vm/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x10000u
#define HDR_SIZE 32

/* The first HDR_SIZE bytes steer; the rest is guest RAM from address 0. */
struct plan {
	uint8_t mode;
	bool raw;
	uint8_t pending;
	uint32_t size;
	uint64_t desc, avail, used;
	bool indirect;
	uint8_t rounds;
	struct nk_vm_mem *mem;
	const uint8_t *script; /* register writes for the transport modes */
	size_t script_len;
};

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void make_plan(const uint8_t *h, struct plan *p)
{
	p->mode = h[0] % 4;
	bool raw = h[1] & 0x80; /* mostly plausible layouts, sometimes anything at all */
	p->raw = raw;
	p->pending = h[17] >> 1;
	p->size = raw ? (uint32_t)(h[2] | h[3] << 8) : 1u << (h[1] % 9);
	p->desc = raw ? u32(h + 4) : (u32(h + 4) & 0xfff0);
	p->avail = raw ? u32(h + 8) : (u32(h + 8) & 0xfffe);
	p->used = raw ? u32(h + 12) : (u32(h + 12) & 0xfffc);
	if (h[1] & 0x40)
		p->used |= (uint64_t)h[16] << 32;
	p->indirect = h[17] & 1;
	p->rounds = (uint8_t)(1 + h[18] % 8);
	p->script = h + 19;
	p->script_len = HDR_SIZE - 19;
}

/* Random bytes almost never make a usable chain: unless the plan is raw, pull the
 * descriptors' addresses into RAM, shorten their lengths and set a small avail idx, so
 * the fuzzer spends its time past the first checks. */
static void plausible(struct nk_vm_mem *mem, const struct plan *p, uint64_t shift)
{
	if (p->raw || p->size > NK_VQ_MAX_SIZE)
		return;
	uint8_t *d = nk_vm_mem_ptr(mem, p->desc + shift, 16ull * p->size);
	for (uint32_t i = 0; d && i < p->size; i++) {
		uint8_t *e = d + 16 * i;
		uint64_t addr;
		uint32_t len;
		memcpy(&addr, e, 8);
		memcpy(&len, e + 8, 4);
		addr &= RAM_SIZE - 1;
		len = (len & 0x8000) ? (len & 7) << 9 : len & 0xfff; /* often whole sectors */
		memcpy(e, &addr, 8);
		memcpy(e + 8, &len, 4);
		/* For virtio-blk: make readable buffers start with a real request header. */
		uint16_t flags;
		memcpy(&flags, e + 12, 2);
		uint8_t *h = nk_vm_mem_ptr(mem, addr, 16);
		if (p->mode == 1 && h && !(flags & NK_VQ_DESC_F_WRITE) && (len & 0x10)) {
			static const uint32_t types[] = {0, 1, 4, 8};
			uint32_t type = types[(addr >> 4) & 3];
			uint64_t sector = (addr >> 6) & 31;
			memcpy(h, &type, 4);
			memcpy(h + 8, &sector, 8);
		}
	}
	uint8_t *a = nk_vm_mem_ptr(mem, p->avail + shift, 4);
	if (a) {
		uint16_t idx = (uint16_t)(p->pending % (p->size + 1));
		memcpy(a + 2, &idx, 2);
	}
}

/* Read every readable byte, write every writable one: ASan checks the walker's ranges. */
static void touch(const struct nk_vq_chain *c, const struct plan *p)
{
	volatile uint8_t sink = 0;
	for (unsigned i = 0; i < (unsigned)c->nread + c->nwrite; i++) {
		for (uint32_t j = 0; j < c->seg[i].len; j++) {
			if (i < c->nread)
				sink ^= c->seg[i].host[j];
			else
				c->seg[i].host[j] = (uint8_t)j;
		}
	}
	(void)sink;
	uint8_t buf[64];
	struct iovec iov[8];
	(void)nk_vq_chain_read(c, p->desc % 97, buf, sizeof(buf));
	(void)nk_vq_chain_write(c, p->avail % 89, buf, sizeof(buf));
	(void)nk_vq_chain_iov(c, p->indirect, p->used % 31, p->size % 300, iov, 8);
}

static void walker(struct nk_vm_mem *mem, const struct plan *p)
{
	static struct nk_vq_chain chain; /* big; reused */
	struct nk_virtq vq;
	struct nk_err err;
	memset(&vq, 0, sizeof(vq));
	plausible(mem, p, 0);
	if (nk_virtq_enable(&vq, mem, p->size, NK_VQ_MAX_SIZE, p->desc, p->avail, p->used, p->indirect,
			    &err) < 0)
		return;
	for (unsigned i = 0; i < 4u * p->rounds; i++) {
		int r = nk_virtq_pop(&vq, &chain);
		if (r <= 0)
			break;
		touch(&chain, p);
		if (i % 3 == 2) {
			nk_virtq_unpop(&vq);
			continue;
		}
		nk_virtq_push(&vq, &chain, (uint32_t)(i * 977));
		(void)nk_virtq_should_signal(&vq);
	}
}

static int irq_set(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
	return 0;
}

static void mmio_w(struct nk_virtio_mmio *t, uint64_t off, uint32_t v)
{
	nk_virtio_mmio_bus_ops.write(t, off, &v, 4);
}

/* A driver bringing the device up with the plan's layout, then notifying, with a few
 * arbitrary register writes mixed in. */
static void drive(struct nk_virtio_mmio *t, uint16_t queues, const struct plan *p)
{
	mmio_w(t, NK_VIRTIO_MMIO_STATUS, 0);
	mmio_w(t, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE | NK_VIRTIO_S_DRIVER);
	mmio_w(t, NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_w(t, NK_VIRTIO_MMIO_DRIVER_FEATURES, 1);
	mmio_w(t, NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_w(t, NK_VIRTIO_MMIO_DRIVER_FEATURES, p->indirect ? 1u << NK_VIRTIO_F_INDIRECT_DESC : 0);
	mmio_w(t, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE | NK_VIRTIO_S_DRIVER | NK_VIRTIO_S_FEATURES_OK);
	for (uint16_t q = 0; q < queues; q++) {
		/* Queues side by side when the layout allows it. */
		uint64_t shift = q * 0x2000u;
		plausible(p->mem, p, shift);
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_SEL, q);
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_NUM, p->size);
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(p->desc + shift));
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(p->desc >> 32));
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(p->avail + shift));
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(p->avail >> 32));
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(p->used + shift));
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(p->used >> 32));
		mmio_w(t, NK_VIRTIO_MMIO_QUEUE_READY, 1);
	}
	mmio_w(t, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE | NK_VIRTIO_S_DRIVER |
					 NK_VIRTIO_S_FEATURES_OK | NK_VIRTIO_S_DRIVER_OK);
	for (size_t i = 0; i + 2 <= p->script_len; i += 2) {
		uint32_t off = (uint32_t)(p->script[i] & 0x7f) * 4; /* any register, 0x000-0x1fc */
		uint32_t val = p->script[i + 1];
		if (p->script[i] & 0x80)
			mmio_w(t, NK_VIRTIO_MMIO_QUEUE_NOTIFY, val % (queues + 1u));
		else
			mmio_w(t, off, val);
		uint32_t got;
		nk_virtio_mmio_bus_ops.read(t, off, &got, 4);
	}
	for (unsigned r = 0; r < p->rounds; r++)
		for (uint16_t q = 0; q < queues; q++)
			nk_virtio_mmio_notify(t, q);
}

static void blk(struct nk_vm_mem *mem, const struct plan *p)
{
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 16 * 512) < 0)
		abort();
	struct nk_err err;
	struct nk_virtio_blk *b;
	struct nk_virtio_blk_cfg cfg = {.fd = fd, .read_only = p->rounds & 4};
	struct nk_virtio_mmio *t;
	struct nk_vm_irq irq = {.set = irq_set};
	if (nk_virtio_blk_create(&cfg, &b, &err) < 0)
		abort();
	if (nk_virtio_mmio_create(nk_virtio_blk_dev(b), mem, &irq, &t, &err) < 0)
		abort();
	drive(t, 1, p);
	nk_virtio_mmio_destroy(t);
	nk_virtio_blk_destroy(b);
	close(fd);
}

static void net(struct nk_vm_mem *mem, const struct plan *p)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
		abort();
	struct nk_err err;
	struct nk_virtio_net *n;
	struct nk_virtio_net_cfg cfg = {.tap_fd = sp[0], .vnet_hdr_len = (p->rounds & 1) ? 10 : 0};
	struct nk_virtio_mmio *t;
	struct nk_vm_irq irq = {.set = irq_set};
	if (nk_virtio_net_create(&cfg, &n, &err) < 0)
		abort();
	if (nk_virtio_mmio_create(nk_virtio_net_dev(n), mem, &irq, &t, &err) < 0)
		abort();
	/* Frames from "the host" of sizes the input picks, made of guest RAM bytes. */
	for (unsigned i = 0; i < p->rounds; i++)
		(void)!send(sp[1], mem->host, 10 + (p->desc >> (i * 2)) % 1600, 0);
	drive(t, 2, p);
	(void)nk_virtio_net_poll_rx(n);
	uint8_t sink[2048];
	while (recv(sp[1], sink, sizeof(sink), 0) > 0)
		;
	nk_virtio_mmio_destroy(t);
	nk_virtio_net_destroy(n);
	close(sp[0]);
	close(sp[1]);
}

static void put_desc(uint8_t *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *e = table + 16 * i;
	memcpy(e, &addr, 8);
	memcpy(e + 8, &len, 4);
	memcpy(e + 12, &flags, 2);
	memcpy(e + 14, &next, 2);
}

/* Requests shaped like a driver's, each detail picked by one input byte: type, sector
 * (sometimes past the end or huge), data length (sometimes not whole sectors), data
 * split over 1-3 buffers, device-writable or not, the status byte present or not, the
 * lot sometimes in an indirect table. Reaches the data path random rings never do. */
static void blk_structured(struct nk_vm_mem *mem, struct plan *p, const uint8_t *in, size_t n)
{
	static const uint32_t types[] = {0, 1, 4, 8, 0, 1, 0, 77};
	uint8_t *ram = mem->host;
	memset(ram, 0, 0x4000);
	unsigned next_desc = 0, reqs = 0;
	for (size_t k = 0; k + 4 <= n && reqs < 16 && next_desc + 5 <= 64; k += 4, reqs++) {
		const uint8_t *b = in + k;
		uint64_t hdr = 0x4000 + 0x100u * reqs, data = 0x8000 + 0x800u * reqs;
		uint32_t type = types[b[0] & 7];
		uint64_t sector = (b[0] & 0x80) ? ~0ull >> (b[1] & 63) : b[1] & 31;
		uint32_t len = (b[2] & 0x80) ? b[2] * 7u : (b[2] & 3) * 512u;
		memcpy(ram + hdr, &type, 4);
		memcpy(ram + hdr + 8, &sector, 8);
		unsigned parts = 1 + b[3] % 3;
		bool writable = (type == 0 || type == 8) != !!(b[3] & 0x10);
		bool status = !(b[3] & 0x20);
		bool indirect = (b[3] & 0x40) && p->indirect;
		uint8_t *table = indirect ? ram + 0x3000 + 0x100u * (reqs % 16) : ram;
		unsigned first = indirect ? 0 : next_desc, i = first;
		uint16_t more = NK_VQ_DESC_F_NEXT;
		put_desc(table, i, hdr, 16, more, (uint16_t)(i + 1));
		i++;
		for (unsigned j = 0; len && j < parts; j++, i++) {
			uint32_t piece = j + 1 < parts ? len / parts : len - (len / parts) * (parts - 1);
			put_desc(table, i, data + (len / parts) * j, piece ? piece : 1,
				 (uint16_t)((writable ? NK_VQ_DESC_F_WRITE : 0) | more), (uint16_t)(i + 1));
		}
		if (status) {
			put_desc(table, i, hdr + 0x80, 1, NK_VQ_DESC_F_WRITE, 0);
			i++;
		} else {
			put_desc(table, i - 1, hdr, 16, 0, 0); /* end the chain where it is */
		}
		uint16_t head = (uint16_t)next_desc;
		if (indirect) {
			put_desc(ram, next_desc, (uint64_t)(table - ram), 16 * i, NK_VQ_DESC_F_INDIRECT, 0);
			next_desc++;
		} else {
			next_desc = i;
		}
		memcpy(ram + 0x1000 + 4 + 2 * reqs, &head, 2);
	}
	uint16_t idx = (uint16_t)reqs;
	memcpy(ram + 0x1000 + 2, &idx, 2);
	p->size = 64;
	p->desc = 0;
	p->avail = 0x1000;
	p->used = 0x2000;
	p->raw = true; /* keep what we built */
	p->script_len = 0;
	blk(mem, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR_SIZE)
		return 0;
	struct plan p;
	make_plan(data, &p);
	struct nk_vm_mem mem = {.host = calloc(1, RAM_SIZE), .size = RAM_SIZE};
	if (!mem.host)
		return 0;
	p.mem = &mem;
	size_t n = size - HDR_SIZE < RAM_SIZE ? size - HDR_SIZE : RAM_SIZE;
	memcpy(mem.host, data + HDR_SIZE, n);
	if (p.mode == 0)
		walker(&mem, &p);
	else if (p.mode == 1)
		blk(&mem, &p);
	else if (p.mode == 2)
		net(&mem, &p);
	else
		blk_structured(&mem, &p, data + HDR_SIZE, size - HDR_SIZE);
	free(mem.host);
	return 0;
}
