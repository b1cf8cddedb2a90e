/* Unit tests for virtio-net: TX and RX over a socketpair standing in for a tap, and once
 * over a real tap with IFF_VNET_HDR in a private network namespace.
 *
 * A pipe would not do as the stand-in: it has no frame boundaries. A SOCK_DGRAM
 * socketpair keeps them, like a tap, and the header length the device should assume is
 * given explicitly (cfg.vnet_hdr_len) because only a real tap can say it itself. */
#include "test_virtio_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "core/vm/virtio-net.h"

#define RXQ 0
#define TXQ 1
#define HDR 12
#define ETHERTYPE_TEST 0x88b5 /* IEEE "local experimental" */

static struct fake_vm vm;
static struct nk_virtio_net *net;
static int sp[2] = {-1, -1}; /* sp[0] is the "tap" the device owns; sp[1] the host side */
static int wakes;

static void count_wake(void *opaque)
{
	(void)opaque;
	wakes++;
}

static void start(int fd, int hdr_len)
{
	struct nk_err err = {0};
	struct nk_virtio_net_cfg cfg = {.tap_fd = fd, .mac = {0x52, 0x54, 0, 0x12, 0x34, 0x56},
					.vnet_hdr_len = hdr_len, .rx_wake = count_wake};
	if (nk_virtio_net_create(&cfg, &net, &err) != 0)
		fail_msg("%s", err.msg);
	fv_init(&vm);
	fv_attach(&vm, nk_virtio_net_dev(net));
	wakes = 0;
}

static int setup_hdr(int hdr_len)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	start(sp[0], hdr_len);
	fv_up(&vm, 1ull << 5, 2, 256);
	return 0;
}

static int setup10(void **state)
{
	(void)state;
	return setup_hdr(10);
}

static int setup0(void **state)
{
	(void)state;
	return setup_hdr(0);
}

static int teardown(void **state)
{
	(void)state;
	fv_fini(&vm);
	nk_virtio_net_destroy(net);
	close(sp[0]);
	close(sp[1]);
	return 0;
}

/* A test frame of len bytes (>= 14): broadcast, from the guest's MAC, our ethertype. */
static void frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x52\x54\x00\x12\x34\x56", 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
}

static void tx(uint16_t head, size_t len, uint8_t seed)
{
	uint64_t at = DATA_GPA + 0x10000 + head * 0x1000u;
	memset(gp(&vm, at), 0, HDR);
	frame(gp(&vm, at + HDR), len, seed);
	/* Header and frame in separate buffers, as Linux does without offloads. */
	struct fbuf b[] = {{at, HDR, false}, {at + HDR, (uint32_t)len, false}};
	fv_post(&vm, TXQ, fv_chain(&vm, TXQ, head, b, 2));
	fv_kick(&vm, TXQ);
}

static void rx_post(uint16_t head, uint32_t len)
{
	uint64_t at = DATA_GPA + head * 0x1000u;
	memset(gp(&vm, at), 0xee, len);
	struct fbuf b = {at, len, true};
	fv_post(&vm, RXQ, fv_chain(&vm, RXQ, head, &b, 1));
}

static void config_and_features(void **state)
{
	(void)state;
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_DEVICE_ID), 1);
	uint8_t mac[8];
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG, mac, 4);
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG + 4, mac + 4, 4);
	assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56\xff\xff", 8);
	uint64_t f = device_features(&vm);
	assert_true(f & (1u << 5));
	assert_false(f & 1u); /* no checksum offload */
	mw(&vm, NK_VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	assert_int_equal(fcntl(sp[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
}

static void tx_writes_header_and_frame(void **state)
{
	(void)state;
	tx(0, 60, 1);
	uint8_t got[2048], want[60];
	assert_int_equal(recv(sp[1], got, sizeof(got), MSG_DONTWAIT), 70);
	frame(want, sizeof(want), 1);
	assert_memory_equal(got, "\0\0\0\0\0\0\0\0\0\0", 10);
	assert_memory_equal(got + 10, want, 60);
	uint32_t id = 0, len = 9;
	assert_true(fv_used(&vm, TXQ, &id, &len));
	assert_int_equal(len, 0);
	assert_int_equal(vm.raises, 1);
	/* A frame in one buffer with its header, the largest a 1500 MTU allows. */
	uint64_t at = DATA_GPA;
	memset(gp(&vm, at), 0, HDR);
	frame(gp(&vm, at + HDR), 1514, 9);
	struct fbuf one = {at, HDR + 1514, false};
	fv_post(&vm, TXQ, fv_chain(&vm, TXQ, 5, &one, 1));
	fv_kick(&vm, TXQ);
	assert_int_equal(recv(sp[1], got, sizeof(got), MSG_DONTWAIT), 10 + 1514);
	assert_memory_equal(got + 10, gp(&vm, at + HDR), 1514);
	assert_int_equal(nk_virtio_net_dropped(net), 0);
}

static void tx_raw_frames(void **state)
{
	(void)state;
	tx(0, 100, 3);
	uint8_t got[256], want[100];
	frame(want, sizeof(want), 3);
	assert_int_equal(recv(sp[1], got, sizeof(got), MSG_DONTWAIT), 100);
	assert_memory_equal(got, want, 100);
}

static void tx_bad_requests_dropped(void **state)
{
	(void)state;
	/* Shorter than header + Ethernet header; a writable-only chain. */
	struct fbuf shortb = {DATA_GPA, HDR + 10, false};
	fv_post(&vm, TXQ, fv_chain(&vm, TXQ, 0, &shortb, 1));
	struct fbuf wonly = {DATA_GPA, 100, true};
	fv_post(&vm, TXQ, fv_chain(&vm, TXQ, 1, &wonly, 1));
	fv_kick(&vm, TXQ);
	assert_int_equal(fv_used_idx(&vm, TXQ), 2);
	assert_int_equal(nk_virtio_net_dropped(net), 2);
	uint8_t got[64];
	assert_int_equal(recv(sp[1], got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_false(fv_needs_reset(&vm));
}

static void host_sends(size_t len, uint8_t seed)
{
	uint8_t buf[4096] = {0};
	frame(buf + 10, len, seed);
	assert_int_equal(send(sp[1], buf, 10 + len, 0), (ssize_t)(10 + len));
}

static void rx_delivers_frames(void **state)
{
	(void)state;
	rx_post(0, HDR + 1514);
	rx_post(1, HDR + 1514);
	rx_post(2, HDR + 1514);
	assert_int_equal(nk_virtio_net_poll_rx(net), 0); /* nothing on the tap */
	host_sends(100, 7);
	host_sends(1514, 8);
	assert_int_equal(nk_virtio_net_poll_rx(net), 2);
	uint32_t id = 0, len = 0;
	assert_true(fv_used(&vm, RXQ, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, HDR + 100);
	uint8_t hdr[HDR] = {0}, want[1514];
	hdr[10] = 1; /* num_buffers */
	assert_memory_equal(gp(&vm, DATA_GPA), hdr, HDR);
	frame(want, 100, 7);
	assert_memory_equal(gp(&vm, DATA_GPA + HDR), want, 100);
	assert_int_equal(*(uint8_t *)gp(&vm, DATA_GPA + HDR + 100), 0xee); /* not a byte more */
	assert_true(fv_used(&vm, RXQ, &id, &len));
	assert_int_equal(len, HDR + 1514);
	frame(want, 1514, 8);
	assert_memory_equal(gp(&vm, DATA_GPA + 0x1000 + HDR), want, 1514);
	assert_int_equal(vm.raises, 1);
	/* Buffers run out: the VMM is told to stop watching the tap... */
	host_sends(60, 9);
	host_sends(60, 10);
	assert_int_equal(nk_virtio_net_poll_rx(net), -ENOBUFS);
	assert_true(fv_used(&vm, RXQ, &id, &len));
	assert_int_equal(id, 2);
	/* ...and woken when the guest posts more (the RX notify also delivers). */
	rx_post(3, HDR + 1514);
	rx_post(4, HDR + 1514);
	int before = wakes;
	fv_kick(&vm, RXQ);
	assert_int_equal(wakes, before + 1);
	assert_true(fv_used(&vm, RXQ, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, HDR + 60);
	assert_false(fv_used(&vm, RXQ, &id, &len));
}

static void rx_too_big_dropped(void **state)
{
	(void)state;
	rx_post(0, HDR + 64);
	rx_post(1, HDR + 64);
	host_sends(100, 1); /* does not fit */
	host_sends(64, 2);  /* fits exactly */
	assert_int_equal(nk_virtio_net_poll_rx(net), 1);
	assert_int_equal(nk_virtio_net_dropped(net), 1);
	uint32_t id = 0, len = 0;
	assert_true(fv_used(&vm, RXQ, &id, &len));
	assert_int_equal(len, HDR + 64);
	uint8_t want[64];
	frame(want, 64, 2);
	assert_memory_equal(gp(&vm, DATA_GPA + HDR), want, 64);
	assert_int_equal(*(uint8_t *)gp(&vm, DATA_GPA + HDR + 64), 0); /* past the buffer */
}

static void rx_useless_buffers_returned(void **state)
{
	(void)state;
	/* Read-only, and too small for a header and an Ethernet header. */
	memset(gp(&vm, DATA_GPA), 0x11, 2048);
	struct fbuf ro = {DATA_GPA, 2048, false};
	fv_post(&vm, RXQ, fv_chain(&vm, RXQ, 0, &ro, 1));
	struct fbuf tiny = {DATA_GPA + 0x1000, HDR + 14, true};
	fv_post(&vm, RXQ, fv_chain(&vm, RXQ, 1, &tiny, 1));
	host_sends(60, 1);
	assert_int_equal(nk_virtio_net_poll_rx(net), -ENOBUFS);
	assert_int_equal(fv_used_idx(&vm, RXQ), 2);
	for (int i = 0; i < 2048; i++)
		assert_int_equal(((uint8_t *)gp(&vm, DATA_GPA))[i], 0x11);
	assert_false(fv_needs_reset(&vm));
}

static void rx_before_driver_ok(void **state)
{
	(void)state;
	mw(&vm, NK_VIRTIO_MMIO_STATUS, 0);
	host_sends(60, 1);
	assert_int_equal(nk_virtio_net_poll_rx(net), -ENOBUFS);
	/* Buffers posted before DRIVER_OK are used once it is set. */
	assert_true(fv_negotiate(&vm, (1ull << NK_VIRTIO_F_VERSION_1) | (1ull << 5)) & NK_VIRTIO_S_FEATURES_OK);
	fv_queue(&vm, RXQ, 256);
	fv_queue(&vm, TXQ, 256);
	rx_post(0, HDR + 1514);
	fv_kick(&vm, RXQ);
	assert_int_equal(fv_used_idx(&vm, RXQ), 0);
	fv_driver_ok(&vm);
	assert_int_equal(fv_used_idx(&vm, RXQ), 1);
}

/* --- a real tap, in a child alone in a new network namespace --- */

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "tap child: %s failed (line %d): %s\n", #c, __LINE__, strerror(errno)); _exit(__LINE__ & 0x7f ? __LINE__ & 0x7f : 1); } } while (0)

static void real_tap_child(void)
{
	CHECK(unshare(CLONE_NEWNET) == 0);
	int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	CHECK(tap >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "nkvtest0");
	CHECK(ioctl(tap, TUNSETIFF, &ifr) == 0);
	int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(ctl >= 0);
	CHECK(ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	CHECK(ioctl(ctl, SIOCSIFFLAGS, &ifr) == 0);
	int ifindex = (int)if_nametoindex("nkvtest0");
	CHECK(ifindex > 0);
	int pk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE_TEST));
	CHECK(pk >= 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_TEST),
				  .sll_ifindex = ifindex};
	CHECK(bind(pk, (struct sockaddr *)&sll, sizeof(sll)) == 0);

	start(tap, -1); /* -1: the tap must be asked, never this value */
	fv_up(&vm, 1ull << 5, 2, 256);
	/* Guest to host: the frame arrives on the tap interface. */
	tx(0, 80, 4);
	uint8_t got[2048], want[1514];
	struct pollfd p = {.fd = pk, .events = POLLIN};
	CHECK(poll(&p, 1, 3000) == 1);
	CHECK(recv(pk, got, sizeof(got), 0) == 80);
	frame(want, 80, 4);
	CHECK(memcmp(got, want, 80) == 0);
	/* Host to guest: a frame sent out of the interface reaches the guest's buffer. Other
	 * frames (IPv6 router solicitations...) may come first: look for ours. */
	for (uint16_t i = 0; i < 16; i++)
		rx_post(i, HDR + 1514);
	frame(want, 200, 5);
	memcpy(want, "\x52\x54\x00\x12\x34\x56", 6);
	CHECK(sendto(pk, want, 200, 0, (struct sockaddr *)&sll, sizeof(sll)) == 200);
	bool found = false;
	for (int tries = 0; tries < 300 && !found; tries++) {
		p = (struct pollfd){.fd = tap, .events = POLLIN};
		poll(&p, 1, 10);
		int r = nk_virtio_net_poll_rx(net);
		CHECK(r >= 0 || r == -ENOBUFS);
		uint32_t id = 0, len = 0;
		while (fv_used(&vm, RXQ, &id, &len)) {
			if (len == HDR + 200 && memcmp(gp(&vm, DATA_GPA + id * 0x1000u + HDR), want, 200) == 0)
				found = true;
		}
	}
	CHECK(found);
	CHECK(nk_virtio_net_dropped(net) == 0);
	fv_fini(&vm);
	nk_virtio_net_destroy(net);
	close(tap);
	_exit(0);
}

static void real_tap(void **state)
{
	(void)state;
	const char *why = NULL;
	if (geteuid() != 0)
		why = "needs root";
	else if (access("/dev/net/tun", R_OK | W_OK) != 0)
		why = "needs /dev/net/tun";
	if (why) {
		if (getenv("NOOK_MUST_WORK"))
			fail_msg("real tap test %s (NOOK_MUST_WORK is set)", why);
		print_message("skipped: real tap test %s\n", why);
		skip();
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		real_tap_child();
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the tap child failed (status 0x%x; see its message above)", status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_and_features, setup10, teardown),
		cmocka_unit_test_setup_teardown(tx_writes_header_and_frame, setup10, teardown),
		cmocka_unit_test_setup_teardown(tx_raw_frames, setup0, teardown),
		cmocka_unit_test_setup_teardown(tx_bad_requests_dropped, setup10, teardown),
		cmocka_unit_test_setup_teardown(rx_delivers_frames, setup10, teardown),
		cmocka_unit_test_setup_teardown(rx_too_big_dropped, setup10, teardown),
		cmocka_unit_test_setup_teardown(rx_useless_buffers_returned, setup10, teardown),
		cmocka_unit_test_setup_teardown(rx_before_driver_ok, setup10, teardown),
		cmocka_unit_test(real_tap),
	};
	return cmocka_run_group_tests_name("virtio-net", tests, NULL, NULL);
}
