/* Unit tests for the ACPI tables (core/vm/acpi.c, aml.c) and the power/pvpanic ports:
 * checksums, the RSDP -> XSDT -> FADT/MADT/DSDT chain, one LAPIC per vCPU, and the DSDT
 * read back by a small AML reader of our own (devices, _HID, _UID, _CRS, \_S5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/acpi-pm.h"
#include "core/vm/acpi.h"
#include "core/vm/aml.h"
#include "core/vm/boot.h"
#include "core/vm/pvpanic.h"

#define AREA 0x10000
#define GPA 0xe0000

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* A table in the area by guest address: signature, length within bounds, checksum 0. */
static const uint8_t *table(const uint8_t *area, uint64_t gpa, const char *sig)
{
	assert_true(gpa >= GPA && gpa + 36 <= GPA + AREA);
	const uint8_t *t = area + (gpa - GPA);
	assert_memory_equal(t, sig, 4);
	uint32_t len = get32(t + 4);
	assert_true(len >= 36 && gpa + len <= GPA + AREA);
	assert_int_equal(sum(t, len), 0);
	return t;
}

/* ---- a small AML reader: enough to walk what a DSDT for a microVM holds ---- */

struct res {
	uint32_t mem_base, mem_len;
	int nmem;
	uint32_t gsi;
	int ext_irq, edge;
	uint16_t io[4];
	uint8_t io_len[4];
	int nio;
	int isa_irq; /* -1: none */
	int ended;
};

struct dev {
	char name[5];
	char hid[16];
	int has_uid;
	uint64_t uid;
	int has_crs;
	struct res crs;
};

struct reader {
	const uint8_t *p, *end;
	int bad;
	struct dev devs[32];
	int ndev;
	int s5[4], s5_n;
	int in_sb;
};

static uint8_t next(struct reader *r)
{
	if (r->p >= r->end) {
		r->bad = 1;
		return 0;
	}
	return *r->p++;
}

/* Returns where the package ends. */
static const uint8_t *pkg_length(struct reader *r)
{
	const uint8_t *start = r->p;
	uint8_t lead = next(r);
	unsigned extra = lead >> 6;
	uint32_t len = extra ? lead & 0x0f : lead & 0x3f;
	for (unsigned i = 0; i < extra; i++)
		len |= (uint32_t)next(r) << (4 + 8 * i);
	/* The smallest encoding, as the encoder promises. */
	if (extra && len < (extra == 1 ? 64u : extra == 2 ? (1u << 12) : (1u << 20)))
		r->bad = 1;
	if (len > (size_t)(r->end - start)) {
		r->bad = 1;
		return r->end;
	}
	return start + len;
}

static void name_seg(struct reader *r, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = (char)next(r);
	out[4] = '\0';
}

static int integer(struct reader *r, uint64_t *v)
{
	uint8_t op = next(r);
	unsigned n = op == NK_AML_BYTE ? 1 : op == NK_AML_WORD ? 2 : op == NK_AML_DWORD ? 4 : op == NK_AML_QWORD ? 8 : 0;
	if (op == NK_AML_ZERO || op == NK_AML_ONE) {
		*v = op;
		return 1;
	}
	if (!n)
		return 0;
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)next(r) << (8 * i);
	return 1;
}

static void parse_resources(struct reader *r, const uint8_t *p, size_t n, struct res *out)
{
	memset(out, 0, sizeof(*out));
	out->isa_irq = -1;
	const uint8_t *end = p + n;
	while (p < end && !out->ended) {
		uint8_t tag = *p;
		if (tag & 0x80) { /* large */
			if (end - p < 3) {
				r->bad = 1;
				return;
			}
			uint16_t len = get16(p + 1);
			if ((size_t)(end - p) < 3u + len) {
				r->bad = 1;
				return;
			}
			if (tag == NK_AML_RES_MEM32_FIXED && len == 9) {
				out->mem_base = get32(p + 4);
				out->mem_len = get32(p + 8);
				out->nmem++;
			} else if (tag == NK_AML_RES_EXT_IRQ && len >= 6 && p[4] == 1) {
				out->gsi = get32(p + 5);
				out->ext_irq = 1;
				out->edge = (p[3] & 0x02) != 0;
				assert_true(p[3] & 0x01); /* consumer */
			} else {
				r->bad = 1;
			}
			p += 3 + len;
		} else { /* small */
			unsigned len = tag & 0x07;
			if ((size_t)(end - p) < 1u + len) {
				r->bad = 1;
				return;
			}
			uint8_t type = tag & 0xf8;
			if (tag == NK_AML_RES_IO && out->nio < 4) {
				out->io[out->nio] = get16(p + 2);
				assert_int_equal(get16(p + 4), out->io[out->nio]);
				out->io_len[out->nio++] = p[7];
			} else if (type == (NK_AML_RES_IRQ & 0xf8)) {
				uint16_t mask = get16(p + 1);
				assert_int_equal(__builtin_popcount(mask), 1);
				out->isa_irq = __builtin_ctz(mask);
			} else if (tag == NK_AML_RES_END) {
				out->ended = 1;
			} else {
				r->bad = 1;
			}
			p += 1 + len;
		}
	}
	if (!out->ended || p != end)
		r->bad = 1;
}

static void eisa_decode(uint32_t v, char out[8])
{
	v = __builtin_bswap32(v);
	out[0] = (char)('A' - 1 + ((v >> 26) & 0x1f));
	out[1] = (char)('A' - 1 + ((v >> 21) & 0x1f));
	out[2] = (char)('A' - 1 + ((v >> 16) & 0x1f));
	snprintf(out + 3, 5, "%04X", v & 0xffff);
}

/* Name (seg, value) inside a device (dev) or at the root (dev NULL). */
static void parse_name(struct reader *r, struct dev *dev)
{
	char seg[5];
	name_seg(r, seg);
	uint8_t op = r->p < r->end ? *r->p : 0;
	if (op == NK_AML_STRING) {
		r->p++;
		const uint8_t *s = r->p;
		while (r->p < r->end && *r->p)
			r->p++;
		next(r);
		if (dev && !strcmp(seg, "_HID"))
			snprintf(dev->hid, sizeof(dev->hid), "%s", (const char *)s);
	} else if (op == NK_AML_BUFFER) {
		r->p++;
		const uint8_t *end = pkg_length(r);
		uint64_t size;
		if (!integer(r, &size) || size != (uint64_t)(end - r->p)) {
			r->bad = 1;
			return;
		}
		if (dev && !strcmp(seg, "_CRS")) {
			parse_resources(r, r->p, (size_t)size, &dev->crs);
			dev->has_crs = 1;
		}
		r->p = end;
	} else if (op == NK_AML_PACKAGE) {
		r->p++;
		const uint8_t *end = pkg_length(r);
		uint8_t count = next(r);
		for (unsigned i = 0; i < count && r->p < end; i++) {
			uint64_t v;
			if (!integer(r, &v))
				r->bad = 1;
			if (!dev && !strcmp(seg, "_S5_") && r->s5_n < 4)
				r->s5[r->s5_n++] = (int)v;
		}
		if (r->p != end)
			r->bad = 1;
	} else {
		uint64_t v;
		if (!integer(r, &v)) {
			r->bad = 1;
			return;
		}
		if (dev && !strcmp(seg, "_HID"))
			eisa_decode((uint32_t)v, dev->hid);
		if (dev && !strcmp(seg, "_UID")) {
			dev->has_uid = 1;
			dev->uid = v;
		}
	}
}

static void parse_terms(struct reader *r, const uint8_t *end, struct dev *dev)
{
	while (!r->bad && r->p < end) {
		uint8_t op = next(r);
		if (op == NK_AML_NAME) {
			parse_name(r, dev);
		} else if (op == NK_AML_SCOPE) {
			const uint8_t *body_end = pkg_length(r);
			int root = r->p < end && *r->p == NK_AML_ROOT;
			if (root)
				r->p++;
			char seg[5];
			name_seg(r, seg);
			int was = r->in_sb;
			r->in_sb = root && !strcmp(seg, "_SB_");
			parse_terms(r, body_end, NULL);
			r->in_sb = was;
			r->p = body_end;
		} else if (op == NK_AML_EXT && r->p < end && *r->p == NK_AML_EXT_DEVICE) {
			r->p++;
			const uint8_t *body_end = pkg_length(r);
			if (r->ndev >= 32 || !r->in_sb) {
				r->bad = 1;
				return;
			}
			struct dev *d = &r->devs[r->ndev++];
			memset(d, 0, sizeof(*d));
			name_seg(r, d->name);
			parse_terms(r, body_end, d);
			r->p = body_end;
		} else {
			r->bad = 1;
		}
	}
}

static const struct dev *find_hid(const struct reader *r, const char *hid, int nth)
{
	for (int i = 0; i < r->ndev; i++)
		if (!strcmp(r->devs[i].hid, hid) && nth-- == 0)
			return &r->devs[i];
	return NULL;
}

/* ---- the tests ---- */

static const struct nk_acpi_mmio three[] = {
    {.base = 0xd0000000, .len = 0x1000, .gsi = 5},
    {.base = 0xd0001000, .len = 0x1000, .gsi = 6},
    {.base = 0xd0002000, .len = 0x1000, .gsi = 7},
};

static void check_tables(unsigned ncpus)
{
	static uint8_t area[AREA];
	struct nk_err err = {0};
	size_t used = 0;
	memset(area, 0xa5, sizeof(area)); /* nothing may depend on a zeroed area */
	struct nk_acpi_config cfg = {.ncpus = ncpus, .virtio = three, .nvirtio = 3};
	assert_int_equal(nk_acpi_build(area, sizeof(area), GPA, &cfg, &used, &err), 0);
	assert_true(used > 0 && used <= sizeof(area));

	/* RSDP: both checksums, revision 2, the XSDT. */
	const uint8_t *rsdp = area;
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(get32(rsdp + 20), 36);
	assert_int_equal(sum(rsdp, 36), 0);
	const uint8_t *xsdt = table(area, get64(rsdp + 24), "XSDT");

	/* XSDT: FADT and MADT. */
	uint32_t xlen = get32(xsdt + 4);
	assert_int_equal((xlen - 36) % 8, 0);
	const uint8_t *fadt = NULL, *madt = NULL;
	for (uint32_t off = 36; off < xlen; off += 8) {
		uint64_t at = get64(xsdt + off);
		const uint8_t *t = area + (at - GPA);
		if (!memcmp(t, "FACP", 4))
			fadt = table(area, at, "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table(area, at, "APIC");
		else
			fail_msg("unexpected table in the XSDT");
	}
	assert_non_null(fadt);
	assert_non_null(madt);

	/* FADT: hardware-reduced, DSDT and X_DSDT agree, sleep and reset registers on our ports. */
	assert_int_equal(get32(fadt + 4), 276);
	assert_true(get32(fadt + 112) & (1u << 20));
	assert_int_equal(get32(fadt + 40), get64(fadt + 140));
	const uint8_t *dsdt = table(area, get64(fadt + 140), "DSDT");
	const uint8_t *sc = fadt + 244, *ss = fadt + 256, *rr = fadt + 116;
	assert_int_equal(sc[0], 1); /* system I/O */
	assert_int_equal(sc[1], 8);
	assert_int_equal(get64(sc + 4), NK_ACPI_SLEEP_CONTROL);
	assert_int_equal(ss[0], 1);
	assert_int_equal(get64(ss + 4), NK_ACPI_SLEEP_STATUS);
	assert_true(get32(fadt + 112) & (1u << 10));
	assert_int_equal(rr[0], 1);
	assert_int_equal(get64(rr + 4), NK_ACPI_RESET);
	assert_int_equal(fadt[128], NK_ACPI_RESET_VALUE);
	assert_true(get16(fadt + 109) & (1u << 1)); /* the i8042 is there */

	/* MADT: one enabled LAPIC per vCPU with ids 0..n-1, the IOAPIC, IRQ 0 on GSI 0. */
	assert_int_equal(get32(madt + 36), NK_BOOT_LAPIC);
	unsigned lapics = 0, ioapics = 0, isos = 0;
	uint32_t mlen = get32(madt + 4);
	const uint8_t *e = madt + 44;
	while (e < madt + mlen) {
		assert_true(e[1] >= 2 && e + e[1] <= madt + mlen);
		if (e[0] == 0) {
			assert_int_equal(e[1], 8);
			assert_int_equal(e[3], lapics);
			assert_true(get32(e + 4) & 1);
			lapics++;
		} else if (e[0] == 1) {
			assert_int_equal(get32(e + 4), NK_BOOT_IOAPIC);
			assert_int_equal(get32(e + 8), 0);
			ioapics++;
		} else if (e[0] == 2) {
			assert_int_equal(e[3], 0);
			assert_int_equal(get32(e + 4), 0);
			isos++;
		}
		e += e[1];
	}
	assert_ptr_equal(e, madt + mlen);
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);

	/* DSDT: our reader walks all of it. */
	struct reader r = {.p = dsdt + 36, .end = dsdt + get32(dsdt + 4)};
	parse_terms(&r, r.end, NULL);
	assert_false(r.bad);
	assert_ptr_equal(r.p, r.end);
	for (int i = 0; i < 3; i++) {
		const struct dev *v = find_hid(&r, "LNRO0005", i);
		assert_non_null(v);
		assert_true(v->has_uid);
		assert_int_equal(v->uid, i);
		assert_true(v->has_crs);
		assert_int_equal(v->crs.nmem, 1);
		assert_int_equal(v->crs.mem_base, three[i].base);
		assert_int_equal(v->crs.mem_len, three[i].len);
		assert_true(v->crs.ext_irq);
		assert_int_equal(v->crs.gsi, three[i].gsi);
		assert_false(v->crs.edge); /* level: the line stays up until the ACK */
	}
	assert_null(find_hid(&r, "LNRO0005", 3));
	const struct dev *pv = find_hid(&r, "QEMU0001", 0);
	assert_non_null(pv);
	assert_int_equal(pv->crs.nio, 1);
	assert_int_equal(pv->crs.io[0], NK_PVPANIC_PORT);
	const struct dev *com = find_hid(&r, "PNP0501", 0);
	assert_non_null(com);
	assert_int_equal(com->crs.io[0], 0x3f8);
	assert_int_equal(com->crs.io_len[0], 8);
	assert_int_equal(com->crs.isa_irq, 4);
	const struct dev *kbd = find_hid(&r, "PNP0303", 0);
	assert_non_null(kbd);
	assert_int_equal(kbd->crs.nio, 2);
	assert_int_equal(kbd->crs.isa_irq, 1);
	assert_int_equal(r.s5_n, 4);
	assert_int_equal(r.s5[0], NK_ACPI_S5_TYPE);
}

static void tables_for_one_and_two_vcpus(void **state)
{
	(void)state;
	check_tables(1);
	check_tables(2);
	check_tables(64);
}

static void bad_configs_are_refused(void **state)
{
	(void)state;
	static uint8_t area[AREA];
	struct nk_err err = {0};
	size_t used;
	struct nk_acpi_config cfg = {.ncpus = 0};
	assert_int_equal(nk_acpi_build(area, sizeof(area), GPA, &cfg, &used, &err), -EINVAL);
	cfg.ncpus = 65;
	assert_int_equal(nk_acpi_build(area, sizeof(area), GPA, &cfg, &used, &err), -EINVAL);
	/* Too small an area: refused, not overrun. */
	cfg = (struct nk_acpi_config){.ncpus = 2, .virtio = three, .nvirtio = 3};
	assert_int_equal(nk_acpi_build(area, 300, GPA, &cfg, &used, &err), -E2BIG);
	assert_int_equal(nk_acpi_build(area, 700, GPA, &cfg, &used, &err), -E2BIG);
	assert_int_equal(used, 0);
}

/* PkgLength in its 1-, 2- and 3-byte forms reads back with the reader above. */
static void aml_package_lengths(void **state)
{
	(void)state;
	static uint8_t buf[1 << 18], blob[70000];
	for (size_t size = 10; size < sizeof(blob); size = size * 7 + 3) {
		struct nk_aml a;
		nk_aml_init(&a, buf, sizeof(buf));
		nk_aml_scope_open(&a, "\\_SB_");
		nk_aml_device_open(&a, "BLOB");
		nk_aml_name(&a, "_HID");
		nk_aml_string(&a, "NOOK0000");
		nk_aml_name(&a, "DATA");
		nk_aml_buffer(&a, blob, size);
		nk_aml_close(&a);
		nk_aml_close(&a);
		assert_false(a.failed);
		struct reader r = {.p = buf, .end = buf + a.len};
		parse_terms(&r, r.end, NULL);
		assert_false(r.bad);
		assert_int_equal(r.ndev, 1);
		assert_string_equal(r.devs[0].hid, "NOOK0000");
	}
	/* Integers in their smallest form. */
	struct nk_aml a;
	nk_aml_init(&a, buf, sizeof(buf));
	nk_aml_integer(&a, 0);
	nk_aml_integer(&a, 1);
	nk_aml_integer(&a, 0x80);
	nk_aml_integer(&a, 0x1234);
	nk_aml_integer(&a, 0xd0000000);
	nk_aml_integer(&a, 1ULL << 40);
	static const uint8_t want[] = {0x00, 0x01, 0x0a, 0x80, 0x0b, 0x34, 0x12, 0x0c, 0x00, 0x00,
				       0x00, 0xd0, 0x0e, 0, 0, 0, 0, 0, 1, 0, 0};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(nk_aml_eisaid("PNP0501"), 0x0105d041);
	/* Misuse fails the builder instead of writing bad AML. */
	nk_aml_init(&a, buf, sizeof(buf));
	nk_aml_name(&a, "toolong");
	assert_true(a.failed);
	nk_aml_init(&a, buf, sizeof(buf));
	nk_aml_close(&a);
	assert_true(a.failed);
	nk_aml_init(&a, buf, 4);
	nk_aml_string(&a, "LNRO0005");
	assert_true(a.failed);
}

struct events {
	int poweroff, reset, panicked;
};

static void on_poweroff(void *o) { ((struct events *)o)->poweroff++; }
static void on_reset(void *o) { ((struct events *)o)->reset++; }
static void on_panic(void *o) { ((struct events *)o)->panicked++; }

static void wr(const struct nk_vm_dev_ops *ops, void *dev, uint64_t off, uint8_t v)
{
	ops->write(dev, off, &v, 1);
}

static void power_and_panic_ports(void **state)
{
	(void)state;
	struct events ev = {0};
	struct nk_acpi_pm pm = {.poweroff = on_poweroff, .reset = on_reset, .opaque = &ev};
	uint8_t v = 0xff;
	nk_acpi_pm_ops.read(&pm, 1, &v, 1);
	assert_int_equal(v, 0); /* no wake status */
	wr(&nk_acpi_pm_ops, &pm, 1, 0x80);				 /* clear WAK_STS */
	wr(&nk_acpi_pm_ops, &pm, 0, NK_ACPI_S5_TYPE << 2);		 /* no SLP_EN */
	wr(&nk_acpi_pm_ops, &pm, 0, (3 << 2) | NK_ACPI_SLP_EN);		 /* S3: not offered */
	wr(&nk_acpi_pm_ops, &pm, 2, 0x06);				 /* not the reset value */
	assert_int_equal(ev.poweroff + ev.reset, 0);
	wr(&nk_acpi_pm_ops, &pm, 0, (NK_ACPI_S5_TYPE << 2) | NK_ACPI_SLP_EN);
	assert_int_equal(ev.poweroff, 1);
	wr(&nk_acpi_pm_ops, &pm, 2, NK_ACPI_RESET_VALUE);
	assert_int_equal(ev.reset, 1);

	struct nk_pvpanic pv = {.panicked = on_panic, .opaque = &ev};
	nk_pvpanic_ops.read(&pv, 0, &v, 1);
	assert_int_equal(v, NK_PVPANIC_PANICKED);
	wr(&nk_pvpanic_ops, &pv, 0, NK_PVPANIC_CRASH_LOADED);
	assert_int_equal(ev.panicked, 0);
	wr(&nk_pvpanic_ops, &pv, 0, NK_PVPANIC_PANICKED);
	assert_int_equal(ev.panicked, 1);
}

/* In guest memory: the area the e820 reserves, and the zero page pointing at the RSDP. */
static void written_into_guest_memory(void **state)
{
	(void)state;
	struct nk_vm_mem mem = {.size = 2 << 20};
	mem.host = calloc(1, mem.size);
	assert_non_null(mem.host);
	struct nk_err err = {0};
	struct nk_acpi_config cfg = {.ncpus = 2, .virtio = three, .nvirtio = 1};
	assert_int_equal(nk_acpi_write(&mem, &cfg, &err), 0);
	assert_int_equal(get64(mem.host + NK_BOOT_ZERO_PAGE + 0x70), NK_BOOT_ACPI);
	assert_memory_equal(mem.host + NK_BOOT_ACPI, "RSD PTR ", 8);
	struct nk_vm_mem tiny = {.host = mem.host, .size = NK_BOOT_ACPI + 100};
	assert_int_equal(nk_acpi_write(&tiny, &cfg, &err), -EINVAL);
	free(mem.host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tables_for_one_and_two_vcpus),
	    cmocka_unit_test(bad_configs_are_refused),
	    cmocka_unit_test(aml_package_lengths),
	    cmocka_unit_test(power_and_panic_ports),
	    cmocka_unit_test(written_into_guest_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
