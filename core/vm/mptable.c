/* The Intel MP 1.4 table: how a kernel without ACPI finds the vCPUs and the IOAPIC. */
#include <errno.h>
#include <string.h>

#include "core/vm/boot.h"
#include "core/vm/vmm.h"

#define MP_IRQ_MAX 23
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_EXTINT = 3 };

struct mp_writer {
	uint8_t *base;
	size_t pos, cap;
	int overflow;
};

static uint8_t *take(struct mp_writer *w, size_t n)
{
	if (w->pos + n > w->cap) {
		w->overflow = 1;
		return NULL;
	}
	uint8_t *p = w->base + w->pos;
	memset(p, 0, n);
	w->pos += n;
	return p;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (uint8_t)(0 - sum);
}

static void intsrc(struct mp_writer *w, uint8_t type, uint8_t irq, uint8_t ioapic, uint8_t pin)
{
	uint8_t *e = take(w, 8);
	if (!e)
		return;
	e[0] = MP_INTSRC;
	e[1] = type;
	put16(e + 2, 0); /* conforming: edge, active high on ISA */
	e[4] = 0;	 /* source bus: ISA */
	e[5] = irq;
	e[6] = ioapic;
	e[7] = pin;
}

static void lintsrc(struct mp_writer *w, uint8_t type, uint8_t lint)
{
	uint8_t *e = take(w, 8);
	if (!e)
		return;
	e[0] = MP_LINTSRC;
	e[1] = type;
	e[4] = 0;
	e[5] = 0;
	e[6] = 0xff; /* every LAPIC */
	e[7] = lint;
}

int nk_mptable_write(const struct nk_vm_mem *mem, unsigned ncpus, struct nk_err *err)
{
	if (ncpus == 0 || ncpus > NK_VM_MAX_VCPUS)
		return nk_err_msg(err, EINVAL, "MP table: %u CPUs", ncpus);
	/* The floating pointer must sit in the last KiB of base memory; the config table
	 * may run on into the (unused) legacy video hole when there are many CPUs. */
	size_t cap = NK_BOOT_ACPI - NK_BOOT_MPTABLE;
	uint8_t *base = nk_vm_mem_ptr(mem, NK_BOOT_MPTABLE, cap);
	if (!base)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the MP table");
	struct mp_writer w = {.base = base, .cap = cap};
	uint8_t *fp = take(&w, 16);
	uint8_t *hdr = take(&w, 44);
	uint16_t entries = 0;
	uint8_t ioapic_id = (uint8_t)ncpus;

	for (unsigned i = 0; i < ncpus; i++, entries++) {
		uint8_t *e = take(&w, 20);
		if (!e)
			break;
		e[0] = MP_PROCESSOR;
		e[1] = (uint8_t)i; /* LAPIC id = vCPU index, as KVM assigns them */
		e[2] = APIC_VERSION;
		e[3] = 0x01 | (i == 0 ? 0x02 : 0); /* enabled, BSP */
		put32(e + 4, 0x600);		   /* family 6 */
		put32(e + 8, 0x201);		   /* FPU, APIC */
	}
	uint8_t *bus = take(&w, 8);
	if (bus) {
		bus[0] = MP_BUS;
		memcpy(bus + 2, "ISA   ", 6);
		entries++;
	}
	uint8_t *io = take(&w, 8);
	if (io) {
		io[0] = MP_IOAPIC;
		io[1] = ioapic_id;
		io[2] = IOAPIC_VERSION;
		io[3] = 0x01;
		put32(io + 4, (uint32_t)NK_BOOT_IOAPIC);
		entries++;
	}
	/* ISA IRQ n on IOAPIC pin n, as KVM's default GSI routing has it. */
	for (uint8_t irq = 0; irq <= MP_IRQ_MAX; irq++, entries++)
		intsrc(&w, MP_IRQ_INT, irq, ioapic_id, irq);
	lintsrc(&w, MP_IRQ_EXTINT, 0);
	lintsrc(&w, MP_IRQ_NMI, 1);
	entries += 2;
	if (w.overflow || !fp || !hdr)
		return nk_err_msg(err, E2BIG, "MP table for %u CPUs does not fit", ncpus);

	memcpy(hdr, "PCMP", 4);
	put16(hdr + 4, (uint16_t)(w.pos - 16));
	hdr[6] = 4; /* spec 1.4 */
	memcpy(hdr + 8, "NOOK    ", 8);
	memcpy(hdr + 16, "MICROVM     ", 12);
	put16(hdr + 34, entries);
	put32(hdr + 36, (uint32_t)NK_BOOT_LAPIC);
	hdr[7] = checksum(hdr, w.pos - 16);

	memcpy(fp, "_MP_", 4);
	put32(fp + 4, NK_BOOT_MPTABLE + 16);
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = 4;
	fp[10] = checksum(fp, 16);
	return 0;
}
