/* Unit tests for the VMM's device bus: registration, overlap refusal, dispatch, all-ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/bus.h"

/* A fake device that records the last access it saw. */
struct fake {
	const char *name;
	int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint64_t written;
	uint8_t fill;
};

static void fake_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct fake *f = opaque;
	f->reads++;
	f->offset = offset;
	f->len = len;
	memset(data, f->fill, len);
}

static void fake_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct fake *f = opaque;
	f->writes++;
	f->offset = offset;
	f->len = len;
	f->written = 0;
	memcpy(&f->written, data, len);
}

static const struct nk_vm_dev_ops fake_ops = {.read = fake_read, .write = fake_write};
static const struct nk_vm_dev_ops write_only_ops = {.write = fake_write};

static void dispatch_reaches_the_right_device_and_offset(void **state)
{
	(void)state;
	struct nk_vm_buses b;
	struct nk_err err = {0};
	struct fake com1 = {.name = "com1", .fill = 0x11}, kbd = {.name = "kbd", .fill = 0x22},
		    blk = {.name = "blk", .fill = 0x33};
	nk_vm_buses_init(&b);
	assert_int_equal(nk_vm_bus_add(&b, "com1", NK_VM_BUS_PIO, 0x3f8, 8, &fake_ops, &com1, &err), 0);
	assert_int_equal(nk_vm_bus_add(&b, "kbd", NK_VM_BUS_PIO, 0x60, 1, &fake_ops, &kbd, &err), 0);
	assert_int_equal(nk_vm_bus_add(&b, "blk", NK_VM_BUS_MMIO, 0xd0000000, 0x200, &fake_ops, &blk, &err), 0);

	uint8_t v = 0x41;
	assert_int_equal(nk_vm_bus_write(&b, NK_VM_BUS_PIO, 0x3fb, &v, 1), 1);
	assert_int_equal(com1.writes, 1);
	assert_int_equal(com1.offset, 3);
	assert_int_equal(com1.len, 1);
	assert_int_equal(com1.written, 0x41);
	assert_int_equal(kbd.writes + blk.writes, 0);

	uint32_t d = 0;
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0xd0000070, &d, 4), 1);
	assert_int_equal(blk.reads, 1);
	assert_int_equal(blk.offset, 0x70);
	assert_int_equal(blk.len, 4);
	assert_int_equal(d, 0x33333333);

	uint64_t q = 0x1122334455667788ULL;
	assert_int_equal(nk_vm_bus_write(&b, NK_VM_BUS_MMIO, 0xd00001f8, &q, 8), 1);
	assert_int_equal(blk.offset, 0x1f8);
	assert_true(blk.written == 0x1122334455667788ULL);

	/* The same number on the other bus is another address. */
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0x60, &d, 1), 0);
	assert_int_equal(kbd.reads, 0);
	assert_int_equal(nk_vm_bus_add(&b, "mmio60", NK_VM_BUS_MMIO, 0x60, 1, &fake_ops, &kbd, &err), 0);
	nk_vm_buses_free(&b);
}

static void overlapping_ranges_are_refused(void **state)
{
	(void)state;
	struct nk_vm_buses b;
	struct nk_err err = {0};
	struct fake f = {0};
	nk_vm_buses_init(&b);
	assert_int_equal(nk_vm_bus_add(&b, "a", NK_VM_BUS_PIO, 0x100, 0x10, &fake_ops, &f, &err), 0);
	const struct {
		uint64_t base, len;
	} clash[] = {
		{0x100, 0x10}, /* the same */
		{0xf8, 0x10},  /* over the start */
		{0x10f, 1},    /* the last byte */
		{0x108, 0x20}, /* over the end */
		{0x104, 2},    /* inside */
		{0x80, 0x100}, /* around */
	};
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		nk_err_clear(&err);
		assert_int_equal(nk_vm_bus_add(&b, "b", NK_VM_BUS_PIO, clash[i].base, clash[i].len,
					       &fake_ops, &f, &err), -EEXIST);
		assert_non_null(strstr(err.msg, "overlaps a at 0x100"));
	}
	/* Touching is not overlapping. */
	assert_int_equal(nk_vm_bus_add(&b, "below", NK_VM_BUS_PIO, 0xf0, 0x10, &fake_ops, &f, &err), 0);
	assert_int_equal(nk_vm_bus_add(&b, "above", NK_VM_BUS_PIO, 0x110, 0x10, &fake_ops, &f, &err), 0);
	assert_int_equal(nk_vm_bus_add(&b, "between", NK_VM_BUS_PIO, 0x10f, 2, &fake_ops, &f, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "between"));
	nk_vm_buses_free(&b);
}

static void bad_registrations_are_refused(void **state)
{
	(void)state;
	struct nk_vm_buses b;
	struct nk_err err = {0};
	struct fake f = {0};
	static const struct nk_vm_dev_ops no_ops = {0};
	nk_vm_buses_init(&b);
	assert_int_equal(nk_vm_bus_add(&b, "zero", NK_VM_BUS_PIO, 0x10, 0, &fake_ops, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, "wrap", NK_VM_BUS_MMIO, UINT64_MAX - 1, 4, &fake_ops, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, "high", NK_VM_BUS_PIO, 0xfffe, 4, &fake_ops, &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "beyond 0xffff"));
	assert_int_equal(nk_vm_bus_add(&b, "", NK_VM_BUS_PIO, 0x10, 1, &fake_ops, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, NULL, NK_VM_BUS_PIO, 0x10, 1, &fake_ops, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, "a-name-that-is-far-too-long-for-a-device", NK_VM_BUS_PIO,
				       0x10, 1, &fake_ops, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, "noops", NK_VM_BUS_PIO, 0x10, 1, &no_ops, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, "nullops", NK_VM_BUS_PIO, 0x10, 1, NULL, &f, &err), -EINVAL);
	assert_int_equal(nk_vm_bus_add(&b, "bus", (enum nk_vm_bus)7, 0x10, 1, &fake_ops, &f, &err), -EINVAL);
	/* The last port is fine. */
	assert_int_equal(nk_vm_bus_add(&b, "last", NK_VM_BUS_PIO, 0xffff, 1, &fake_ops, &f, &err), 0);
	assert_int_equal(b.n[NK_VM_BUS_PIO], 1);
	assert_int_equal(b.n[NK_VM_BUS_MMIO], 0);
	nk_vm_buses_free(&b);
}

static void unclaimed_reads_are_all_ones_and_writes_dropped(void **state)
{
	(void)state;
	struct nk_vm_buses b;
	struct nk_err err = {0};
	struct fake f = {.fill = 0};
	nk_vm_buses_init(&b);
	assert_int_equal(nk_vm_bus_add(&b, "dev", NK_VM_BUS_MMIO, 0x1000, 0x10, &fake_ops, &f, &err), 0);
	for (uint32_t len = 1; len <= 8; len *= 2) {
		uint64_t d = 0;
		assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0x2000, &d, len), 0);
		uint64_t want = len == 8 ? UINT64_MAX : (1ULL << (8 * len)) - 1;
		assert_true(d == want);
		assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_PIO, 0x1000, &d, len), 0);
	}
	/* An access that runs past the device's end belongs to no device. */
	uint32_t d = 0;
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0x100e, &d, 4), 0);
	assert_int_equal(d, 0xffffffff);
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0xfff, &d, 2), 0);
	assert_int_equal(nk_vm_bus_write(&b, NK_VM_BUS_MMIO, 0x100e, &d, 4), 0);
	assert_int_equal(nk_vm_bus_write(&b, NK_VM_BUS_MMIO, 0x3000, &d, 4), 0);
	assert_int_equal(f.reads + f.writes, 0);
	/* Before the first device and on an empty bus too. */
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0, &d, 4), 0);
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_PIO, 0x80, &d, 1), 0);
	assert_int_equal(d & 0xff, 0xff);
	nk_vm_buses_free(&b);
}

static void missing_handler_means_all_ones_but_claimed(void **state)
{
	(void)state;
	struct nk_vm_buses b;
	struct nk_err err = {0};
	struct fake f = {0};
	nk_vm_buses_init(&b);
	assert_int_equal(nk_vm_bus_add(&b, "wo", NK_VM_BUS_PIO, 0x80, 1, &write_only_ops, &f, &err), 0);
	uint8_t v = 0;
	assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_PIO, 0x80, &v, 1), 1);
	assert_int_equal(v, 0xff);
	assert_int_equal(nk_vm_bus_write(&b, NK_VM_BUS_PIO, 0x80, &v, 1), 1);
	assert_int_equal(f.writes, 1);
	nk_vm_buses_free(&b);
}

/* Many devices registered out of order: the binary search finds each by every byte. */
static void many_devices_in_any_order(void **state)
{
	(void)state;
	struct nk_vm_buses b;
	struct nk_err err = {0};
	enum { N = 200 };
	static struct fake f[N];
	nk_vm_buses_init(&b);
	for (unsigned k = 0; k < N; k++) {
		unsigned i = (k * 73) % N; /* 73 is coprime with 200: a permutation */
		char name[16];
		snprintf(name, sizeof(name), "d%u", i);
		f[i] = (struct fake){.fill = (uint8_t)i};
		assert_int_equal(nk_vm_bus_add(&b, name, NK_VM_BUS_MMIO, 0xd0000000 + i * 0x1000, 0x200,
					       &fake_ops, &f[i], &err), 0);
	}
	for (size_t i = 1; i < b.n[NK_VM_BUS_MMIO]; i++)
		assert_true(b.devs[NK_VM_BUS_MMIO][i - 1].base < b.devs[NK_VM_BUS_MMIO][i].base);
	for (unsigned i = 0; i < N; i++) {
		uint8_t v = 0;
		assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0xd0000000 + i * 0x1000 + 0x1ff, &v, 1), 1);
		assert_int_equal(v, (uint8_t)i);
		assert_int_equal(f[i].offset, 0x1ff);
		/* The gap after each device is unclaimed. */
		assert_int_equal(nk_vm_bus_read(&b, NK_VM_BUS_MMIO, 0xd0000000 + i * 0x1000 + 0x200, &v, 1), 0);
	}
	const struct nk_vm_bus_dev *d = nk_vm_bus_find(&b, NK_VM_BUS_MMIO, 0xd0005010, 4);
	assert_non_null(d);
	assert_string_equal(d->name, "d5");
	nk_vm_buses_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dispatch_reaches_the_right_device_and_offset),
	    cmocka_unit_test(overlapping_ranges_are_refused),
	    cmocka_unit_test(bad_registrations_are_refused),
	    cmocka_unit_test(unclaimed_reads_are_all_ones_and_writes_dropped),
	    cmocka_unit_test(missing_handler_means_all_ones_but_claimed),
	    cmocka_unit_test(many_devices_in_any_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
