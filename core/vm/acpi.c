/* The ACPI tables: RSDP, XSDT, FADT, MADT and the DSDT's AML, with their checksums. */
#include "core/vm/acpi.h"

#include <errno.h>
#include <string.h>

#include "core/vm/acpi-pm.h"
#include "core/vm/aml.h"
#include "core/vm/boot.h"
#include "core/vm/i8042.h"
#include "core/vm/pvpanic.h"
#include "core/vm/serial8250.h"
#include "core/vm/vmm.h"

#define HEADER_LEN 36
#define RSDP_LEN 36
#define FADT_LEN 276 /* revision 6: up to the hypervisor vendor identity */
#define FADT_REVISION 6
#define MADT_REVISION 4
#define DSDT_REVISION 2 /* 64-bit integers */

/* FADT fields (ACPI 6.5, 5.2.9). */
#define FADT_DSDT 40
#define FADT_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS 256
#define FADT_HYPERVISOR_ID 268
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)
#define FLAG_RESET_REG_SUP (1u << 10)
#define FLAG_HW_REDUCED (1u << 20)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* MADT (5.2.12). */
#define MADT_PCAT_COMPAT 0x01
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define LAPIC_ENABLED 0x01

struct layout {
	uint8_t *buf;
	size_t cap, pos;
	uint64_t gpa;
};

/* The next 16-byte-aligned block of n bytes, zeroed; NULL when the area is full. */
static uint8_t *take(struct layout *l, size_t n, uint64_t *gpa)
{
	size_t at = (l->pos + 15) & ~(size_t)15;
	if (at > l->cap || n > l->cap - at)
		return NULL;
	memset(l->buf + l->pos, 0, at - l->pos + n);
	l->pos = at + n;
	*gpa = l->gpa + at;
	return l->buf + at;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (uint8_t)(0 - sum);
}

/* The common header; the checksum is computed once the body is complete. */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "NOOK  ", 6);
	memcpy(t + 16, "NOOKVM", 6);
	memcpy(t + 22, sig, 2); /* OEM table id: "NOOKVM" + the signature's start */
	put32(t + 24, 1);
	memcpy(t + 28, "NOOK", 4);
	put32(t + 32, 1);
}

static void seal(uint8_t *t, size_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* A Generic Address Structure for a one-byte I/O port. */
static void gas_port(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8;
	g[2] = 0;
	g[3] = GAS_ACCESS_BYTE;
	put64(g + 4, port);
}

static void build_fadt(uint8_t *t, uint64_t dsdt)
{
	header(t, "FACP", FADT_LEN, FADT_REVISION);
	put32(t + FADT_DSDT, (uint32_t)dsdt);
	put64(t + FADT_X_DSDT, dsdt);
	/* No VGA, no CMOS clock (time comes from kvmclock); the i8042 is there, so Linux
	 * keeps probing it for reboot=k and Ctrl-Alt-Del. */
	put16(t + FADT_BOOT_ARCH, BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC);
	/* Hardware-reduced: no PM1 blocks, no SCI, no GPEs, no PM timer; power management
	 * is the sleep control/status register pair below. */
	put32(t + FADT_FLAGS, FLAG_HW_REDUCED | FLAG_RESET_REG_SUP);
	gas_port(t + FADT_RESET_REG, NK_ACPI_RESET);
	t[FADT_RESET_VALUE] = NK_ACPI_RESET_VALUE;
	gas_port(t + FADT_SLEEP_CONTROL, NK_ACPI_SLEEP_CONTROL);
	gas_port(t + FADT_SLEEP_STATUS, NK_ACPI_SLEEP_STATUS);
	memcpy(t + FADT_HYPERVISOR_ID, "NOOKVMM ", 8);
	seal(t, FADT_LEN);
}

static size_t madt_len(unsigned ncpus)
{
	return HEADER_LEN + 8 + 8 * (size_t)ncpus + 12 + 10 + 6;
}

static void build_madt(uint8_t *t, unsigned ncpus)
{
	size_t len = madt_len(ncpus);
	header(t, "APIC", (uint32_t)len, MADT_REVISION);
	put32(t + 36, (uint32_t)NK_BOOT_LAPIC);
	put32(t + 40, MADT_PCAT_COMPAT); /* the in-kernel irqchip has the two 8259s too */
	uint8_t *e = t + 44;
	for (unsigned i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* LAPIC id = vCPU index, as KVM assigns them */
		put32(e + 4, LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)ncpus; /* the id the MP table gives it, after the LAPICs */
	put32(e + 4, (uint32_t)NK_BOOT_IOAPIC);
	put32(e + 8, 0); /* GSI base */
	e += 12;
	/* KVM's default routing wires ISA IRQ n to IOAPIC pin n, the PIT (IRQ 0) included:
	 * not pin 2 as on a PC chipset. Say so explicitly; flags 0 = ISA's edge, high. */
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0; /* bus: ISA */
	e[3] = 0; /* IRQ 0 */
	put32(e + 4, 0);
	put16(e + 8, 0);
	e += 10;
	e[0] = MADT_LAPIC_NMI; /* LINT1 is NMI on every LAPIC, as the vCPUs are set up */
	e[1] = 6;
	e[2] = 0xff;
	put16(e + 3, 0);
	e[5] = 1;
	seal(t, len);
}

static void name_crs(struct nk_aml *a, const struct nk_aml_res *r)
{
	nk_aml_name(a, "_CRS");
	if (r->failed)
		a->failed = 1;
	else
		nk_aml_buffer(a, r->b, r->len);
}

/* The DSDT's AML body (after the header). */
static void dsdt_body(struct nk_aml *a, const struct nk_acpi_config *cfg)
{
	struct nk_aml_res r;
	nk_aml_scope_open(a, "\\_SB_");

	/* COM1 and the keyboard controller, so that Linux maps their ISA lines: a
	 * hardware-reduced Linux has no legacy PIC and no default ISA IRQ mapping. */
	nk_aml_device_open(a, "COM1");
	nk_aml_name(a, "_HID");
	nk_aml_integer(a, nk_aml_eisaid("PNP0501"));
	nk_aml_name(a, "_UID");
	nk_aml_integer(a, 1);
	nk_aml_res_init(&r);
	nk_aml_res_io(&r, NK_SERIAL_COM1_BASE, NK_SERIAL_NREGS);
	nk_aml_res_irq(&r, NK_SERIAL_COM1_GSI);
	nk_aml_res_end(&r);
	name_crs(a, &r);
	nk_aml_close(a);

	nk_aml_device_open(a, "PS2K");
	nk_aml_name(a, "_HID");
	nk_aml_integer(a, nk_aml_eisaid("PNP0303"));
	nk_aml_res_init(&r);
	nk_aml_res_io(&r, NK_I8042_DATA_PORT, 1);
	nk_aml_res_io(&r, NK_I8042_CMD_PORT, 1);
	nk_aml_res_irq(&r, NK_I8042_KBD_GSI);
	nk_aml_res_end(&r);
	name_crs(a, &r);
	nk_aml_close(a);

	nk_aml_device_open(a, "PEVT");
	nk_aml_name(a, "_HID");
	nk_aml_string(a, "QEMU0001");
	nk_aml_res_init(&r);
	nk_aml_res_io(&r, NK_PVPANIC_PORT, 1);
	nk_aml_res_end(&r);
	name_crs(a, &r);
	nk_aml_close(a);

	for (size_t i = 0; i < cfg->nvirtio; i++) {
		const struct nk_acpi_mmio *v = &cfg->virtio[i];
		/* VR00..VR99 (nk_acpi_build refuses more). */
		char seg[5] = {'V', 'R', (char)('0' + i / 10 % 10), (char)('0' + i % 10), '\0'};
		nk_aml_device_open(a, seg);
		nk_aml_name(a, "_HID");
		nk_aml_string(a, "LNRO0005");
		nk_aml_name(a, "_UID");
		nk_aml_integer(a, i);
		nk_aml_name(a, "_CCA"); /* DMA is cache-coherent */
		nk_aml_integer(a, 1);
		nk_aml_res_init(&r);
		nk_aml_res_mem32_fixed(&r, (uint32_t)v->base, (uint32_t)v->len);
		/* The transport holds the line high until the driver acknowledges. */
		nk_aml_res_interrupt(&r, v->gsi, 0);
		nk_aml_res_end(&r);
		name_crs(a, &r);
		nk_aml_close(a);
	}
	nk_aml_close(a);

	/* S5 (soft off) is SLP_TYPa 5 in the sleep control register. */
	nk_aml_name(a, "_S5_");
	nk_aml_package_open(a, 4);
	nk_aml_integer(a, NK_ACPI_S5_TYPE);
	nk_aml_integer(a, 0);
	nk_aml_integer(a, 0);
	nk_aml_integer(a, 0);
	nk_aml_close(a);
}

int nk_acpi_build(uint8_t *buf, size_t cap, uint64_t gpa, const struct nk_acpi_config *cfg,
		  size_t *used, struct nk_err *err)
{
	*used = 0;
	if (cfg->ncpus == 0 || cfg->ncpus > NK_VM_MAX_VCPUS)
		return nk_err_msg(err, EINVAL, "ACPI tables: %u CPUs", cfg->ncpus);
	if (gpa % 16 || gpa + cap > 0x100000000ULL)
		return nk_err_msg(err, EINVAL, "ACPI tables: area at 0x%llx is not usable",
				  (unsigned long long)gpa);
	for (size_t i = 0; i < cfg->nvirtio; i++) {
		const struct nk_acpi_mmio *v = &cfg->virtio[i];
		if (i > 99 || v->len == 0 || v->base + v->len > 0x100000000ULL)
			return nk_err_msg(err, EINVAL, "ACPI tables: virtio device %zu at 0x%llx cannot be described",
					  i, (unsigned long long)v->base);
	}
	struct layout l = {.buf = buf, .cap = cap, .gpa = gpa};
	uint64_t rsdp_at, xsdt_at, fadt_at, madt_at, dsdt_at;
	uint8_t *rsdp = take(&l, RSDP_LEN, &rsdp_at);
	uint8_t *xsdt = take(&l, HEADER_LEN + 16, &xsdt_at);
	uint8_t *fadt = take(&l, FADT_LEN, &fadt_at);
	uint8_t *madt = take(&l, madt_len(cfg->ncpus), &madt_at);
	uint8_t *dsdt = take(&l, HEADER_LEN, &dsdt_at);
	if (!rsdp || !xsdt || !fadt || !madt || !dsdt)
		return nk_err_msg(err, E2BIG, "ACPI tables for %u CPUs do not fit in %zu bytes", cfg->ncpus, cap);

	/* The DSDT last: its AML runs on to wherever it ends. */
	struct nk_aml a;
	nk_aml_init(&a, dsdt + HEADER_LEN, cap - l.pos);
	dsdt_body(&a, cfg);
	if (a.failed || a.depth)
		return nk_err_msg(err, E2BIG, "ACPI tables: the DSDT for %zu virtio devices does not fit in %zu bytes",
				  cfg->nvirtio, cap);
	l.pos += a.len;
	header(dsdt, "DSDT", (uint32_t)(HEADER_LEN + a.len), DSDT_REVISION);
	seal(dsdt, HEADER_LEN + a.len);

	build_madt(madt, cfg->ncpus);
	build_fadt(fadt, dsdt_at);
	header(xsdt, "XSDT", HEADER_LEN + 16, 1);
	put64(xsdt + HEADER_LEN, fadt_at);
	put64(xsdt + HEADER_LEN + 8, madt_at);
	seal(xsdt, HEADER_LEN + 16);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "NOOK  ", 6);
	rsdp[15] = 2;	      /* ACPI 2.0+: the XSDT is used; no RSDT */
	put32(rsdp + 20, RSDP_LEN);
	put64(rsdp + 24, xsdt_at);
	rsdp[8] = checksum(rsdp, 20);	    /* the ACPI 1.0 part */
	rsdp[32] = checksum(rsdp, RSDP_LEN); /* all of it */
	*used = l.pos;
	return 0;
}

int nk_acpi_write(const struct nk_vm_mem *mem, const struct nk_acpi_config *cfg, struct nk_err *err)
{
	size_t cap = NK_BOOT_ACPI_END - NK_BOOT_ACPI, used;
	uint8_t *area = nk_vm_mem_ptr(mem, NK_BOOT_ACPI, cap);
	if (!area)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the ACPI tables");
	int r = nk_acpi_build(area, cap, NK_BOOT_ACPI, cfg, &used, err);
	if (r < 0)
		return r;
	return nk_boot_set_rsdp(mem, NK_BOOT_ACPI, err);
}
