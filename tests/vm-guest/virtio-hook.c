/* The test guest's virtio hook (guest.h's guest_virtio_test): runs virtio-tests.c on one
 * slot, plus an interrupt check for rng. Knobs on the kernel command line:
 * virtio_hostile=1, virtio_ip=10.0.2.15 and virtio_peer=10.0.2.2 (ARP to the host), or
 * nook.ip/nook.gw from the VMM, and virtio_udp=PORT (a UDP broadcast to the subnet). */
#include "guest.h"
#include "virtio-guest.h"

#define DMA_BYTES (96 * 1024)

static void print_line(const char *s)
{
	say("nook-guest: %s", s);
}

static uint32_t parse_ip(const char *s)
{
	uint32_t ip = 0;
	for (int i = 0; i < 4; i++) {
		const char *end;
		ip = ip << 8 | (uint32_t)(parse_u64(s, &end) & 0xff);
		s = *end == '.' ? end + 1 : end;
	}
	return ip;
}

static uint32_t cmdline_ip(const char *key)
{
	char buf[32];
	return cmdline_get(key, buf, sizeof(buf)) ? parse_ip(buf) : 0;
}

/* The end of the highest usable RAM range in the e820 map of the zero page. */
static uint64_t ram_end(void)
{
	uint8_t n = *(volatile uint8_t *)(uintptr_t)(boot_params_ptr + 0x1e8);
	uint64_t end = 0;
	for (unsigned i = 0; i < n && i < 128; i++) {
		volatile uint8_t *e = (volatile uint8_t *)(uintptr_t)(boot_params_ptr + 0x2d0 + 20 * i);
		uint64_t addr = *(volatile uint64_t *)e, size = *(volatile uint64_t *)(e + 8);
		if (*(volatile uint32_t *)(e + 16) == 1 && addr + size > end)
			end = addr + size;
	}
	return end;
}

/* Interrupts, end to end: with VRING_AVAIL_F_NO_INTERRUPT clear, each used buffer must
 * raise the GSI; the line drops on InterruptACK, so the next one is a new edge. */
static void irq_check(struct vg_ctx *c, uint64_t base, int irq)
{
	struct vg_dev d;
	struct vg_queue q;
	q.desc = 0;
	uint64_t gpa;
	/* The reset in vg_dev_init frees the DMA area the main checks used. */
	if (irq < 0 || vg_dev_init(c, &d, "virtio-rng", base, 4, 0) < 0)
		return;
	c->dma_used = 0;
	if (!vg_alloc(c, 64, 0, &gpa) || vg_queue_init(&d, &q, 0, 16) < 0)
		return;
	*(volatile uint16_t *)q.avail = 0; /* interrupts wanted */
	vg_driver_ok(&d);
	guest_irq_route((unsigned)irq);
	unsigned before = guest_irq_count((unsigned)irq);
	int good = 1;
	for (int round = 1; round <= 2 && good; round++) {
		struct vg_buf b = {gpa, 32, 1};
		vg_post(&q, vg_chain(&q, 0, &b, 1));
		vg_kick(&q);
		guest_sti(); /* a gate: under PVM a ring-3 sti faults even with IOPL 3 */
		for (int ms = 0; ms < 1000 && guest_irq_count((unsigned)irq) < before + (unsigned)round; ms++)
			delay_ms(1);
		uint32_t id, len;
		good = guest_irq_count((unsigned)irq) == before + (unsigned)round &&
		       vg_wait_used(&q, &id, &len, 1000000); /* also ACKs: the line drops */
	}
	guest_irq_mask((unsigned)irq);
	vg_check(c, "virtio-rng", "interrupt per used buffer, line lowered on ACK", good,
		 "interrupt count wrong");
	vg_reset(&d);
}

int guest_virtio_test(const char *kind, uint64_t base, int irq)
{
	uint8_t *dma = guest_alloc(DMA_BYTES, 4096);
	if (!dma) {
		say("nook-guest: virtio-%s FAIL (guest heap exhausted)\n", kind);
		return -1;
	}
	char hostile[8] = "0";
	cmdline_get("virtio_hostile", hostile, sizeof(hostile));
	struct vg_env env;
	memset(&env, 0, sizeof(env));
	env.print = print_line;
	env.dma = dma;
	env.dma_gpa = (uintptr_t)dma; /* identity-mapped */
	env.dma_len = DMA_BYTES;
	env.ram_bytes = ram_end();
	env.ip = cmdline_ip("virtio_ip");
	env.peer_ip = cmdline_ip("virtio_peer");
	/* On a nook network the VMM says where the guest is: nook.ip=A.B.C.D/N nook.gw=G.
	 * Then the ARP goes to the gateway (the bridge), and virtio_udp=PORT adds a UDP
	 * broadcast to the subnet. */
	char addr[32], port[8];
	if (!env.ip && cmdline_get("nook.ip", addr, sizeof(addr))) {
		env.ip = parse_ip(addr);
		const char *slash = strfind(addr, "/");
		const char *end;
		env.prefix = slash ? (uint8_t)parse_u64(slash + 1, &end) : 0;
	}
	if (!env.peer_ip)
		env.peer_ip = cmdline_ip("nook.gw");
	if (cmdline_get("virtio_udp", port, sizeof(port))) {
		const char *end;
		env.udp_port = (uint16_t)parse_u64(port, &end);
	}
	env.hostile = hostile[0] == '1';
	char disk[8] = "";
	cmdline_get("nook.disk", disk, sizeof(disk));
	env.blk_ext4 = disk[0] == 'e'; /* nook.disk=ext4 */
	if (kind[0] == 'b')
		env.blk_base = base;
	else if (kind[0] == 'n')
		env.net_base = base;
	else if (kind[0] == 'r')
		env.rng_base = base;
	else
		return -1;
	int failed = virtio_guest_run(&env);
	if (kind[0] == 'r') {
		struct vg_ctx c = {.env = &env, .dma_used = 0, .ok = 0, .failed = 0};
		irq_check(&c, base, irq);
		failed += c.failed;
	}
	return failed ? -1 : 0;
}
