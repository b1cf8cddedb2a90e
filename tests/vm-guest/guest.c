/* The test guest's checks, in ring 3: zero page, initrd, interrupts, SMP, ACPI, KVM stats,
 * serial input, virtio slots, then a reset through the i8042. Prints a transcript of
 * "nook-guest: ..." lines that tests/integration/test_vm_engine.py asserts on. */
#include "guest.h"

#define COM1 0x3f8
#define PIT_HZ 1000
#define STATS_PORT 0x510 /* runvm's debug device: exits, io_exits, insn_emulation */

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, attr;
	uint16_t off1;
	uint32_t off2, zero;
};

extern struct idt_entry idt[256];
extern const uint64_t irq_stub_table[IRQ_VEC_COUNT], exc_stub_table[32], spurious_stub[1], sys_stub[1];
extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern volatile uint32_t ap_boot_cpu;
extern uint64_t exc_info[6];

void guest_cpu_main(unsigned cpu);
void guest_exception(void);

static volatile unsigned cpus_up = 1;

static uint8_t bp8(unsigned off) { return *(volatile uint8_t *)(uintptr_t)(boot_params_ptr + off); }
static uint16_t bp16(unsigned off) { return *(volatile uint16_t *)(uintptr_t)(boot_params_ptr + off); }
static uint32_t bp32(unsigned off) { return *(volatile uint32_t *)(uintptr_t)(boot_params_ptr + off); }

static void lapic_write(unsigned reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static uint32_t lapic_read(unsigned reg) { return mmio_read32(LAPIC_BASE + reg); }

static __attribute__((noreturn)) void crash(void)
{
	guest_syscall(SYS_CRASH);
	for (;;)
		;
}

static __attribute__((noreturn)) void park(void)
{
	guest_syscall(SYS_PARK);
	for (;;)
		;
}

/* The i8042's pulse-reset command; on a machine without one (status port reads 0xff,
 * nothing there) a triple fault, as a PC does when the controller fails. */
static __attribute__((noreturn)) void reset(void)
{
	if (inb(0x64) == 0xff) {
		say("nook-guest: no i8042, reset by triple fault\n");
		crash();
	}
	outb(0x64, 0xfe);
	delay_ms(1000);
	say("nook-guest: reset through the i8042 did nothing FAIL\n");
	crash();
}

void guest_exception(void)
{
	say_unlock();
	say("nook-guest: exception vector=%lu error=0x%lx rip=0x%lx cs=0x%lx rsp=0x%lx cr2=0x%lx FAIL\n",
	    exc_info[0], exc_info[1], exc_info[2], exc_info[3], exc_info[4], exc_info[5]);
	crash();
}

static void set_gate(unsigned vec, uint64_t addr, unsigned dpl)
{
	struct idt_entry *e = &idt[vec];
	e->off0 = (uint16_t)addr;
	e->sel = KCODE;
	e->ist = 0;
	e->attr = (uint8_t)(0x8e | (dpl << 5)); /* present, 64-bit interrupt gate */
	e->off1 = (uint16_t)(addr >> 16);
	e->off2 = (uint32_t)(addr >> 32);
	e->zero = 0;
}

/* The IDT lives in memory ring 3 can write, so it is filled here, not in ring 0. */
static void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++)
		set_gate(v, exc_stub_table[v], 0);
	for (unsigned v = 0; v < IRQ_VEC_COUNT; v++)
		set_gate(IRQ_VEC_BASE + v, irq_stub_table[v], 0);
	set_gate(VEC_SPURIOUS, spurious_stub[0], 0);
	set_gate(3, sys_stub[0], 3); /* int3 is ring 3's way into ring 0 */
}

static void check_cmdline(void)
{
	const char *cl = (const char *)(uintptr_t)bp32(0x228);
	say("nook-guest: hello cpl=3 protocol=0x%x loader=0x%x\n", bp16(0x206), bp8(0x210));
	say("nook-guest: cmdline=%s ok\n", cl ? cl : "");
}

static void check_e820(void)
{
	unsigned n = bp8(0x1e8);
	uint64_t ram = 0;
	for (unsigned i = 0; i < n && i < 128; i++) {
		const uint8_t *e = (const uint8_t *)(uintptr_t)(boot_params_ptr + 0x2d0 + 20 * i);
		uint64_t addr = *(const uint64_t *)e, size = *(const uint64_t *)(e + 8);
		uint32_t type = *(const uint32_t *)(e + 16);
		say("nook-guest: e820 0x%08lx-0x%08lx type %u\n", addr, addr + size, type);
		if (type == 1)
			ram += size;
	}
	say("nook-guest: e820 entries=%u ram_kib=%lu ok\n", n, ram >> 10);
}

static void check_initrd(void)
{
	uint32_t addr = bp32(0x218), size = bp32(0x21c);
	if (!size) {
		say("nook-guest: initrd none\n");
		return;
	}
	/* FNV-1a, which the test recomputes over the file it passed. */
	uint32_t h = 2166136261u;
	const uint8_t *p = (const uint8_t *)(uintptr_t)addr;
	for (uint32_t i = 0; i < size; i++)
		h = (h ^ p[i]) * 16777619u;
	say("nook-guest: initrd addr=0x%x bytes=%u fnv1a=0x%08x ok\n", addr, size, h);
}

static void check_timer(void)
{
	/* The VMM leaves the 8259s masked (cascade open), as Linux's skipped real-mode
	 * setup would: a guest that never programs them must not get ExtINTs from them. */
	uint8_t imr1 = inb(0x21), imr2 = inb(0xa1);
	say("nook-guest: pic masked at entry master=0x%x slave=0x%x %s\n", imr1, imr2,
	    imr1 == 0xfb && imr2 == 0xff ? "ok" : "FAIL");
	/* PIC off: everything comes through the IOAPIC. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	lapic_write(0x80, 0);	  /* TPR: accept everything */
	lapic_write(0xf0, 0x1ff); /* software-enable, spurious vector 0xff */
	guest_irq_route(0);
	unsigned div = 1193182 / PIT_HZ;
	outb(0x43, 0x34); /* channel 0, lo/hi, rate generator */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
	guest_sti();
	uint64_t t0 = rdtsc();
	unsigned c0 = guest_irq_count(0);
	while (guest_irq_count(0) - c0 < 20 && rdtsc() - t0 < 8000000000ull)
		cpu_relax();
	unsigned ticks = guest_irq_count(0) - c0;
	if (ticks >= 20) {
		tsc_khz = (rdtsc() - t0) / ticks;
		say("nook-guest: irq timer count=%u tsc_khz=%lu ok\n", ticks, tsc_khz);
	} else {
		outb(0x43, 0x00); /* latch channel 0, to show whether the PIT counts */
		unsigned lo = inb(0x40), hi = inb(0x40);
		mmio_write32(IOAPIC_BASE, 0x10);
		uint32_t rte = mmio_read32(IOAPIC_BASE + 0x10);
		uint64_t fl;
		__asm__ volatile("pushfq; popq %0" : "=r"(fl));
		say("nook-guest: irq timer count=%u pit=%u rte0=0x%x svr=0x%x irr1=0x%x isr1=0x%x rflags=0x%lx FAIL\n",
		    ticks, lo | hi << 8, rte, lapic_read(0xf0), lapic_read(0x210), lapic_read(0x110), fl);
	}
}

static void check_serial_irq(void)
{
	guest_irq_route(4);
	outb(COM1 + 4, 0x0b);		/* DTR, RTS, OUT2: OUT2 gates the IRQ on a PC */
	unsigned c0 = guest_irq_count(4);
	outb(COM1 + 1, 0x02);		/* THRI: fires at once, the THR is empty */
	uint64_t end = now_ms() + 1000;
	while (guest_irq_count(4) == c0 && now_ms() < end)
		cpu_relax();
	uint8_t iir = inb(COM1 + 2);	/* reading IIR clears the THRE interrupt */
	outb(COM1 + 1, 0x01);		/* from now on: received data only */
	unsigned n = guest_irq_count(4) - c0;
	say("nook-guest: irq serial count=%u iir=0x%x %s\n", n, iir, n ? "ok" : "FAIL");
}

static unsigned mptable_cpus(void)
{
	const uint8_t *fp = (const uint8_t *)0x9fc00;
	if (memcmp(fp, "_MP_", 4) != 0) {
		say("nook-guest: mptable missing FAIL\n");
		return 1;
	}
	const uint8_t *t = (const uint8_t *)(uintptr_t)*(const uint32_t *)(fp + 4);
	uint16_t len = *(const uint16_t *)(t + 4), count = *(const uint16_t *)(t + 34);
	uint8_t sum = 0;
	for (unsigned i = 0; i < len; i++)
		sum += t[i];
	unsigned cpus = 0;
	const uint8_t *e = t + 44;
	for (unsigned i = 0; i < count && e < t + len; i++) {
		if (e[0] == 0 && (e[3] & 1))
			cpus++;
		e += e[0] == 0 ? 20 : 8;
	}
	say("nook-guest: mptable cpus=%u entries=%u checksum %s\n", cpus, count, sum ? "FAIL" : "ok");
	return cpus ? cpus : 1;
}

static void send_ipi(unsigned apic, uint32_t cmd)
{
	lapic_write(0x310, apic << 24);
	lapic_write(0x300, cmd);
}

/* Returns how many cpus the MP table lists. */
static unsigned check_smp(void)
{
	unsigned listed = mptable_cpus(), cpus = listed;
	if (cpus > MAX_CPUS)
		cpus = MAX_CPUS;
	if (cpus < 2) {
		say("nook-guest: smp cpus=1 up=1 ok\n");
		return listed;
	}
	memcpy((void *)AP_TRAMP, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
	uint64_t t0 = now_ms();
	for (unsigned cpu = 1; cpu < cpus; cpu++) {
		ap_boot_cpu = cpu;
		barrier();
		send_ipi(cpu, 0x4500); /* INIT, assert */
		delay_ms(10);
		/* Two SIPIs, as the MP spec says; the second only if the first was missed. */
		for (int sipi = 0; sipi < 2 && cpus_up <= cpu; sipi++) {
			send_ipi(cpu, 0x4600 | AP_TRAMP_VECTOR);
			uint64_t end = now_ms() + (sipi ? 5000 : 200);
			while (cpus_up <= cpu && now_ms() < end)
				cpu_relax();
		}
		if (cpus_up <= cpu)
			say("nook-guest: cpu%u did not come up (INIT/SIPI) FAIL\n", cpu);
	}
	say("nook-guest: smp cpus=%u up=%u ms=%lu %s\n", cpus, cpus_up, now_ms() - t0,
	    cpus_up == cpus ? "ok" : "FAIL");
	return listed;
}

/* KVM's own counters, read through runvm's debug device: 100 writes to an unclaimed
 * port are 100 exits to user space, so "exits" must move by at least that much. */
static void check_stats(void)
{
	uint32_t before = inl(STATS_PORT);
	if (before == 0xffffffffu) {
		say("nook-guest: kvm-stats unavailable (no debug device)\n");
		return;
	}
	uint32_t io0 = inl(STATS_PORT + 4), emu0 = inl(STATS_PORT + 8);
	for (int i = 0; i < 100; i++)
		outb(0x80, 0);
	uint32_t after = inl(STATS_PORT);
	uint32_t io = inl(STATS_PORT + 4) - io0, emu = inl(STATS_PORT + 8) - emu0;
	say("nook-guest: kvm-stats exits before=%u after=%u delta=%u io_exits_delta=%u insn_emulation_delta=%u %s\n",
	    before, after, after - before, io, emu, after - before >= 100 ? "ok" : "FAIL");
}

static void check_input(void)
{
	char line[128];
	size_t n = 0;
	guest_irq_route(4);
	say("nook-guest: ready for input\n");
	uint64_t end = now_ms() + 20000;
	unsigned irqs0 = guest_irq_count(4);
	while (now_ms() < end) {
		int got_nl = 0;
		while (inb(COM1 + 5) & 0x01) {
			char c = (char)inb(COM1);
			if (c == '\n' || c == '\r') {
				got_nl = 1;
				break;
			}
			if (n + 1 < sizeof(line))
				line[n++] = c;
		}
		if (got_nl)
			break;
		guest_wait_irq(); /* the RX interrupt, or the next timer tick */
	}
	line[n] = '\0';
	say("nook-guest: input=%s rx_irqs=%u %s\n", line, guest_irq_count(4) - irqs0,
	    n ? "ok" : "FAIL");
}

static const char *virtio_kind(uint32_t id)
{
	return id == 1 ? "net" : id == 2 ? "blk" : id == 4 ? "rng" : "other";
}

/* Each virtio_mmio.device=<size>@<base>:<irq> on the command line: probe the slot and,
 * when asked with virtio=<kinds>, hand it to the virtio-*.c test linked in. */
static void check_virtio(void)
{
	const char *cl = (const char *)(uintptr_t)bp32(0x228);
	char want[64] = "";
	cmdline_get("virtio", want, sizeof(want));
	for (const char *p = cl; p && (p = strfind(p, "virtio_mmio.device=")); ) {
		p += 19;
		const char *q;
		uint64_t size = parse_u64(p, &q);
		if (*q == 'K' || *q == 'k')
			size <<= 10, q++;
		uint64_t base = *q == '@' ? parse_u64(q + 1, &q) : 0;
		int irq = *q == ':' ? (int)parse_u64(q + 1, &q) : -1;
		uint32_t magic = mmio_read32(base), version = mmio_read32(base + 4);
		uint32_t id = mmio_read32(base + 8);
		const char *kind = virtio_kind(id);
		say("nook-guest: virtio slot base=0x%lx size=0x%lx irq=%d magic=0x%x version=%u id=%u kind=%s %s\n",
		    base, size, irq, magic, version, id, kind, magic == 0x74726976 ? "ok" : "FAIL");
		if (!strfind(want, kind))
			continue;
		if (!guest_virtio_test) {
			say("nook-guest: virtio-%s skipped (no tests/vm-guest/virtio-*.c linked)\n", kind);
			continue;
		}
		int r = guest_virtio_test(kind, base, irq);
		say("nook-guest: virtio-%s result=%d %s\n", kind, r, r == 0 ? "ok" : "FAIL");
	}
}

/* Ctrl-Alt-Del from the host arrives as scancodes on the i8042 (IRQ 1). */
static void wait_ctrl_alt_del(void)
{
	static const uint8_t seq[] = {0x1d, 0x38, 0xe0, 0x53};
	unsigned matched = 0;
	guest_irq_route(1);
	say("nook-guest: waiting for ctrl-alt-del\n");
	for (;;) {
		while (inb(0x64) & 0x01) {
			uint8_t b = inb(0x60);
			matched = b == seq[matched] ? matched + 1 : b == seq[0];
			if (matched == sizeof(seq)) {
				say("nook-guest: ctrl-alt-del received kbd_irqs=%u\n", guest_irq_count(1));
				return;
			}
		}
		guest_wait_irq();
	}
}

static void ap_main(unsigned cpu)
{
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	say("nook-guest: cpu%u up apic=%u\n", cpu, lapic_read(0x20) >> 24);
	park();
}

/* nook.mode= is one word or several, comma-separated: "minimal,hang". */
static int mode_has(const char *mode, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = mode; *p; ) {
		const char *end = p;
		while (*end && *end != ',')
			end++;
		if ((size_t)(end - p) == n && !strncmp(p, word, n))
			return 1;
		p = *end ? end + 1 : end;
	}
	return 0;
}

void guest_cpu_main(unsigned cpu)
{
	char mode[32] = "", opt[8];
	if (cpu)
		ap_main(cpu);
	/* Our "init" starts here, in ring 3: tell the VMM, as a Linux /init would (docs/vmm.md). */
	outb(BOOT_MARK_PORT, BOOT_MARK_INIT);
	idt_init();
	serial_init();
	pvh_to_boot_params();
	check_cmdline();
	check_e820();
	check_initrd();
	cmdline_get("nook.mode", mode, sizeof(mode));
	if (mode_has(mode, "triple")) {
		say("nook-guest: triple fault now\n");
		crash();
	}
	if (mode_has(mode, "ud")) {
		say("nook-guest: invalid opcode now\n");
		__asm__ volatile("ud2");
	}
	/* Minimal: nothing beyond the serial port, so any VMM that loads a bzImage can run
	 * it (bench/vm.sh boots it under QEMU's microvm too). */
	if (!mode_has(mode, "minimal")) {
		check_timer();
		check_serial_irq();
		guest_acpi_check(check_smp());
		check_stats();
		if (cmdline_get("nook.input", opt, sizeof(opt)))
			check_input();
		check_virtio();
		if (cmdline_get("nook.wait_stop", opt, sizeof(opt)))
			wait_ctrl_alt_del();
	}
	/* Through ACPI, as a Linux guest would: each returns only if the VMM did not stop. */
	if (mode_has(mode, "poweroff"))
		guest_acpi_poweroff();
	if (mode_has(mode, "panic"))
		guest_acpi_panic();
	if (cmdline_get("nook.spam", opt, sizeof(opt))) {
		/* Console flood: the VMM must drop, not stall, when nobody reads. */
		unsigned lines = (unsigned)parse_u64(opt, NULL) * 16;
		for (unsigned i = 0; i < lines; i++)
			say("nook-guest: spam %06u .........................................\n", i);
	}
	say("nook-guest: guest-ms=%lu\n", now_ms());
	if (mode_has(mode, "hang")) {
		say("nook-guest: hanging\n");
		park();
	}
	say("nook-guest: done\n");
	reset();
}
