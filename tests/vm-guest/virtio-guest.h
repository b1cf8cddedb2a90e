/* Guest-side virtio-mmio test driver (freestanding: no libc): what the test guest calls,
 * and the small driver API shared by virtio-drv.c and virtio-tests.c.
 *
 * Entry point, for the test guest (runs at CPL3 with the MMIO windows mapped):
 *
 *	struct vg_env env = {
 *		.print = serial_puts,          // writes a NUL-terminated string to the serial
 *		.blk_base = 0xd0000000, .net_base = 0xd0001000, .rng_base = 0xd0002000,
 *		.dma = buf, .dma_gpa = buf_phys, .dma_len = 256 * 1024,
 *	};
 *	int failures = virtio_guest_run(&env);
 *
 * A base of 0 skips that device. Everything is polled: no interrupt handler is needed
 * (the driver sets VRING_AVAIL_F_NO_INTERRUPT and ACKs InterruptStatus itself).
 * Output: one line per check, "virtio-<dev>: <check> ok" or "... FAIL (<why>)", and a
 * last line "virtio: done, <n> ok, <m> failed". tests/vm-guest/README.md lists them.
 *
 * Compile with -ffreestanding; the code calls no library function, not even memset
 * (copies and fills go through volatile loops so the compiler cannot invent calls). */
#ifndef NOOK_VM_GUEST_VIRTIO_GUEST_H
#define NOOK_VM_GUEST_VIRTIO_GUEST_H

#include <stddef.h>
#include <stdint.h>

struct vg_env {
	void (*print)(const char *s); /* required */
	void (*relax)(void);          /* called while polling; NULL: the pause instruction */
	uintptr_t blk_base, net_base, rng_base; /* where each window is mapped; 0: absent */
	uint8_t *dma;       /* memory devices can reach (identity or not), >= 128 KiB ... */
	uint64_t dma_gpa;   /* ... and its guest-physical address */
	uint64_t dma_len;
	uint64_t ram_bytes; /* guest RAM size, for "past the end of RAM"; 0: 0xd0000000 */
	uint32_t ip, peer_ip; /* IPv4 (host order) for the ARP exchange; 0: broadcast only */
	uint8_t prefix;       /* ip's prefix length, for the subnet's broadcast address */
	uint16_t udp_port;    /* with ip and prefix: also send a UDP broadcast to this port */
	int hostile;        /* 1: also send malformed requests and expect them refused */
	int blk_ext4;       /* 1: the disk holds ext4 (nook's root disk): check its superblock in
			     * sector 2, and put back the sectors the write check overwrites */
};

/* Run every check on every device present; returns the number of failed checks. */
int virtio_guest_run(const struct vg_env *env);

/* --- the driver API (internal to tests/vm-guest/virtio-*.c) --- */

/* MMIO accessors; a host-side harness may define these before including the sources. */
#ifndef VG_MMIO_READ32
#define VG_MMIO_READ32(addr) (*(volatile uint32_t *)(addr))
#define VG_MMIO_WRITE32(addr, v) (*(volatile uint32_t *)(addr) = (v))
#endif

#define VG_F_VERSION_1 (1ull << 32)
#define VG_F_INDIRECT (1ull << 28)
#define VG_DESC_NEXT 1
#define VG_DESC_WRITE 2
#define VG_DESC_INDIRECT 4
#define VG_S_ACK 1
#define VG_S_DRIVER 2
#define VG_S_DRIVER_OK 4
#define VG_S_FEATURES_OK 8
#define VG_S_NEEDS_RESET 0x40

struct vg_ctx {
	const struct vg_env *env;
	uint64_t dma_used; /* bump allocator over env->dma */
	int ok, failed;
};

struct vg_dev {
	struct vg_ctx *ctx;
	const char *name; /* "virtio-blk" */
	uintptr_t base;
	uint64_t features; /* negotiated */
};

struct vg_queue {
	struct vg_dev *dev;
	uint16_t index, size;
	volatile uint8_t *desc, *avail, *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx, used_seen;
};

struct vg_buf {
	uint64_t gpa;
	uint32_t len;
	int write; /* device-writable */
};

/* Output: a line is built in pieces and printed whole. */
struct vg_line {
	char buf[192];
	unsigned n;
};
void vg_start(struct vg_line *l, const char *s); /* (no initialisers: no hidden memset) */
void vg_add(struct vg_line *l, const char *s);
void vg_add_dec(struct vg_line *l, uint64_t v);
void vg_add_hex(struct vg_line *l, uint64_t v, int digits);
void vg_print(struct vg_ctx *c, struct vg_line *l);
/* "<dev>: <what> ok" or "<dev>: <what> FAIL (<why>)", counted. */
void vg_check(struct vg_ctx *c, const char *dev, const char *what, int good, const char *why);

/* Memory without libc. */
void vg_fill(volatile void *p, uint8_t v, uint64_t n);
void vg_copy(volatile void *dst, const volatile void *src, uint64_t n);
int vg_equal(const volatile void *a, const volatile void *b, uint64_t n);
/* DMA memory, zeroed, 16-byte aligned (4096 when align is set); NULL when exhausted. */
volatile uint8_t *vg_alloc(struct vg_ctx *c, uint64_t len, int page, uint64_t *gpa);

uint32_t vg_r32(struct vg_dev *d, uint32_t off);
void vg_w32(struct vg_dev *d, uint32_t off, uint32_t v);
void vg_relax(struct vg_ctx *c);

/* Check identity, reset, negotiate (VERSION_1 | want & offered); 0 or -1 (printed). */
int vg_dev_init(struct vg_ctx *c, struct vg_dev *d, const char *name, uintptr_t base,
		uint32_t device_id, uint64_t want);
/* Set up queue index with size entries and make it ready. Rings come from the DMA area
 * when q->desc is NULL (set it so before the first call); later calls, after a reset,
 * reuse them. */
int vg_queue_init(struct vg_dev *d, struct vg_queue *q, uint16_t index, uint16_t size);
void vg_driver_ok(struct vg_dev *d);
void vg_reset(struct vg_dev *d);

void vg_desc(struct vg_queue *q, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next);
/* Descriptors first..first+n-1 as one chain; returns its head. */
uint16_t vg_chain(struct vg_queue *q, uint16_t first, const struct vg_buf *b, int n);
void vg_post(struct vg_queue *q, uint16_t head);
void vg_set_avail_idx(struct vg_queue *q, uint16_t idx);
void vg_kick(struct vg_queue *q);
/* Wait for the next used element: 1 with id/len, 0 after spins polls. */
int vg_wait_used(struct vg_queue *q, uint32_t *id, uint32_t *len, unsigned long spins);
/* Wait until the device sets DEVICE_NEEDS_RESET: 1, or 0 after spins polls. */
int vg_wait_needs_reset(struct vg_dev *d, unsigned long spins);

#endif
