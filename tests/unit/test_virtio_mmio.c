/* Unit tests for the virtio-mmio transport (registers, negotiation, queues, interrupts,
 * reset, the kick hook) and for virtio-rng, which is the simplest device behind it. */
#include "test_virtio_util.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "core/vm/virtio-rng.h"

static struct fake_vm vm;
static struct nk_virtio_rng *rng;

static int setup(void **state)
{
	(void)state;
	struct nk_err err = {0};
	fv_init(&vm);
	assert_int_equal(nk_virtio_rng_create(&rng, &err), 0);
	fv_attach(&vm, nk_virtio_rng_dev(rng));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fv_fini(&vm);
	nk_virtio_rng_destroy(rng);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* One writable buffer of len at gpa through queue 0; returns the used length. */
static uint32_t rng_request(uint64_t gpa, uint32_t len)
{
	struct fbuf b = {gpa, len, true};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, &b, 1));
	fv_kick(&vm, 0);
	uint32_t id = 0, used = 0;
	assert_true(fv_used(&vm, 0, &id, &used));
	assert_int_equal(id, 0);
	return used;
}

static void identity_registers(void **state)
{
	(void)state;
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_DEVICE_ID), 4);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_VENDOR_ID), NK_VIRTIO_MMIO_VENDOR);
	uint64_t f = device_features(&vm);
	assert_true(f & (1ull << NK_VIRTIO_F_VERSION_1));
	assert_true(f & (1ull << NK_VIRTIO_F_INDIRECT_DESC));
	mw(&vm, NK_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_DEVICE_FEATURES), 0);
	mw(&vm, NK_VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	mw(&vm, NK_VIRTIO_MMIO_QUEUE_SEL, 1); /* rng has one queue */
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_READY), 0);
	/* Registers want aligned 32-bit accesses: anything else reads all-ones, writes nothing. */
	uint16_t h = 0;
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_MAGIC_VALUE, &h, 2);
	assert_int_equal(h, 0xffff);
	uint32_t x = 0;
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_MAGIC_VALUE + 1, &x, 4);
	assert_int_equal(x, 0xffffffff);
	uint8_t b = NK_VIRTIO_S_ACKNOWLEDGE;
	nk_virtio_mmio_bus_ops.write(vm.t, NK_VIRTIO_MMIO_STATUS, &b, 1);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_STATUS), 0);
	/* No config space: all-ones. */
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG, &x, 4);
	assert_int_equal(x, 0xffffffff);
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_SIZE - 2, &x, 4); /* past the window */
	assert_int_equal(x, 0xffffffff);
}

static void negotiation_needs_version_1(void **state)
{
	(void)state;
	struct nk_err err = {0};
	/* A legacy driver (no VERSION_1) does not get FEATURES_OK. */
	assert_false(fv_negotiate(&vm, 0) & NK_VIRTIO_S_FEATURES_OK);
	assert_true(nk_virtio_mmio_take_error(vm.t, &err));
	assert_non_null(strstr(err.msg, "VERSION_1"));
	/* Nor does one accepting a feature that was not offered. */
	assert_false(fv_negotiate(&vm, (1ull << NK_VIRTIO_F_VERSION_1) | (1ull << 40)) &
		     NK_VIRTIO_S_FEATURES_OK);
	assert_true(nk_virtio_mmio_take_error(vm.t, &err));
	assert_non_null(strstr(err.msg, "not offered"));
	assert_false(nk_virtio_mmio_take_error(vm.t, &err));
	/* DRIVER_OK without FEATURES_OK is not taken. */
	fv_driver_ok(&vm);
	assert_false(mr(&vm, NK_VIRTIO_MMIO_STATUS) & NK_VIRTIO_S_DRIVER_OK);
	/* A good driver. */
	assert_true(fv_negotiate(&vm, 1ull << NK_VIRTIO_F_VERSION_1) & NK_VIRTIO_S_FEATURES_OK);
	assert_int_equal(nk_virtio_mmio_features(vm.t), 1ull << NK_VIRTIO_F_VERSION_1);
	/* Features are frozen after FEATURES_OK. */
	mw(&vm, NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mw(&vm, NK_VIRTIO_MMIO_DRIVER_FEATURES, 1u << NK_VIRTIO_F_INDIRECT_DESC);
	assert_int_equal(nk_virtio_mmio_features(vm.t), 1ull << NK_VIRTIO_F_VERSION_1);
	/* Clearing status bits without a reset is ignored; the driver cannot set NEEDS_RESET. */
	mw(&vm, NK_VIRTIO_MMIO_STATUS, NK_VIRTIO_S_ACKNOWLEDGE);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_STATUS),
			 NK_VIRTIO_S_ACKNOWLEDGE | NK_VIRTIO_S_DRIVER | NK_VIRTIO_S_FEATURES_OK);
	mw(&vm, NK_VIRTIO_MMIO_STATUS, mr(&vm, NK_VIRTIO_MMIO_STATUS) | NK_VIRTIO_S_NEEDS_RESET);
	assert_false(fv_needs_reset(&vm));
}

static void rng_fills_buffers_and_interrupts(void **state)
{
	(void)state;
	fv_up(&vm, 0, 1, 64);
	assert_int_equal(rng_request(DATA_GPA, 64), 64);
	assert_false(all_zero(gp(&vm, DATA_GPA), 64));
	assert_true(all_zero(gp(&vm, DATA_GPA + 64), 4096)); /* not a byte more */
	assert_int_equal(vm.raises, 1);
	assert_int_equal(vm.level, 1);
	/* Level-triggered: the line stays up until the driver ACKs. */
	assert_int_equal(rng_request(DATA_GPA + 4096, 4096), 4096);
	assert_int_equal(vm.raises, 1);
	assert_int_equal(fv_ack(&vm), NK_VIRTIO_INT_USED);
	assert_int_equal(vm.level, 0);
	assert_int_equal(vm.lowers, 1);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Big requests get at most 64 KiB. */
	assert_int_equal(rng_request(DATA_GPA, 200000), 65536);
	assert_int_equal(vm.raises, 2);
	/* The driver suppresses interrupts. */
	fv_ack(&vm);
	*(uint16_t *)gp(&vm, vm.q[0].avail) = NK_VQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(rng_request(DATA_GPA, 16), 16);
	assert_int_equal(vm.raises, 2);
}

static void rng_never_writes_readable_buffers(void **state)
{
	(void)state;
	fv_up(&vm, 0, 1, 64);
	memset(gp(&vm, DATA_GPA), 0x5a, 128);
	struct fbuf b[] = {{DATA_GPA, 64, false}, {DATA_GPA + 64, 64, true}};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, b, 2));
	fv_kick(&vm, 0);
	uint32_t id, len;
	assert_true(fv_used(&vm, 0, &id, &len));
	assert_int_equal(len, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(((uint8_t *)gp(&vm, DATA_GPA))[i], 0x5a);
	/* A chain that is only readable gets nothing. */
	fv_post(&vm, 0, fv_chain(&vm, 0, 2, b, 1));
	fv_kick(&vm, 0);
	assert_true(fv_used(&vm, 0, &id, &len));
	assert_int_equal(len, 0);
}

/* Buffers made available before DRIVER_OK wait for it. */
static void nothing_before_driver_ok(void **state)
{
	(void)state;
	assert_true(fv_negotiate(&vm, 1ull << NK_VIRTIO_F_VERSION_1) & NK_VIRTIO_S_FEATURES_OK);
	fv_queue(&vm, 0, 64);
	struct fbuf b = {DATA_GPA, 32, true};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, &b, 1));
	fv_kick(&vm, 0);
	assert_int_equal(fv_used_idx(&vm, 0), 0);
	fv_driver_ok(&vm);
	assert_int_equal(fv_used_idx(&vm, 0), 1);
}

/* Decision: queue registers written while the queue is ready are ignored. */
static void queue_registers_frozen_when_ready(void **state)
{
	(void)state;
	fv_up(&vm, 0, 1, 64);
	fv_queue_regs(&vm, 0, 3, 0x20008, 0x21001, 0x22002); /* garbage */
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_READY), 1);
	assert_false(fv_needs_reset(&vm));
	assert_int_equal(rng_request(DATA_GPA, 32), 32); /* still the original rings */
	assert_int_equal(fv_used_idx(&vm, 0), 1);
	/* QueueReady = 0 stops the queue; then it may be moved. */
	mw(&vm, NK_VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_READY), 0);
	fv_post(&vm, 0, 0);
	fv_kick(&vm, 0);
	assert_int_equal(fv_used_idx(&vm, 0), 1);
}

static void bad_queue_setup_needs_reset(void **state)
{
	(void)state;
	const struct {
		uint32_t size;
		uint64_t desc, avail, used;
	} bad[] = {
		{3, 0x10000, 0x11000, 0x12000},       /* not a power of two */
		{128, 0x10000, 0x11000, 0x12000},     /* larger than QueueNumMax (64) */
		{0, 0x10000, 0x11000, 0x12000},
		{64, 0x10004, 0x11000, 0x12000},      /* descriptor table misaligned */
		{64, 0x10000, 0x11003, 0x12000},      /* avail misaligned */
		{64, 0x10000, 0x11000, 0x12006},      /* used misaligned */
		{64, RAM_SIZE - 512, 0x11000, 0x12000}, /* straddles the end of RAM */
		{64, 0x10000, 0x11000, 0xfeb00000ull}, /* in the MMIO hole, not RAM */
		{64, 0x10000, 0x100011000ull, 0x12000}, /* high half set */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nk_err err = {0};
		assert_true(fv_negotiate(&vm, 1ull << NK_VIRTIO_F_VERSION_1) & NK_VIRTIO_S_FEATURES_OK);
		fv_queue_regs(&vm, 0, bad[i].size, bad[i].desc, bad[i].avail, bad[i].used);
		mw(&vm, NK_VIRTIO_MMIO_QUEUE_READY, 1);
		assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_READY), 0);
		assert_true(fv_needs_reset(&vm));
		assert_true(nk_virtio_mmio_take_error(vm.t, &err));
		assert_non_null(strstr(err.msg, "virtio-rng queue 0"));
	}
	/* Reset clears NEEDS_RESET and a correct set-up works. */
	mw(&vm, NK_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_STATUS), 0);
	fv_up(&vm, 0, 1, 64);
	assert_int_equal(rng_request(DATA_GPA, 8), 8);
}

static void broken_chain_needs_reset(void **state)
{
	(void)state;
	fv_up(&vm, 0, 1, 64);
	fv_desc(&vm, 0, 0, DATA_GPA, 8, NK_VQ_DESC_F_WRITE | NK_VQ_DESC_F_NEXT, 0); /* self loop */
	fv_post(&vm, 0, 0);
	fv_kick(&vm, 0);
	assert_true(fv_needs_reset(&vm));
	assert_int_equal(fv_used_idx(&vm, 0), 0);
	/* The driver hears about it through a config-change interrupt. */
	assert_int_equal(vm.level, 1);
	assert_int_equal(fv_ack(&vm), NK_VIRTIO_INT_CONFIG);
	struct nk_err err = {0};
	assert_true(nk_virtio_mmio_take_error(vm.t, &err));
	assert_non_null(strstr(err.msg, "virtio-rng queue 0: chain 0"));
	/* Nothing more is processed, not even good requests. */
	struct fbuf b = {DATA_GPA, 8, true};
	fv_chain(&vm, 0, 1, &b, 1);
	fv_post(&vm, 0, 1);
	fv_kick(&vm, 0);
	assert_int_equal(fv_used_idx(&vm, 0), 0);
	/* Reset lowers the line and brings the device back. */
	mw(&vm, NK_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vm.level, 0);
	fv_up(&vm, 0, 1, 64);
	assert_int_equal(rng_request(DATA_GPA, 8), 8);
}

static void reset_forgets_everything(void **state)
{
	(void)state;
	fv_up(&vm, 1ull << NK_VIRTIO_F_INDIRECT_DESC, 1, 64);
	assert_int_equal(rng_request(DATA_GPA, 8), 8);
	assert_int_equal(vm.level, 1);
	mw(&vm, NK_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vm.level, 0);
	assert_int_equal(nk_virtio_mmio_features(vm.t), 0);
	mw(&vm, NK_VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_QUEUE_READY), 0);
	/* Old buffers are not processed after the reset. */
	fv_post(&vm, 0, 0);
	fv_kick(&vm, 0);
	assert_int_equal(fv_used_idx(&vm, 0), 1);
}

static void config_change_interrupt(void **state)
{
	(void)state;
	nk_virtio_mmio_config_changed(vm.t); /* before DRIVER_OK: no interrupt */
	assert_int_equal(vm.raises, 0);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_CONFIG_GENERATION), 1);
	fv_up(&vm, 0, 1, 64);
	nk_virtio_mmio_config_changed(vm.t);
	assert_int_equal(vm.raises, 1);
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_CONFIG_GENERATION), 2);
	assert_int_equal(fv_ack(&vm), NK_VIRTIO_INT_CONFIG);
}

/* The VMM's I/O thread: kicks arrive on a pipe, work happens there. */
struct io_thread {
	int pipe[2];
	pthread_t thread;
	int kicks;
};

static void pipe_kick(void *opaque, uint16_t queue)
{
	struct io_thread *io = opaque;
	assert_int_equal(write(io->pipe[1], &queue, sizeof(queue)), (ssize_t)sizeof(queue));
}

static void *io_main(void *arg)
{
	struct io_thread *io = arg;
	uint16_t q;
	while (read(io->pipe[0], &q, sizeof(q)) == (ssize_t)sizeof(q)) {
		io->kicks++;
		nk_virtio_mmio_notify(vm.t, q);
	}
	return NULL;
}

static void kick_hook_moves_io_off_the_vcpu(void **state)
{
	(void)state;
	struct io_thread io = {0};
	assert_int_equal(pipe(io.pipe), 0);
	nk_virtio_mmio_set_kick(vm.t, pipe_kick, &io);
	assert_int_equal(pthread_create(&io.thread, NULL, io_main, &io), 0);
	fv_up(&vm, 0, 1, 64);
	/* Many requests, while the "vCPU" also resets and re-initialises the device: nothing
	 * may be used twice or outside RAM, and the last round must complete. */
	for (int round = 0; round < 50; round++) {
		for (uint16_t i = 0; i < 32; i++) {
			struct fbuf b = {DATA_GPA + 64u * i, 64, true};
			fv_post(&vm, 0, fv_chain(&vm, 0, i, &b, 1));
			fv_kick(&vm, 0);
		}
		if (round < 49) {
			mw(&vm, NK_VIRTIO_MMIO_STATUS, 0);
			fv_up(&vm, 0, 1, 64);
		}
	}
	for (int spin = 0; spin < 5000 && fv_used_idx(&vm, 0) != 32; spin++)
		usleep(1000);
	assert_int_equal(fv_used_idx(&vm, 0), 32);
	close(io.pipe[1]);
	assert_int_equal(pthread_join(io.thread, NULL), 0);
	close(io.pipe[0]);
	assert_true(io.kicks >= 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identity_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(negotiation_needs_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(rng_fills_buffers_and_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(rng_never_writes_readable_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_before_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_registers_frozen_when_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_queue_setup_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_chain_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_forgets_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(config_change_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(kick_hook_moves_io_off_the_vcpu, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtio-mmio", tests, NULL, NULL);
}
