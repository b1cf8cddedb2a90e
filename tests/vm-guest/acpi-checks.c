/* The VMM's ACPI tables, found the way Linux finds them: the zero page's acpi_rsdp_addr
 * (boot protocol 2.14+), RSDP -> XSDT -> FADT / MADT, FADT -> DSDT. Checks every checksum,
 * counts the MADT's enabled LAPICs and the DSDT's LNRO0005 (virtio-mmio) devices, and
 * powers off (\_S5 through the FADT's sleep control register) or reports a panic
 * (the QEMU0001 device's port) when asked. */
#include "guest.h"

#define VIRTIO_MAGIC 0x74726976
#define SLP_EN 0x20

struct acpi {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	unsigned tables;
	int bad_checksum;
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* Below 4 GiB (what the page tables map) and not absurdly long. */
static const uint8_t *table_at(struct acpi *a, uint64_t addr)
{
	if (!addr || addr >= 0xfff00000ull)
		return NULL;
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	uint32_t len = rd32(t + 4);
	if (len < 36 || len > (1u << 20))
		return NULL;
	if (sum8(t, len))
		a->bad_checksum = 1;
	return t;
}

/* 0 when the chain is complete; otherwise says what is missing. */
static int acpi_find(struct acpi *a)
{
	memset(a, 0, sizeof(*a));
	uint64_t rsdp = *(volatile uint64_t *)(uintptr_t)(boot_params_ptr + ZP_ACPI_RSDP_ADDR);
	if (!rsdp || rsdp >= 0x100000000ull) {
		say("nook-guest: acpi no RSDP in the zero page FAIL\n");
		return -1;
	}
	a->rsdp = (const uint8_t *)(uintptr_t)rsdp;
	if (memcmp(a->rsdp, "RSD PTR ", 8) || a->rsdp[15] < 2) {
		say("nook-guest: acpi no RSDP (rev 2) at 0x%lx FAIL\n", rsdp);
		return -1;
	}
	if (sum8(a->rsdp, 20) || sum8(a->rsdp, rd32(a->rsdp + 20)))
		a->bad_checksum = 1;
	a->xsdt = table_at(a, rd64(a->rsdp + 24));
	if (!a->xsdt || memcmp(a->xsdt, "XSDT", 4)) {
		say("nook-guest: acpi no XSDT FAIL\n");
		return -1;
	}
	uint32_t xlen = rd32(a->xsdt + 4);
	for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
		const uint8_t *t = table_at(a, rd64(a->xsdt + off));
		if (!t)
			continue;
		a->tables++;
		if (!memcmp(t, "FACP", 4))
			a->fadt = t;
		else if (!memcmp(t, "APIC", 4))
			a->madt = t;
	}
	if (a->fadt) {
		uint64_t d = rd32(a->fadt + 4) >= 148 ? rd64(a->fadt + 140) : 0;
		a->dsdt = table_at(a, d ? d : rd32(a->fadt + 40));
		if (a->dsdt && memcmp(a->dsdt, "DSDT", 4))
			a->dsdt = NULL;
	}
	if (!a->fadt || !a->madt || !a->dsdt) {
		say("nook-guest: acpi fadt=%d madt=%d dsdt=%d FAIL\n", !!a->fadt, !!a->madt, !!a->dsdt);
		return -1;
	}
	return 0;
}

/* The next occurrence of the AML string s (StringOp, text, NUL) in the DSDT after from. */
static const uint8_t *dsdt_find_string(const struct acpi *a, const uint8_t *from, const char *s)
{
	size_t n = strlen(s);
	const uint8_t *end = a->dsdt + rd32(a->dsdt + 4);
	for (const uint8_t *p = from; p + n + 2 <= end; p++)
		if (p[0] == 0x0d && !memcmp(p + 1, s, n) && p[n + 1] == 0)
			return p + n + 2;
	return NULL;
}

/* The first resource descriptor with this tag within the 96 bytes after p (the device's
 * _CRS follows its _HID), or NULL. */
static const uint8_t *find_tag(const struct acpi *a, const uint8_t *p, uint8_t tag)
{
	const uint8_t *end = a->dsdt + rd32(a->dsdt + 4);
	for (unsigned i = 0; i < 96 && p + i < end; i++)
		if (p[i] == tag && (tag != 0x86 || (p[i + 1] == 9 && p[i + 2] == 0)))
			return p + i;
	return NULL;
}

static int pvpanic_port(const struct acpi *a)
{
	const uint8_t *dev = dsdt_find_string(a, a->dsdt + 36, "QEMU0001");
	const uint8_t *io = dev ? find_tag(a, dev, 0x47) : NULL;
	return io ? rd16(io + 2) : -1;
}

void guest_acpi_check(unsigned cpus)
{
	struct acpi a;
	if (acpi_find(&a) < 0)
		return;
	say("nook-guest: acpi rsdp=0x%lx xsdt=0x%lx tables=%u checksums %s\n", (uint64_t)(uintptr_t)a.rsdp,
	    (uint64_t)(uintptr_t)a.xsdt, a.tables, a.bad_checksum ? "FAIL" : "ok");

	unsigned lapics = 0;
	uint32_t mlen = rd32(a.madt + 4);
	for (const uint8_t *e = a.madt + 44; e + 2 <= a.madt + mlen && e[1] >= 2; e += e[1])
		if (e[0] == 0 && (rd32(e + 4) & 1))
			lapics++;
	say("nook-guest: acpi madt lapics=%u mptable_cpus=%u %s\n", lapics, cpus, lapics == cpus ? "ok" : "FAIL");

	uint32_t flags = rd32(a.fadt + 112);
	const uint8_t *sc = a.fadt + 244;
	int hw_reduced = (flags >> 20) & 1;
	say("nook-guest: acpi fadt hw_reduced=%d sleep_control=%s:0x%lx %s\n", hw_reduced,
	    sc[0] == 1 ? "io" : "other", rd64(sc + 4), hw_reduced && sc[0] == 1 ? "ok" : "FAIL");

	/* Each LNRO0005 device's window must hold a virtio-mmio device; as many as the
	 * command line lists. */
	unsigned virtio = 0, live = 0, slots = 0;
	for (const uint8_t *p = a.dsdt + 36; (p = dsdt_find_string(&a, p, "LNRO0005")); virtio++) {
		const uint8_t *mem = find_tag(&a, p, 0x86);
		if (mem && mmio_read32(rd32(mem + 4)) == VIRTIO_MAGIC)
			live++;
	}
	const char *cl = (const char *)(uintptr_t)*(volatile uint32_t *)(uintptr_t)(boot_params_ptr + 0x228);
	for (const char *p = cl; p && (p = strfind(p, "virtio_mmio.device=")); p++)
		slots++;
	int pv = pvpanic_port(&a);
	say("nook-guest: acpi dsdt virtio=%u live=%u cmdline_slots=%u pvpanic=0x%x %s\n", virtio, live, slots,
	    pv < 0 ? 0 : (unsigned)pv, virtio == slots && live == virtio && pv > 0 ? "ok" : "FAIL");
}

/* \_S5's first element: Name (_S5_, Package (n) { SLP_TYPa, ... }). */
static int s5_type(const struct acpi *a)
{
	const uint8_t *end = a->dsdt + rd32(a->dsdt + 4);
	for (const uint8_t *p = a->dsdt + 36; p + 9 <= end; p++) {
		if (p[0] != 0x08 || memcmp(p + 1, "_S5_", 4) || p[5] != 0x12)
			continue;
		const uint8_t *v = p + 6 + 1 + ((p[6] >> 6) & 3) + 1; /* PkgLength, NumElements */
		if (v >= end)
			return -1;
		return v[0] == 0x0a ? v[1] : v[0] <= 1 ? v[0] : -1;
	}
	return -1;
}

void guest_acpi_poweroff(void)
{
	struct acpi a;
	if (acpi_find(&a) < 0)
		return;
	const uint8_t *sc = a.fadt + 244;
	int typ = s5_type(&a);
	if (sc[0] != 1 || typ < 0) {
		say("nook-guest: acpi poweroff: no I/O sleep control register or no \\_S5 FAIL\n");
		return;
	}
	uint16_t port = (uint16_t)rd64(sc + 4);
	say("nook-guest: acpi poweroff slp_typ=%d port=0x%x\n", typ, port);
	outb(port, (uint8_t)(((typ & 7) << 2) | SLP_EN));
	delay_ms(1000);
	say("nook-guest: acpi poweroff did nothing FAIL\n");
}

void guest_acpi_panic(void)
{
	struct acpi a;
	if (acpi_find(&a) < 0)
		return;
	int port = pvpanic_port(&a);
	if (port <= 0) {
		say("nook-guest: acpi panic: no QEMU0001 device FAIL\n");
		return;
	}
	uint8_t events = inb((uint16_t)port);
	say("nook-guest: pvpanic port=0x%x events=0x%x\n", port, events);
	if (!(events & 1)) {
		say("nook-guest: pvpanic does not offer PANICKED FAIL\n");
		return;
	}
	outb((uint16_t)port, 1);
	delay_ms(1000);
	say("nook-guest: pvpanic did nothing FAIL\n");
}
