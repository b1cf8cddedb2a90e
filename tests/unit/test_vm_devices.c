/* Unit tests for the VMM's own devices and loaders, without KVM: 8250 UART, i8042,
 * KVM stats parsing, bzImage/ELF loading with hostile headers, the MP table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm/boot.h"
#include "core/vm/i8042.h"
#include "core/vm/kvm-stats.h"
#include "core/vm/serial8250.h"

struct line {
	int level, changes;
};

static int line_set(void *opaque, uint32_t gsi, int level)
{
	struct line *l = opaque;
	(void)gsi;
	if (l->level != level)
		l->changes++;
	l->level = level;
	return 0;
}

struct sink {
	uint8_t buf[256];
	size_t len;
	int room_calls;
};

static void sink_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	for (size_t i = 0; i < len && s->len < sizeof(s->buf); i++)
		s->buf[s->len++] = buf[i];
}

static void sink_room(void *opaque)
{
	((struct sink *)opaque)->room_calls++;
}

static uint8_t rd(void *dev, const struct nk_vm_dev_ops *ops, uint64_t off)
{
	uint8_t v = 0;
	ops->read(dev, off, &v, 1);
	return v;
}

static void wr(void *dev, const struct nk_vm_dev_ops *ops, uint64_t off, uint8_t v)
{
	ops->write(dev, off, &v, 1);
}

static void serial_output_input_and_interrupts(void **state)
{
	(void)state;
	struct line l = {0};
	struct sink s = {0};
	struct nk_vm_irq irq = {.set = line_set, .opaque = &l, .gsi = 4};
	struct nk_serial_host host = {.tx = sink_tx, .rx_room = sink_room, .opaque = &s};
	struct nk_serial *u;
	struct nk_err err = {0};
	assert_int_equal(nk_serial_create(&irq, &host, &u, &err), 0);
	const struct nk_vm_dev_ops *ops = &nk_serial_ops;

	/* Output goes to the host; the transmitter is always ready. */
	wr(u, ops, 0, 'h');
	wr(u, ops, 0, 'i');
	assert_int_equal(s.len, 2);
	assert_memory_equal(s.buf, "hi", 2);
	assert_int_equal(rd(u, ops, 5) & 0x60, 0x60);
	assert_int_equal(rd(u, ops, 2) & 0x01, 1); /* nothing pending */
	/* The divisor latch hides THR. */
	wr(u, ops, 3, 0x83);
	wr(u, ops, 0, 0x01);
	assert_int_equal(rd(u, ops, 0), 0x01);
	wr(u, ops, 3, 0x03);
	assert_int_equal(s.len, 2);

	/* THRE interrupt: raised on enable (OUT2 set), cleared by reading IIR. */
	wr(u, ops, 4, 0x08);
	wr(u, ops, 1, 0x02);
	assert_int_equal(l.level, 1);
	assert_int_equal(rd(u, ops, 2) & 0x0f, 0x02);
	assert_int_equal(l.level, 0);

	/* Input: data ready, RDI interrupt, read in order, then quiet. */
	wr(u, ops, 1, 0x01);
	assert_int_equal(nk_serial_rx_push(u, (const uint8_t *)"ok", 2), 2);
	assert_int_equal(l.level, 1);
	assert_int_equal(rd(u, ops, 2) & 0x0f, 0x04);
	assert_int_equal(rd(u, ops, 5) & 0x01, 1);
	assert_int_equal(rd(u, ops, 0), 'o');
	assert_int_equal(rd(u, ops, 0), 'k');
	assert_int_equal(rd(u, ops, 5) & 0x01, 0);
	assert_int_equal(l.level, 0);

	/* A full input ring takes no more, and says when room comes back. */
	static uint8_t big[NK_SERIAL_RX_CAP + 10];
	memset(big, 'x', sizeof(big));
	assert_int_equal(nk_serial_rx_push(u, big, sizeof(big)), NK_SERIAL_RX_CAP);
	assert_int_equal(nk_serial_rx_room(u), 0);
	assert_int_equal(s.room_calls, 0);
	rd(u, ops, 0);
	assert_int_equal(s.room_calls, 1);
	assert_int_equal(nk_serial_rx_room(u), 1);

	/* Loopback: output comes back as input, modem lines mirror MCR, no host output. */
	wr(u, ops, 2, 0x03); /* FIFO on, clear RX */
	wr(u, ops, 4, 0x1b);
	size_t before = s.len;
	wr(u, ops, 0, 'L');
	assert_int_equal(s.len, before);
	assert_int_equal(rd(u, ops, 0), 'L');
	assert_int_equal(rd(u, ops, 6) & 0xf0, 0xb0);
	/* Scratch register and wide accesses that run off the end. */
	wr(u, ops, 7, 0x5a);
	assert_int_equal(rd(u, ops, 7), 0x5a);
	uint32_t wide = 0;
	ops->read(u, 6, &wide, 4);
	assert_int_equal(wide >> 16, 0xffff);
	nk_serial_destroy(u);
}

static int resets;

static void on_reset(void *opaque)
{
	(void)opaque;
	resets++;
}

static void i8042_tests_reset_and_ctrl_alt_del(void **state)
{
	(void)state;
	struct line l = {0};
	struct nk_vm_irq irq = {.set = line_set, .opaque = &l, .gsi = 1};
	struct nk_i8042 *k;
	struct nk_err err = {0};
	assert_int_equal(nk_i8042_create(&irq, on_reset, NULL, &k, &err), 0);
	const struct nk_vm_dev_ops *cmd = &nk_i8042_cmd_ops, *data = &nk_i8042_data_ops;

	assert_int_equal(rd(k, cmd, 0) & 0x01, 0);
	wr(k, cmd, 0, 0xaa); /* self test */
	assert_int_equal(rd(k, cmd, 0) & 0x01, 1);
	assert_int_equal(rd(k, data, 0), 0x55);
	wr(k, cmd, 0, 0x20); /* read the command byte */
	assert_int_equal(rd(k, data, 0) & 0x01, 0x01);
	wr(k, data, 0, 0xff); /* keyboard reset */
	assert_int_equal(rd(k, data, 0), 0xfa);
	assert_int_equal(rd(k, data, 0), 0xaa);
	assert_int_equal(rd(k, cmd, 0) & 0x01, 0);
	assert_int_equal(rd(k, data, 0), 0); /* empty */

	nk_i8042_ctrl_alt_del(k);
	assert_int_equal(l.level, 1);
	const uint8_t want[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	for (size_t i = 0; i < sizeof(want); i++)
		assert_int_equal(rd(k, data, 0), want[i]);
	assert_int_equal(l.level, 0);

	assert_int_equal(resets, 0);
	wr(k, cmd, 0, 0xd1); /* write output port, bit 0 = 1: no reset */
	wr(k, data, 0, 0x03);
	assert_int_equal(resets, 0);
	wr(k, cmd, 0, 0xfe); /* pulse reset */
	assert_int_equal(resets, 1);
	wr(k, cmd, 0, 0xd1);
	wr(k, data, 0, 0x02);
	assert_int_equal(resets, 2);
	nk_i8042_destroy(k);
}

/* A file laid out like a KVM stats fd: header, id, descriptors, data. */
static int fake_stats_fd(void)
{
	int fd = memfd_create("stats", MFD_CLOEXEC);
	assert_true(fd >= 0);
	const uint32_t name_size = 32;
	struct kvm_stats_header h = {.name_size = name_size, .num_desc = 3, .id_offset = 24,
				     .desc_offset = 64, .data_offset = 512};
	assert_int_equal(pwrite(fd, &h, sizeof(h), 0), sizeof(h));
	const char *names[] = {"exits", "halt_wait_hist", "io_exits"};
	uint16_t sizes[] = {1, 4, 1};
	uint32_t offs[] = {0, 8, 40};
	size_t one = sizeof(struct kvm_stats_desc) + name_size;
	for (int i = 0; i < 3; i++) {
		uint8_t buf[64] = {0};
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)buf;
		d->flags = i == 1 ? KVM_STATS_TYPE_LOG_HIST : KVM_STATS_TYPE_CUMULATIVE;
		d->size = sizes[i];
		d->offset = offs[i];
		strcpy(d->name, names[i]);
		assert_int_equal(pwrite(fd, buf, one, 64 + (off_t)(one * (size_t)i)), (ssize_t)one);
	}
	uint64_t data[6] = {1234, 1, 2, 3, 4, 99};
	assert_int_equal(pwrite(fd, data, sizeof(data), 512), sizeof(data));
	return fd;
}

static void kvm_stats_parse_and_read(void **state)
{
	(void)state;
	struct nk_kvm_stats s;
	struct nk_err err = {0};
	assert_int_equal(nk_kvm_stats_open(&s, fake_stats_fd(), &err), 0);
	assert_int_equal(s.ndesc, 3);
	assert_int_equal(nk_kvm_stats_find(&s, "io_exits"), 2);
	assert_int_equal(nk_kvm_stats_find(&s, "nope"), -1);
	uint64_t v[3];
	assert_int_equal(nk_kvm_stats_read(&s, v, &err), 0);
	assert_int_equal(v[0], 1234);
	assert_int_equal(v[1], 10); /* a histogram reads as the sum of its buckets */
	assert_int_equal(v[2], 99);
	nk_kvm_stats_close(&s);

	/* An implausible header is refused, and the fd is still closed. */
	int fd = memfd_create("bad", MFD_CLOEXEC);
	struct kvm_stats_header h = {.name_size = 0, .num_desc = 1u << 30};
	assert_int_equal(pwrite(fd, &h, sizeof(h), 0), sizeof(h));
	assert_int_equal(nk_kvm_stats_open(&s, fd, &err), -EINVAL);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

struct guest {
	struct nk_vm_mem mem;
	char path[64];
};

static void guest_init(struct guest *g, uint64_t size)
{
	g->mem.size = size;
	g->mem.host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->mem.host != MAP_FAILED);
	snprintf(g->path, sizeof(g->path), "/tmp/nook-unit-kernel-%d", getpid());
}

static void guest_free(struct guest *g)
{
	munmap(g->mem.host, g->mem.size);
	unlink(g->path);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* A minimal bzImage: one setup sector, then pm_size bytes of "kernel". */
static size_t make_bzimage(uint8_t *img, size_t pm_size, uint16_t version, uint32_t init_size)
{
	memset(img, 0, 1024 + pm_size);
	img[0x1f1] = 1;
	memcpy(img + 0x1fe, "\x55\xaa", 2);
	img[0x200] = 0xeb;
	img[0x201] = 0x66; /* header up to 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	memcpy(img + 0x206, &version, 2);
	img[0x211] = 0x01;
	uint32_t cmdline_size = 255, initrd_max = 0x37ffffff;
	memcpy(img + 0x238, &cmdline_size, 4);
	memcpy(img + 0x22c, &initrd_max, 4);
	uint16_t xlf = 1;
	memcpy(img + 0x236, &xlf, 2);
	memcpy(img + 0x260, &init_size, 4);
	for (size_t i = 0; i < pm_size; i++)
		img[1024 + i] = (uint8_t)i;
	return 1024 + pm_size;
}

static void bzimage_loads_with_zero_page_and_e820(void **state)
{
	(void)state;
	struct guest g;
	struct nk_boot_image bi;
	struct nk_err err = {0};
	guest_init(&g, 32 << 20);
	static uint8_t img[1024 + 8192];
	write_file(g.path, img, make_bzimage(img, 8192, 0x20f, 1 << 20));
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), 0);
	assert_int_equal(bi.entry, 0x100200);
	assert_int_equal(bi.kernel_end, 0x100000 + (1 << 20));
	assert_int_equal(bi.cmdline_max, 256);
	assert_memory_equal(g.mem.host + 0x100000, img + 1024, 8192);
	const uint8_t *zp = g.mem.host + NK_BOOT_ZERO_PAGE;
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(zp[0x1e8], 4); /* e820: low RAM, MP table, BIOS, high RAM */
	uint64_t last_end;
	memcpy(&last_end, zp + 0x2d0 + 3 * 20 + 8, 8);
	assert_int_equal(last_end + 0x100000, 32 << 20);

	assert_int_equal(nk_boot_set_cmdline(&g.mem, &bi, "console=ttyS0", &err), 0);
	assert_string_equal((char *)g.mem.host + NK_BOOT_CMDLINE, "console=ttyS0");
	char long_cl[300];
	memset(long_cl, 'a', sizeof(long_cl) - 1);
	long_cl[sizeof(long_cl) - 1] = '\0';
	assert_int_equal(nk_boot_set_cmdline(&g.mem, &bi, long_cl, &err), -E2BIG);

	/* The initrd goes high, page-aligned, and the zero page points at it. */
	char rd_path[80];
	snprintf(rd_path, sizeof(rd_path), "%s.initrd", g.path);
	write_file(rd_path, "initrd!", 7);
	assert_int_equal(nk_boot_load_initrd(&g.mem, rd_path, &bi, &err), 0);
	assert_int_equal(bi.initrd_addr % 4096, 0);
	assert_true(bi.initrd_addr + 7 <= g.mem.size && bi.initrd_addr >= bi.kernel_end);
	uint32_t rd_addr;
	memcpy(&rd_addr, zp + 0x218, 4);
	assert_int_equal(rd_addr, bi.initrd_addr);
	assert_memory_equal(g.mem.host + bi.initrd_addr, "initrd!", 7);
	unlink(rd_path);
	guest_free(&g);
}

static void hostile_kernels_are_refused(void **state)
{
	(void)state;
	struct guest g;
	struct nk_boot_image bi;
	struct nk_err err = {0};
	guest_init(&g, 16 << 20);
	static uint8_t img[1024 + 4096];
	size_t n;

	n = make_bzimage(img, 4096, 0x20b, 0);
	write_file(g.path, img, n);
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "2.12"));

	n = make_bzimage(img, 4096, 0x20f, 0);
	img[0x236] = 0; /* no 64-bit entry */
	write_file(g.path, img, n);
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), -ENOEXEC);

	n = make_bzimage(img, 4096, 0x20f, 64u << 20); /* init_size larger than RAM */
	write_file(g.path, img, n);
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), -EFBIG);

	n = make_bzimage(img, 4096, 0x20f, 0);
	img[0x1f1] = 200; /* setup larger than the file */
	write_file(g.path, img, n);
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), -ENOEXEC);

	write_file(g.path, "not a kernel at all, just some words in a file.......", 50);
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), -ENOEXEC);

	/* An ELF whose segment lies outside RAM. */
	uint8_t elf[4096] = {0};
	memcpy(elf, "\x7f" "ELF\x02\x01\x01", 7);
	uint16_t type = 2, machine = 62, phentsize = 56, phnum = 1;
	uint64_t entry = 0x200000, phoff = 64;
	memcpy(elf + 16, &type, 2);
	memcpy(elf + 18, &machine, 2);
	memcpy(elf + 24, &entry, 8);
	memcpy(elf + 32, &phoff, 8);
	memcpy(elf + 54, &phentsize, 2);
	memcpy(elf + 56, &phnum, 2);
	uint32_t pt_load = 1;
	uint64_t off = 0, paddr = 0x200000, filesz = 128, memsz = 64ull << 20;
	memcpy(elf + 64, &pt_load, 4);
	memcpy(elf + 64 + 8, &off, 8);
	memcpy(elf + 64 + 24, &paddr, 8);
	memcpy(elf + 64 + 32, &filesz, 8);
	memcpy(elf + 64 + 40, &memsz, 8);
	write_file(g.path, elf, sizeof(elf));
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), -EFBIG);
	/* ... and one that fits loads, entry and all. */
	memsz = 4096;
	memcpy(elf + 64 + 40, &memsz, 8);
	write_file(g.path, elf, sizeof(elf));
	assert_int_equal(nk_boot_load_kernel(&g.mem, g.path, &bi, &err), 0);
	assert_int_equal(bi.entry, 0x200000);
	assert_int_equal(bi.elf, 1);
	guest_free(&g);
}

static void mptable_checksums_and_counts(void **state)
{
	(void)state;
	struct guest g;
	struct nk_err err = {0};
	guest_init(&g, 16 << 20);
	for (unsigned cpus = 1; cpus <= 64; cpus *= 4) {
		assert_int_equal(nk_mptable_write(&g.mem, cpus, &err), 0);
		const uint8_t *fp = g.mem.host + NK_BOOT_MPTABLE;
		assert_memory_equal(fp, "_MP_", 4);
		uint8_t sum = 0;
		for (int i = 0; i < 16; i++)
			sum += fp[i];
		assert_int_equal(sum, 0);
		uint32_t at;
		memcpy(&at, fp + 4, 4);
		const uint8_t *t = g.mem.host + at;
		assert_memory_equal(t, "PCMP", 4);
		uint16_t len, count;
		memcpy(&len, t + 4, 2);
		memcpy(&count, t + 34, 2);
		for (unsigned i = 0; i < len; i++)
			sum += t[i];
		assert_int_equal(sum, 0);
		unsigned procs = 0;
		const uint8_t *e = t + 44;
		for (unsigned i = 0; i < count; i++) {
			procs += e[0] == 0;
			e += e[0] == 0 ? 20 : 8;
		}
		assert_int_equal(procs, cpus);
		assert_ptr_equal(e, t + len);
	}
	assert_int_equal(nk_mptable_write(&g.mem, 0, &err), -EINVAL);
	guest_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(serial_output_input_and_interrupts),
	    cmocka_unit_test(i8042_tests_reset_and_ctrl_alt_del),
	    cmocka_unit_test(kvm_stats_parse_and_read),
	    cmocka_unit_test(bzimage_loads_with_zero_page_and_e820),
	    cmocka_unit_test(hostile_kernels_are_refused),
	    cmocka_unit_test(mptable_checksums_and_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
