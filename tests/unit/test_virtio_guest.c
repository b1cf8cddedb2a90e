/* The freestanding guest driver (tests/vm-guest/virtio-*.c) run against the real device
 * models in-process: its MMIO accesses go straight to the transports' bus handlers, its
 * "physical memory" is a fake guest RAM, and its polling loop plays the host's side of
 * the network (answering ARP). Checks the driver and the devices together without KVM. */
#include <stdint.h>

static uint32_t harness_read32(uintptr_t addr);
static void harness_write32(uintptr_t addr, uint32_t v);
#define VG_MMIO_READ32(addr) harness_read32(addr)
#define VG_MMIO_WRITE32(addr, v) harness_write32(addr, v)
#define VG_SPINS 200000ul
#include "tests/vm-guest/virtio-drv.c"
#include "tests/vm-guest/virtio-tests.c"

#include "test_virtio_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/vm/virtio-blk.h"
#include "core/vm/virtio-net.h"
#include "core/vm/virtio-rng.h"

#define BLK_BASE 0xd0000000u
#define NET_BASE 0xd0001000u
#define RNG_BASE 0xd0002000u
#define DMA_GPA 0x80000u
#define GUEST_IP 0x0a00020f /* 10.0.2.15 */
#define PEER_IP 0x0a000202  /* 10.0.2.2 */

static struct fake_vm vm; /* RAM and guards; its transport slot is unused */
static struct nk_virtio_mmio *blk_t, *net_t, *rng_t;
static struct nk_virtio_net *net;
static int host_sock = -1;
static char transcript[16384];
static size_t transcript_len;
static int arp_replies;

static struct nk_virtio_mmio *window(uintptr_t addr, uint64_t *off)
{
	uintptr_t base = addr & ~(uintptr_t)0xfff;
	*off = addr - base;
	if (base == BLK_BASE)
		return blk_t;
	if (base == NET_BASE)
		return net_t;
	if (base == RNG_BASE)
		return rng_t;
	fail_msg("guest touched unmapped MMIO 0x%lx", (unsigned long)addr);
	return NULL;
}

static uint32_t harness_read32(uintptr_t addr)
{
	uint64_t off;
	struct nk_virtio_mmio *t = window(addr, &off);
	uint32_t v;
	nk_virtio_mmio_bus_ops.read(t, off, &v, 4);
	return v;
}

static void harness_write32(uintptr_t addr, uint32_t v)
{
	uint64_t off;
	struct nk_virtio_mmio *t = window(addr, &off);
	nk_virtio_mmio_bus_ops.write(t, off, &v, 4);
}

static void guest_print(const char *s)
{
	size_t n = strlen(s);
	assert_true(transcript_len + n < sizeof(transcript));
	memcpy(transcript + transcript_len, s, n + 1);
	transcript_len += n;
}

/* The host: answer ARP requests for PEER_IP from a made-up MAC, then let the device
 * deliver whatever waits (what the VMM does when the tap is readable). */
static void host_relax(void)
{
	uint8_t in[2048];
	ssize_t n;
	while ((n = recv(host_sock, in, sizeof(in), MSG_DONTWAIT)) > 0) {
		const uint8_t *f = in + 10; /* after the 10-byte virtio_net_hdr */
		if (n < 10 + 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 1)
			continue;
		uint32_t tpa;
		memcpy(&tpa, f + 38, 4);
		if (ntohl(tpa) != PEER_IP)
			continue;
		uint8_t out[10 + 60] = {0};
		uint8_t *r = out + 10;
		static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
		memcpy(r, f + 6, 6);
		memcpy(r + 6, peer_mac, 6);
		memcpy(r + 12, f + 12, 8);   /* ethertype, htype, ptype, hlen, plen */
		r[20] = 0;
		r[21] = 2;                   /* reply */
		memcpy(r + 22, peer_mac, 6);
		memcpy(r + 28, f + 38, 4);   /* sender: the peer */
		memcpy(r + 32, f + 22, 10);  /* target: the asker */
		assert_int_equal(send(host_sock, out, sizeof(out), 0), (ssize_t)sizeof(out));
		arp_replies++;
	}
	(void)nk_virtio_net_poll_rx(net);
}

static void run_guest(int hostile)
{
	struct nk_err err = {0};
	fv_init(&vm);
	char path[] = "/tmp/nook-guestblk-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 64 * 512), 0);
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	host_sock = sp[1];
	struct nk_virtio_blk *blk;
	struct nk_virtio_rng *rng;
	struct nk_virtio_blk_cfg bcfg = {.fd = fd, .serial = "guest-disk"};
	struct nk_virtio_net_cfg ncfg = {.tap_fd = sp[0], .mac = {0x52, 0x54, 0, 0xab, 0xcd, 0xef},
					 .vnet_hdr_len = 10};
	assert_int_equal(nk_virtio_blk_create(&bcfg, &blk, &err), 0);
	assert_int_equal(nk_virtio_rng_create(&rng, &err), 0);
	assert_int_equal(nk_virtio_net_create(&ncfg, &net, &err), 0);
	assert_int_equal(nk_virtio_mmio_create(nk_virtio_blk_dev(blk), &vm.mem, &vm.irq, &blk_t, &err), 0);
	assert_int_equal(nk_virtio_mmio_create(nk_virtio_rng_dev(rng), &vm.mem, &vm.irq, &rng_t, &err), 0);
	assert_int_equal(nk_virtio_mmio_create(nk_virtio_net_dev(net), &vm.mem, &vm.irq, &net_t, &err), 0);

	transcript_len = 0;
	transcript[0] = '\0';
	arp_replies = 0;
	struct vg_env env = {
		.print = guest_print, .relax = host_relax,
		.blk_base = BLK_BASE, .net_base = NET_BASE, .rng_base = RNG_BASE,
		.dma = vm.mem.host + DMA_GPA, .dma_gpa = DMA_GPA, .dma_len = RAM_SIZE - DMA_GPA,
		.ram_bytes = RAM_SIZE, .ip = GUEST_IP, .peer_ip = PEER_IP, .hostile = hostile,
	};
	int failed = virtio_guest_run(&env);
	fputs(transcript, stdout); /* print_message cuts at 1 KiB */
	assert_int_equal(failed, 0);
	assert_int_equal(arp_replies, 1);
	/* The blk checks really wrote the disk. */
	uint8_t sector1[512];
	assert_int_equal(pread(fd, sector1, 512, 512), 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(sector1[i], (uint8_t)(i * 13 + 7));

	nk_virtio_mmio_destroy(blk_t);
	nk_virtio_mmio_destroy(rng_t);
	nk_virtio_mmio_destroy(net_t);
	nk_virtio_blk_destroy(blk);
	nk_virtio_rng_destroy(rng);
	nk_virtio_net_destroy(net);
	close(fd);
	close(sp[0]);
	close(sp[1]);
	fv_guards_intact(&vm);
	free(vm.block);
}

static void guest_checks_pass(void **state)
{
	(void)state;
	run_guest(0);
	const char *want[] = {
		"virtio-blk: capacity 64 sectors\n",
		"virtio-blk: write sectors 1-2 ok\n",
		"virtio-blk: read back sectors 1-2 ok\n",
		"virtio-blk: flush ok\n",
		"virtio-blk: get id \"guest-disk\" ok\n",
		"virtio-blk: read past the end refused ok\n",
		"virtio-rng: 64 random bytes, twice ok\n",
		"virtio-net: mac 52:54:00:ab:cd:ef ok\n",
		"virtio-net: send a 60-byte frame ok\n",
		"virtio-net: receive the ARP reply ok\n",
		"virtio: done, 10 ok, 0 failed\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(transcript, want[i]))
			fail_msg("missing from the transcript: %s", want[i]);
	assert_null(strstr(transcript, "hostile"));
}

static void guest_hostile_mode(void **state)
{
	(void)state;
	run_guest(1);
	const char *want[] = {
		"virtio-blk: hostile: read into a read-only buffer refused ok\n",
		"virtio-blk: hostile: request without a status byte -> needs reset ok\n",
		"virtio-blk: hostile: works again after reset ok\n",
		"virtio-rng: hostile: descriptor loop -> needs reset ok\n",
		"virtio-rng: hostile: nested indirect table -> needs reset ok\n",
		"virtio-rng: hostile: queue size 3 refused ok\n",
		"virtio-rng: hostile: ring outside RAM refused ok\n",
		"virtio-rng: hostile: queue registers rewritten while ready ignored ok\n",
		"virtio: done, 26 ok, 0 failed\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(transcript, want[i]))
			fail_msg("missing from the transcript: %s", want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_checks_pass),
		cmocka_unit_test(guest_hostile_mode),
	};
	return cmocka_run_group_tests_name("virtio guest driver", tests, NULL, NULL);
}
