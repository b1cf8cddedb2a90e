/* Unit tests for the virtqueue chain walker: good chains, and every way a guest can lie. */
#include "test_virtio_util.h"

#include <errno.h>

static struct fake_vm vm;
static struct nk_virtq vq;

static int setup(void **state)
{
	(void)state;
	fv_init(&vm);
	memset(&vq, 0, sizeof(vq));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fv_guards_intact(&vm);
	free(vm.block);
	return 0;
}

/* Queue 0 laid out like fv_queue does, enabled directly (no transport). */
static void enable(uint16_t size, bool indirect)
{
	struct nk_err err = {0};
	vm.q[0] = (struct fq){.size = size, .desc = 0x10000, .avail = 0x11000, .used = 0x12000};
	if (nk_virtq_enable(&vq, &vm.mem, size, NK_VQ_MAX_SIZE, 0x10000, 0x11000, 0x12000, indirect, &err))
		fail_msg("%s", err.msg);
}

static void expect_broken(const char *why)
{
	struct nk_vq_chain c;
	assert_int_equal(nk_virtq_pop(&vq, &c), -EINVAL);
	assert_true(vq.broken);
	if (!strstr(vq.err.msg, why))
		fail_msg("expected \"%s\" in \"%s\"", why, vq.err.msg);
	/* Broken stays broken, and a broken queue reads nothing more. */
	assert_int_equal(nk_virtq_pop(&vq, &c), -EIO);
	assert_int_equal(fv_used_idx(&vm, 0), 0);
	fv_guards_intact(&vm);
}

static void enable_refuses_bad_layouts(void **state)
{
	(void)state;
	struct nk_err err = {0};
	const struct {
		uint32_t size;
		uint64_t desc, avail, used;
		const char *why;
	} bad[] = {
		{0, 0x10000, 0x11000, 0x12000, "power of two"},
		{3, 0x10000, 0x11000, 0x12000, "power of two"},
		{100, 0x10000, 0x11000, 0x12000, "power of two"},
		{512, 0x10000, 0x11000, 0x12000, "power of two"},  /* > max */
		{65536, 0x10000, 0x11000, 0x12000, "power of two"},
		{8, 0x10008, 0x11000, 0x12000, "descriptor table"}, /* misaligned */
		{8, 0x10000, 0x11001, 0x12000, "available ring"},
		{8, 0x10000, 0x11000, 0x12002, "used ring"},
		{8, RAM_SIZE, 0x11000, 0x12000, "descriptor table"}, /* outside RAM */
		{8, RAM_SIZE - 64, 0x11000, 0x12000, "descriptor table"}, /* straddles the end */
		{8, 0x10000, RAM_SIZE - 10, 0x12000, "available ring"},
		{8, 0x10000, 0x11000, RAM_SIZE - 32, "used ring"},
		{8, 0xfffffffffffffff0ull, 0x11000, 0x12000, "descriptor table"}, /* wraps */
		{8, 0x10000, 0x11000, 0xfffffffffffffffcull, "used ring"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nk_err_clear(&err);
		assert_int_equal(nk_virtq_enable(&vq, &vm.mem, bad[i].size, NK_VQ_MAX_SIZE, bad[i].desc,
						 bad[i].avail, bad[i].used, false, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("case %zu: expected \"%s\" in \"%s\"", i, bad[i].why, err.msg);
		assert_int_equal(vq.size, 0);
	}
	/* The smaller of the device's and our own maximum applies. */
	assert_int_equal(nk_virtq_enable(&vq, &vm.mem, 128, 64, 0x10000, 0x11000, 0x12000, false, &err),
			 -EINVAL);
	assert_int_equal(nk_virtq_enable(&vq, &vm.mem, 64, 64, 0x10000, 0x11000, 0x12000, false, &err), 0);
	/* A queue right at the end of RAM is fine. */
	assert_int_equal(nk_virtq_enable(&vq, &vm.mem, 8, 64, RAM_SIZE - 128, RAM_SIZE - 20,
					 RAM_SIZE - 68, false, &err), 0);
}

static void pop_push_simple(void **state)
{
	(void)state;
	enable(8, false);
	struct nk_vq_chain c;
	assert_int_equal(nk_virtq_pop(&vq, &c), 0); /* empty */
	struct fbuf b[] = {{DATA_GPA, 16, false}, {DATA_GPA + 100, 3, false}, {DATA_GPA + 200, 512, true},
			   {DATA_GPA + 1000, 1, true}};
	fv_post(&vm, 0, fv_chain(&vm, 0, 2, b, 4));
	assert_int_equal(nk_virtq_pop(&vq, &c), 1);
	assert_int_equal(c.head, 2);
	assert_int_equal(c.nread, 2);
	assert_int_equal(c.nwrite, 2);
	assert_int_equal(c.read_len, 19);
	assert_int_equal(c.write_len, 513);
	assert_ptr_equal(c.seg[0].host, gp(&vm, DATA_GPA));
	assert_ptr_equal(c.seg[3].host, gp(&vm, DATA_GPA + 1000));
	assert_int_equal(nk_virtq_pop(&vq, &c), 0);
	nk_virtq_push(&vq, &c, 9999); /* clamped to what is writable */
	uint32_t id, len;
	assert_true(fv_used(&vm, 0, &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 513);
	assert_true(nk_virtq_should_signal(&vq));
	assert_false(nk_virtq_should_signal(&vq)); /* nothing new since */
	/* The driver asks not to be interrupted. */
	*(uint16_t *)gp(&vm, vm.q[0].avail) = NK_VQ_AVAIL_F_NO_INTERRUPT;
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, b, 1));
	assert_int_equal(nk_virtq_pop(&vq, &c), 1);
	nk_virtq_push(&vq, &c, 0);
	assert_false(nk_virtq_should_signal(&vq));
}

static void chain_copy_helpers(void **state)
{
	(void)state;
	enable(8, false);
	struct fbuf b[] = {{DATA_GPA, 3, false}, {DATA_GPA + 10, 5, false}, {DATA_GPA + 100, 4, true},
			   {DATA_GPA + 200, 4, true}};
	memcpy(gp(&vm, DATA_GPA), "abc", 3);
	memcpy(gp(&vm, DATA_GPA + 10), "defgh", 5);
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, b, 4));
	struct nk_vq_chain c;
	assert_int_equal(nk_virtq_pop(&vq, &c), 1);
	char buf[16] = {0};
	assert_int_equal(nk_vq_chain_read(&c, 2, buf, 10), 6);
	assert_string_equal(buf, "cdefgh");
	assert_int_equal(nk_vq_chain_write(&c, 1, "1234567890", 10), 7);
	assert_memory_equal(gp(&vm, DATA_GPA + 100), "\0" "123", 4);
	assert_memory_equal(gp(&vm, DATA_GPA + 200), "4567", 4);
	struct iovec iov[4];
	assert_int_equal(nk_vq_chain_iov(&c, false, 1, 6, iov, 4), 2);
	assert_int_equal(iov[0].iov_len, 2);
	assert_int_equal(iov[1].iov_len, 4);
	assert_int_equal(nk_vq_chain_iov(&c, true, 0, 8, iov, 4), 2);
	assert_int_equal(nk_vq_chain_iov(&c, true, 0, 9, iov, 4), -ERANGE);
	assert_int_equal(nk_vq_chain_iov(&c, true, 9, 0, iov, 4), -ERANGE);
	assert_int_equal(nk_vq_chain_iov(&c, true, 0, 8, iov, 1), -ERANGE);
	assert_int_equal(nk_vq_chain_iov(&c, false, UINT64_MAX, 2, iov, 4), -ERANGE);
	/* Unpop: the same chain comes back. */
	nk_virtq_unpop(&vq);
	assert_int_equal(nk_virtq_pop(&vq, &c), 1);
	assert_int_equal(c.head, 0);
}

static void indirect_table(void **state)
{
	(void)state;
	enable(4, true);
	uint64_t table = 0x30000;
	fv_desc_at(&vm, table, 0, DATA_GPA, 16, NK_VQ_DESC_F_NEXT, 1);
	fv_desc_at(&vm, table, 1, DATA_GPA + 512, 512, NK_VQ_DESC_F_NEXT | NK_VQ_DESC_F_WRITE, 2);
	fv_desc_at(&vm, table, 2, DATA_GPA + 2048, 1, NK_VQ_DESC_F_WRITE, 0);
	/* The WRITE flag on the indirect descriptor itself means nothing. */
	fv_desc(&vm, 0, 3, table, 48, NK_VQ_DESC_F_INDIRECT | NK_VQ_DESC_F_WRITE, 0);
	fv_post(&vm, 0, 3);
	struct nk_vq_chain c;
	assert_int_equal(nk_virtq_pop(&vq, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.nread, 1);
	assert_int_equal(c.nwrite, 2);
	assert_int_equal(c.write_len, 513);
	/* A full-size table (NK_VQ_MAX_SEGS entries) in a tiny queue is fine. */
	for (uint16_t i = 0; i < NK_VQ_MAX_SEGS; i++)
		fv_desc_at(&vm, table, i, DATA_GPA + i, 1, NK_VQ_DESC_F_WRITE | NK_VQ_DESC_F_NEXT,
			   (uint16_t)(i + 1));
	fv_desc_at(&vm, table, NK_VQ_MAX_SEGS - 1, DATA_GPA, 1, NK_VQ_DESC_F_WRITE, 0);
	fv_desc(&vm, 0, 0, table, NK_VQ_MAX_SEGS * 16, NK_VQ_DESC_F_INDIRECT, 0);
	fv_post(&vm, 0, 0);
	assert_int_equal(nk_virtq_pop(&vq, &c), 1);
	assert_int_equal(c.nwrite, NK_VQ_MAX_SEGS);
}

/* Free-running 16-bit indexes wrap; the device must follow. */
static void index_wraparound(void **state)
{
	(void)state;
	enable(4, false);
	struct fbuf b = {DATA_GPA, 8, true};
	fv_chain(&vm, 0, 1, &b, 1);
	struct nk_vq_chain c;
	for (unsigned i = 0; i < 70000; i++) {
		fv_post(&vm, 0, 1);
		assert_int_equal(nk_virtq_pop(&vq, &c), 1);
		nk_virtq_push(&vq, &c, 8);
		assert_int_equal(fv_used_idx(&vm, 0), (uint16_t)(i + 1));
	}
	assert_int_equal(nk_virtq_pop(&vq, &c), 0);
}

static void hostile_head_out_of_range(void **state)
{
	(void)state;
	enable(8, false);
	fv_post(&vm, 0, 8);
	expect_broken("past the queue size");
}

static void hostile_next_out_of_range(void **state)
{
	(void)state;
	enable(8, false);
	fv_desc(&vm, 0, 0, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 200);
	fv_post(&vm, 0, 0);
	expect_broken("descriptor index 200");
}

static void hostile_loop(void **state)
{
	(void)state;
	enable(8, false);
	fv_desc(&vm, 0, 0, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 1);
	fv_desc(&vm, 0, 1, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 0);
	fv_post(&vm, 0, 0);
	expect_broken("a loop");
}

static void hostile_self_loop(void **state)
{
	(void)state;
	enable(256, false);
	fv_desc(&vm, 0, 7, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 7);
	fv_post(&vm, 0, 7);
	expect_broken("a loop");
}

/* Every descriptor of the table used once, and one more link: longer than the queue. */
static void hostile_chain_longer_than_queue(void **state)
{
	(void)state;
	enable(16, false);
	for (uint16_t i = 0; i < 16; i++)
		fv_desc(&vm, 0, i, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, (uint16_t)((i + 1) % 16));
	fv_post(&vm, 0, 0);
	expect_broken("longer than 16");
}

static void hostile_loop_in_indirect_table(void **state)
{
	(void)state;
	enable(8, true);
	fv_desc_at(&vm, 0x30000, 0, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 1);
	fv_desc_at(&vm, 0x30000, 1, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 0);
	fv_desc(&vm, 0, 0, 0x30000, 32, NK_VQ_DESC_F_INDIRECT, 0);
	fv_post(&vm, 0, 0);
	expect_broken("a loop");
}

static void hostile_buffers(void **state)
{
	(void)state;
	const struct {
		uint64_t addr;
		uint32_t len;
		const char *why;
	} bad[] = {
		{RAM_SIZE, 1, "not inside guest RAM"},                 /* just past RAM */
		{RAM_SIZE - 4, 5, "not inside guest RAM"},             /* straddles the end */
		{0xfffffffffffffff0ull, 0x100, "not inside guest RAM"}, /* addr + len wraps */
		{UINT64_MAX, 1, "not inside guest RAM"},
		{DATA_GPA, 0xffffffffu, "not inside guest RAM"},        /* huge length */
		{0x100000000ull, 16, "not inside guest RAM"},          /* MMIO/high addresses */
		{DATA_GPA, 0, "length 0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&vq, 0, sizeof(vq));
		memset(gp(&vm, 0x10000), 0, 0x4000);
		enable(8, false);
		fv_desc(&vm, 0, 0, DATA_GPA, 16, NK_VQ_DESC_F_NEXT, 1);
		fv_desc(&vm, 0, 1, bad[i].addr, bad[i].len, NK_VQ_DESC_F_WRITE, 0);
		fv_post(&vm, 0, 0);
		expect_broken(bad[i].why);
	}
}

static void hostile_total_length(void **state)
{
	(void)state;
	/* Two buffers of 3 GiB cannot exist in 1 MiB of RAM; use a bigger fake RAM view of
	 * the same memory to reach the total-length check (nothing is touched). */
	struct nk_vm_mem big = {.host = vm.mem.host, .size = 1ull << 40};
	struct nk_err err = {0};
	assert_int_equal(nk_virtq_enable(&vq, &big, 8, 8, 0x10000, 0x11000, 0x12000, false, &err), 0);
	vm.q[0] = (struct fq){.size = 8, .desc = 0x10000, .avail = 0x11000, .used = 0x12000};
	fv_desc(&vm, 0, 0, 1ull << 32, 0xc0000000u, NK_VQ_DESC_F_NEXT, 1);
	fv_desc(&vm, 0, 1, 1ull << 33, 0xc0000000u, 0, 0);
	fv_post(&vm, 0, 0);
	expect_broken("4 GiB");
}

static void hostile_readable_after_writable(void **state)
{
	(void)state;
	enable(8, false);
	struct fbuf b[] = {{DATA_GPA, 16, false}, {DATA_GPA + 16, 16, true}, {DATA_GPA + 32, 16, false}};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, b, 3));
	expect_broken("readable buffer after a device-writable");
}

static void hostile_avail_idx_far_ahead(void **state)
{
	(void)state;
	enable(8, false);
	struct fbuf b = {DATA_GPA, 16, true};
	fv_chain(&vm, 0, 0, &b, 1);
	fv_set_avail_idx(&vm, 0, 9);
	expect_broken("ahead");
	/* And "behind" is just as far ahead modulo 2^16. */
	memset(&vq, 0, sizeof(vq));
	enable(8, false);
	fv_set_avail_idx(&vm, 0, 0xffff);
	expect_broken("ahead");
}

static void hostile_indirect(void **state)
{
	(void)state;
	const struct {
		bool negotiated;
		uint64_t table;
		uint32_t len;
		uint16_t flags;
		const char *why;
	} bad[] = {
		{false, 0x30000, 32, NK_VQ_DESC_F_INDIRECT, "not negotiated"},
		{true, 0x30000, 24, NK_VQ_DESC_F_INDIRECT, "multiple of 16"},
		{true, 0x30000, 0, NK_VQ_DESC_F_INDIRECT, "multiple of 16"},
		{true, 0x30000, (NK_VQ_MAX_SEGS + 1) * 16, NK_VQ_DESC_F_INDIRECT, "multiple of 16"},
		{true, RAM_SIZE - 16, 32, NK_VQ_DESC_F_INDIRECT, "not inside guest RAM"},
		{true, 0xfffffffffffffff0ull, 32, NK_VQ_DESC_F_INDIRECT, "not inside guest RAM"},
		{true, 0x30000, 32, NK_VQ_DESC_F_INDIRECT | NK_VQ_DESC_F_NEXT, "chained"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&vq, 0, sizeof(vq));
		memset(gp(&vm, 0x10000), 0, 0x4000);
		enable(8, bad[i].negotiated);
		fv_desc_at(&vm, 0x30000, 0, DATA_GPA, 8, NK_VQ_DESC_F_WRITE, 0);
		fv_desc(&vm, 0, 0, bad[i].table, bad[i].len, bad[i].flags, 1);
		fv_desc(&vm, 0, 1, DATA_GPA, 8, 0, 0);
		fv_post(&vm, 0, 0);
		expect_broken(bad[i].why);
	}
	/* Nested: an indirect descriptor inside an indirect table. */
	memset(&vq, 0, sizeof(vq));
	enable(8, true);
	fv_desc_at(&vm, 0x30000, 0, 0x30100, 16, NK_VQ_DESC_F_INDIRECT, 0);
	fv_desc(&vm, 0, 0, 0x30000, 16, NK_VQ_DESC_F_INDIRECT, 0);
	fv_post(&vm, 0, 0);
	expect_broken("nested");
	/* Not at the head of the chain. */
	memset(&vq, 0, sizeof(vq));
	enable(8, true);
	fv_desc_at(&vm, 0x30000, 0, DATA_GPA, 8, 0, 0);
	fv_desc(&vm, 0, 0, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 1);
	fv_desc(&vm, 0, 1, 0x30000, 16, NK_VQ_DESC_F_INDIRECT, 0);
	fv_post(&vm, 0, 0);
	expect_broken("chained");
	/* Index out of range inside the table. */
	memset(&vq, 0, sizeof(vq));
	enable(8, true);
	fv_desc_at(&vm, 0x30000, 0, DATA_GPA, 8, NK_VQ_DESC_F_NEXT, 2);
	fv_desc(&vm, 0, 0, 0x30000, 32, NK_VQ_DESC_F_INDIRECT, 0);
	fv_post(&vm, 0, 0);
	expect_broken("past the indirect table");
}

/* A device-found failure (nk_virtq_fail) stops the queue like a walker failure. */
static void device_fail(void **state)
{
	(void)state;
	enable(8, false);
	assert_int_equal(nk_virtq_fail(&vq, "request %d is odd", 7), -EINVAL);
	assert_true(vq.broken);
	assert_string_equal(vq.err.msg, "request 7 is odd");
	struct nk_vq_chain c = {0};
	nk_virtq_push(&vq, &c, 0); /* ignored on a broken queue */
	assert_int_equal(fv_used_idx(&vm, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(enable_refuses_bad_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(pop_push_simple, setup, teardown),
		cmocka_unit_test_setup_teardown(chain_copy_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_table, setup, teardown),
		cmocka_unit_test_setup_teardown(index_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_self_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_chain_longer_than_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_loop_in_indirect_table, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_total_length, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_avail_idx_far_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(device_fail, setup, teardown),
	};
	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
