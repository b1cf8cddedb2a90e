/* The test guest's ring-3 library: formatting, serial output, time, heap, IOAPIC, strings. */
#include "guest.h"

#define COM1 0x3f8
#define LSR_THRE 0x20

uint64_t tsc_khz;
static volatile int say_lock;
static uint8_t heap[1 << 20] __attribute__((aligned(4096)));
static size_t heap_used;

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

const char *strfind(const char *h, const char *n)
{
	size_t len = strlen(n);
	for (; *h; h++)
		if (strncmp(h, n, len) == 0)
			return h;
	return NULL;
}

uint64_t parse_u64(const char *s, const char **end)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		v = v * base + d;
	}
	if (end)
		*end = s;
	return v;
}

struct out {
	char buf[512];
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len < sizeof(o->buf))
		o->buf[o->len++] = c;
}

static void put_num(struct out *o, uint64_t v, unsigned base, int neg, int width, char pad)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

static void format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		uint64_t u;
		int64_t s;
		switch (*fmt) {
		case 's': {
			const char *str = va_arg(ap, const char *);
			for (str = str ? str : "(null)"; *str; str++)
				put(o, *str);
			break;
		}
		case 'c':
			put(o, (char)va_arg(ap, int));
			break;
		case 'd':
			s = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(o, s < 0 ? (uint64_t)-s : (uint64_t)s, 10, s < 0, width, pad);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_num(o, u, *fmt == 'u' ? 10 : 16, 0, width, pad);
			break;
		case 'p':
			put(o, '0');
			put(o, 'x');
			put_num(o, (uint64_t)(uintptr_t)va_arg(ap, void *), 16, 0, 0, ' ');
			break;
		case '%':
			put(o, '%');
			break;
		default:
			return;
		}
	}
}

/* Under PVM a ring-3 "rep outsb" is emulated one byte per exit through KVM's full
 * instruction emulator (~150 us a byte), while a plain "out" takes the fast path
 * (~20 us): so plain outs, 16 at a time after THRE, as into a 16550's FIFO. */
static void serial_write(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (i % 16 == 0)
			while (!(inb(COM1 + 5) & LSR_THRE))
				cpu_relax();
		outb(COM1, (uint8_t)buf[i]);
	}
}

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts yet */
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFO on, both cleared */
}

void vsay(const char *fmt, va_list ap)
{
	struct out o;
	o.len = 0;
	format(&o, fmt, ap);
	while (__atomic_test_and_set(&say_lock, __ATOMIC_ACQUIRE))
		cpu_relax();
	serial_write(o.buf, o.len);
	__atomic_clear(&say_lock, __ATOMIC_RELEASE);
}

void say_unlock(void)
{
	__atomic_clear(&say_lock, __ATOMIC_RELEASE);
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

uint64_t now_ms(void)
{
	/* A guessed 2 GHz until the timer test measured the real rate. */
	uint64_t khz = tsc_khz ? tsc_khz : 2000000;
	return (rdtsc() - boot_tsc) / khz;
}

void delay_ms(unsigned ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end)
		cpu_relax();
}

void guest_syscall(unsigned nr)
{
	unsigned long a = nr;
	__asm__ volatile("int3" : "+a"(a) : : "memory");
}

void guest_wait_irq(void)
{
	guest_syscall(SYS_WAIT);
}

void guest_sti(void)
{
	guest_syscall(SYS_STI);
}

void guest_cli(void)
{
	guest_syscall(SYS_CLI);
}

void *guest_alloc(size_t size, size_t align)
{
	size_t at = (heap_used + align - 1) & ~(align - 1);
	if (at > sizeof(heap) || size > sizeof(heap) - at)
		return NULL;
	heap_used = at + size;
	return memset(heap + at, 0, size);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

int guest_irq_route(unsigned gsi)
{
	if (gsi >= IRQ_VEC_COUNT)
		return -1;
	int vec = IRQ_VEC_BASE + (int)gsi;
	ioapic_write(0x11 + 2 * gsi, 0);	      /* destination: APIC id 0 */
	ioapic_write(0x10 + 2 * gsi, (uint32_t)vec); /* fixed, physical, edge, high, unmasked */
	return vec;
}

void guest_irq_mask(unsigned gsi)
{
	if (gsi < IRQ_VEC_COUNT)
		ioapic_write(0x10 + 2 * gsi, 1u << 16);
}

unsigned guest_irq_count(unsigned gsi)
{
	return gsi < IRQ_VEC_COUNT ? irq_counts[IRQ_VEC_BASE + gsi] : 0;
}

int cmdline_get(const char *key, char *buf, size_t size)
{
	const char *cl = (const char *)(uintptr_t)*(volatile uint32_t *)(uintptr_t)(boot_params_ptr + 0x228);
	size_t klen = strlen(key);
	if (!cl || !size)
		return 0;
	for (const char *p = cl; *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			size_t n = 0;
			while (p[n] && p[n] != ' ' && n + 1 < size) {
				buf[n] = p[n];
				n++;
			}
			buf[n] = '\0';
			return 1;
		}
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}
