/* The test guest's ring-3 library: port/MMIO access, serial output, time, memory, IRQs.
 * Everything here runs at CPL 3 (natively fast under PVM); memory is identity-mapped,
 * so a pointer is its own guest-physical address (what DMA rings need). */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-layout.h"

/* The VMM's boot-mark port and the "init has started" value (core/vm/vmm.h, docs/vmm.md). */
#define BOOT_MARK_PORT 0x4e0
#define BOOT_MARK_INIT 0x01

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)(uintptr_t)addr = v; }
static inline uint8_t mmio_read8(uint64_t addr) { return *(volatile uint8_t *)(uintptr_t)addr; }
static inline void mmio_write8(uint64_t addr, uint8_t v) { *(volatile uint8_t *)(uintptr_t)addr = v; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* printf to the serial port, one line at a time, serialised between cpus. Knows
 * %s %c %d %u %x with l/ll, %p, and a width/zero flag for numbers. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void serial_init(void);
void vsay(const char *fmt, va_list ap);
/* For the exception reporter: the faulting code may have held the lock. */
void say_unlock(void);

/* Milliseconds since the timer test started the PIT (1 kHz); before that, and if the
 * timer never ticked, estimated from the TSC. */
uint64_t now_ms(void);
void delay_ms(unsigned ms);
/* Into ring 0 (int3, head.S's sys_entry) for one of the SYS_* services. */
void guest_syscall(unsigned nr);
/* Sleep until the next interrupt (ring 0: sti; hlt). */
void guest_wait_irq(void);
/* Interrupts on/off for this cpu, through ring 0: under PVM a ring-3 sti/cli faults
 * even with IOPL 3. */
void guest_sti(void);
void guest_cli(void);

/* Zeroed, never freed; align is a power of two. NULL when the 1 MiB heap is used up. */
void *guest_alloc(size_t size, size_t align);

/* Route IOAPIC pin gsi (edge, active high) to this guest's vector for it, on the BSP;
 * returns the vector. Interrupts on it are counted by guest_irq_count(gsi). */
int guest_irq_route(unsigned gsi);
void guest_irq_mask(unsigned gsi);
unsigned guest_irq_count(unsigned gsi);

/* The value of key=... on the kernel command line, copied to buf; 0 if absent. */
int cmdline_get(const char *key, char *buf, size_t size);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
const char *strfind(const char *haystack, const char *needle);
uint64_t parse_u64(const char *s, const char **end);

/* Booted through the PVH entry: fill the zero page from hvm_start_info (pvh.c). */
void pvh_to_boot_params(void);

/* Set by head.S. */
extern uint64_t boot_params_ptr;
extern uint64_t boot_tsc;
extern volatile uint32_t irq_counts[256];
extern uint64_t tsc_khz;

/* acpi-checks.c: the VMM's ACPI tables, found through the zero page. cpus is what the MP
 * table says; poweroff and panic return only when the VMM did not stop the VM. */
void guest_acpi_check(unsigned cpus);
void guest_acpi_poweroff(void);
void guest_acpi_panic(void);

/* The virtio test hook: a tests/vm-guest/virtio-*.c may define it. kind is "blk",
 * "net" or "rng"; base/irq come from the virtio_mmio.device= slot whose DeviceID
 * matches. Return 0 on success; print your own "nook-guest: virtio-<kind> ..." lines. */
int guest_virtio_test(const char *kind, uint64_t base, int irq) __attribute__((weak));


/* The zero page's acpi_rsdp_addr (boot protocol 2.14+). */
#define ZP_ACPI_RSDP_ADDR 0x070

#endif
