/* Unit tests for virtio-blk against a temporary file: reads, writes, flush, get-id,
 * read-only disks, and requests that must fail without touching the file. */
#include "test_virtio_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "core/vm/virtio-blk.h"

#define DISK_BYTES (1024 * 512 + 100) /* 1024 sectors and a partial one */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define HDR_GPA DATA_GPA
#define STATUS_GPA (DATA_GPA + 0x100)
#define BUF_GPA (DATA_GPA + 0x1000)

static struct fake_vm vm;
static struct nk_virtio_blk *blk;
static int fd = -1;
static uint8_t disk0[DISK_BYTES]; /* what the file held at the start */

static void open_disk(bool read_only)
{
	char path[] = "/tmp/nook-blk-XXXXXX";
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(disk0); i++)
		disk0[i] = (uint8_t)(i * 7 + i / 512);
	assert_int_equal(write(fd, disk0, sizeof(disk0)), (ssize_t)sizeof(disk0));
	if (read_only) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		int ro = open(self, O_RDONLY | O_CLOEXEC);
		assert_true(ro >= 0);
		close(fd);
		fd = ro;
	}
	struct nk_err err = {0};
	struct nk_virtio_blk_cfg cfg = {.fd = fd, .read_only = read_only, .serial = "nook-test-serial"};
	if (nk_virtio_blk_create(&cfg, &blk, &err) != 0)
		fail_msg("%s", err.msg);
	fv_init(&vm);
	fv_attach(&vm, nk_virtio_blk_dev(blk));
	fv_up(&vm, 1ull << NK_VIRTIO_F_INDIRECT_DESC, 1, 256);
}

static int setup_rw(void **state)
{
	(void)state;
	open_disk(false);
	return 0;
}

static int setup_ro(void **state)
{
	(void)state;
	open_disk(true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fv_fini(&vm);
	nk_virtio_blk_destroy(blk);
	close(fd);
	return 0;
}

static void disk_read(uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
}

static void disk_unchanged(void)
{
	static uint8_t now[DISK_BYTES];
	disk_read(0, now, sizeof(now));
	assert_memory_equal(now, disk0, sizeof(now));
}

static void put_hdr(uint32_t type, uint64_t sector)
{
	uint8_t *h = gp(&vm, HDR_GPA);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
}

/* Run one chain through the device; returns the status byte, *used the used length. */
static uint8_t run(const struct fbuf *b, int n, uint32_t *used)
{
	*(uint8_t *)gp(&vm, STATUS_GPA) = 0xee;
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, b, n));
	fv_kick(&vm, 0);
	uint32_t id = 0, len = 0;
	assert_true(fv_used(&vm, 0, &id, &len));
	assert_int_equal(id, 0);
	if (used)
		*used = len;
	assert_false(fv_needs_reset(&vm));
	return *(uint8_t *)gp(&vm, STATUS_GPA);
}

/* The common three-part request: header, data (len bytes at BUF_GPA), status. */
static uint8_t simple(uint32_t type, uint64_t sector, uint32_t len, bool data_writable, uint32_t *used)
{
	put_hdr(type, sector);
	struct fbuf b[] = {{HDR_GPA, 16, false}, {BUF_GPA, len, data_writable}, {STATUS_GPA, 1, true}};
	if (len == 0) {
		b[1] = b[2];
		return run(b, 2, used);
	}
	return run(b, 3, used);
}

static void config_and_features(void **state)
{
	(void)state;
	uint64_t cap = 0;
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG, &cap, 8);
	assert_int_equal(cap, 1024); /* the partial sector is not visible */
	uint32_t lo = 0, hi = 0, seg_max = 0;
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG, &lo, 4);
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG + 4, &hi, 4);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 0);
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG + 12, &seg_max, 4);
	assert_int_equal(seg_max, 254);
	uint8_t past = 0;
	nk_virtio_mmio_bus_ops.read(vm.t, NK_VIRTIO_MMIO_CONFIG + 200, &past, 1);
	assert_int_equal(past, 0xff);
	uint64_t f = device_features(&vm);
	assert_true(f & (1u << 9));   /* FLUSH */
	assert_true(f & (1u << 2));   /* SEG_MAX */
	assert_false(f & (1u << 5));  /* not RO */
	assert_int_equal(mr(&vm, NK_VIRTIO_MMIO_DEVICE_ID), 2);
}

static void write_then_read(void **state)
{
	(void)state;
	uint8_t *buf = gp(&vm, BUF_GPA);
	for (int i = 0; i < 1024; i++)
		buf[i] = (uint8_t)(0x80 ^ i);
	uint32_t used = 0;
	assert_int_equal(simple(T_OUT, 5, 1024, false, &used), S_OK);
	assert_int_equal(used, 1);
	uint8_t got[1024];
	disk_read(5 * 512, got, sizeof(got));
	assert_memory_equal(got, buf, 1024);
	/* Nothing else moved. */
	uint8_t before[512], after[512];
	disk_read(4 * 512, before, 512);
	assert_memory_equal(before, disk0 + 4 * 512, 512);
	disk_read(7 * 512, after, 512);
	assert_memory_equal(after, disk0 + 7 * 512, 512);
	/* Read it back, scattered over three writable buffers of odd sizes. */
	memset(gp(&vm, BUF_GPA + 0x2000), 0, 0x3000);
	put_hdr(T_IN, 5);
	struct fbuf b[] = {{HDR_GPA, 16, false}, {BUF_GPA + 0x2000, 100, true},
			   {BUF_GPA + 0x3000, 900, true}, {BUF_GPA + 0x4000, 24, true}, {STATUS_GPA, 1, true}};
	assert_int_equal(run(b, 5, &used), S_OK);
	assert_int_equal(used, 1025);
	assert_memory_equal(gp(&vm, BUF_GPA + 0x2000), buf, 100);
	assert_memory_equal(gp(&vm, BUF_GPA + 0x3000), buf + 100, 900);
	assert_memory_equal(gp(&vm, BUF_GPA + 0x4000), buf + 1000, 24);
	/* The last sector is reachable. */
	assert_int_equal(simple(T_IN, 1023, 512, true, &used), S_OK);
	assert_memory_equal(gp(&vm, BUF_GPA), disk0 + 1023 * 512, 512);
	assert_int_equal(vm.raises, 1);
}

static void header_and_status_share_buffers(void **state)
{
	(void)state;
	/* Linux may put the data and the status byte in one buffer: framing is by bytes. */
	put_hdr(T_IN, 2);
	struct fbuf joined[] = {{HDR_GPA, 16, false}, {BUF_GPA, 513, true}};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, joined, 2));
	fv_kick(&vm, 0);
	uint32_t id = 0, len = 0;
	assert_true(fv_used(&vm, 0, &id, &len));
	assert_int_equal(len, 513);
	assert_memory_equal(gp(&vm, BUF_GPA), disk0 + 2 * 512, 512);
	assert_int_equal(*(uint8_t *)gp(&vm, BUF_GPA + 512), S_OK);
}

static void indirect_request(void **state)
{
	(void)state;
	uint64_t table = 0x30000;
	put_hdr(T_IN, 9);
	fv_desc_at(&vm, table, 0, HDR_GPA, 16, NK_VQ_DESC_F_NEXT, 1);
	fv_desc_at(&vm, table, 1, BUF_GPA, 512, NK_VQ_DESC_F_NEXT | NK_VQ_DESC_F_WRITE, 2);
	fv_desc_at(&vm, table, 2, STATUS_GPA, 1, NK_VQ_DESC_F_WRITE, 0);
	fv_desc(&vm, 0, 0, table, 48, NK_VQ_DESC_F_INDIRECT, 0);
	fv_post(&vm, 0, 0);
	fv_kick(&vm, 0);
	uint32_t id = 0, len = 0;
	assert_true(fv_used(&vm, 0, &id, &len));
	assert_int_equal(len, 513);
	assert_int_equal(*(uint8_t *)gp(&vm, STATUS_GPA), S_OK);
	assert_memory_equal(gp(&vm, BUF_GPA), disk0 + 9 * 512, 512);
}

static void flush_and_get_id(void **state)
{
	(void)state;
	uint32_t used = 0;
	assert_int_equal(simple(T_FLUSH, 0, 0, false, &used), S_OK);
	assert_int_equal(used, 1);
	memset(gp(&vm, BUF_GPA), 0x77, 32);
	assert_int_equal(simple(T_GET_ID, 0, 20, true, &used), S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(gp(&vm, BUF_GPA), "nook-test-serial\0\0\0\0", 20);
	assert_int_equal(*(uint8_t *)gp(&vm, BUF_GPA + 20), 0x77);
	assert_int_equal(simple(99, 0, 512, true, &used), S_UNSUPP);
	assert_int_equal(used, 1);
	disk_unchanged();
}

static void out_of_range_fails_and_leaves_the_file(void **state)
{
	(void)state;
	memset(gp(&vm, BUF_GPA), 0xcc, 4096);
	const struct {
		uint64_t sector;
		uint32_t len;
	} bad[] = {
		{1023, 1024},                       /* runs one sector past the end */
		{1024, 512},                        /* starts at the end */
		{5000, 512},
		{UINT64_MAX, 512},                  /* sector * 512 overflows */
		{UINT64_MAX / 512 + 1, 512},
		{(UINT64_MAX - 511) / 512, 1024},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(simple(T_OUT, bad[i].sector, bad[i].len, false, NULL), S_IOERR);
		assert_int_equal(simple(T_IN, bad[i].sector, bad[i].len, true, NULL), S_IOERR);
	}
	/* Not whole sectors. */
	assert_int_equal(simple(T_OUT, 0, 100, false, NULL), S_IOERR);
	assert_int_equal(simple(T_IN, 0, 513, true, NULL), S_IOERR);
	/* A header shorter than 16 bytes. */
	put_hdr(T_OUT, 0);
	struct fbuf shorthdr[] = {{HDR_GPA, 8, false}, {STATUS_GPA, 1, true}};
	assert_int_equal(run(shorthdr, 2, NULL), S_IOERR);
	disk_unchanged();
	for (int i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)gp(&vm, BUF_GPA))[i], 0xcc);
}

/* A read whose data buffer is device-readable: refused, the buffer is not written. */
static void read_into_readonly_buffer_fails(void **state)
{
	(void)state;
	memset(gp(&vm, BUF_GPA), 0xcc, 512);
	uint32_t used = 0;
	assert_int_equal(simple(T_IN, 3, 512, false, &used), S_IOERR);
	assert_int_equal(used, 1);
	for (int i = 0; i < 512; i++)
		assert_int_equal(((uint8_t *)gp(&vm, BUF_GPA))[i], 0xcc);
}

static void no_status_byte_needs_reset(void **state)
{
	(void)state;
	put_hdr(T_IN, 0);
	struct fbuf b[] = {{HDR_GPA, 16, false}, {BUF_GPA, 512, false}};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, b, 2));
	fv_kick(&vm, 0);
	assert_int_equal(fv_used_idx(&vm, 0), 0);
	assert_true(fv_needs_reset(&vm));
	struct nk_err err = {0};
	assert_true(nk_virtio_mmio_take_error(vm.t, &err));
	assert_non_null(strstr(err.msg, "status byte"));
	disk_unchanged();
}

/* A hostile chain in the middle of good ones: the good ones before it complete. */
static void hostile_chain_stops_the_queue(void **state)
{
	(void)state;
	put_hdr(T_IN, 1);
	struct fbuf good[] = {{HDR_GPA, 16, false}, {BUF_GPA, 512, true}, {STATUS_GPA, 1, true}};
	fv_post(&vm, 0, fv_chain(&vm, 0, 0, good, 3));
	fv_desc(&vm, 0, 3, HDR_GPA, 16, NK_VQ_DESC_F_NEXT, 4);
	fv_desc(&vm, 0, 4, RAM_SIZE - 100, 512, NK_VQ_DESC_F_NEXT | NK_VQ_DESC_F_WRITE, 5);
	fv_desc(&vm, 0, 5, STATUS_GPA, 1, NK_VQ_DESC_F_WRITE, 0);
	fv_post(&vm, 0, 3);
	fv_post(&vm, 0, fv_chain(&vm, 0, 6, good, 3));
	fv_kick(&vm, 0);
	assert_int_equal(fv_used_idx(&vm, 0), 1);
	assert_true(fv_needs_reset(&vm));
	disk_unchanged();
}

static void read_only_disk(void **state)
{
	(void)state;
	assert_true(device_features(&vm) & (1u << 5));
	memset(gp(&vm, BUF_GPA), 0xab, 1024);
	uint32_t used = 0;
	assert_int_equal(simple(T_OUT, 0, 1024, false, &used), S_IOERR);
	assert_int_equal(used, 1);
	disk_unchanged();
	assert_int_equal(simple(T_IN, 0, 512, true, NULL), S_OK);
	assert_memory_equal(gp(&vm, BUF_GPA), disk0, 512);
	assert_int_equal(simple(T_FLUSH, 0, 0, false, NULL), S_OK);
}

static void create_refuses_bad_backing(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_virtio_blk *b = NULL;
	struct nk_virtio_blk_cfg cfg = {.fd = 9999};
	assert_int_equal(nk_virtio_blk_create(&cfg, &b, &err), -EBADF);
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cfg.fd = ro;
	assert_int_equal(nk_virtio_blk_create(&cfg, &b, &err), -EBADF);
	assert_non_null(strstr(err.msg, "read-only"));
	cfg.read_only = true;
	assert_int_equal(nk_virtio_blk_create(&cfg, &b, &err), -EINVAL); /* a char device */
	assert_non_null(strstr(err.msg, "regular file or a block device"));
	close(ro);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_and_features, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(write_then_read, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(header_and_status_share_buffers, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(indirect_request, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(flush_and_get_id, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(out_of_range_fails_and_leaves_the_file, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(read_into_readonly_buffer_fails, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(no_status_byte_needs_reset, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(hostile_chain_stops_the_queue, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(read_only_disk, setup_ro, teardown),
		cmocka_unit_test(create_refuses_bad_backing),
	};
	return cmocka_run_group_tests_name("virtio-blk", tests, NULL, NULL);
}
