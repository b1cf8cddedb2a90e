/* Constants shared by the test guest's assembly and C: selectors, vectors, addresses. */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define KCODE 0x08
#define KDATA 0x10
#define UCODE (0x18 | 3)
#define UDATA (0x20 | 3)
#define TSS0 0x30

#define MAX_CPUS 8
/* A 104-byte TSS, an 8 KiB I/O bitmap and its 0xff terminator, rounded up. */
#define TSS_LIMIT (104 + 8192)
#define TSS_STRIDE (TSS_LIMIT + 1 + 15 - ((TSS_LIMIT + 1 + 15) % 16))
#define KSTACK_SHIFT 12 /* 4 KiB ring-0 stack per cpu */
#define USTACK_SHIFT 15 /* 32 KiB ring-3 stack per cpu */

/* GSI n arrives on vector IRQ_VEC_BASE + n. */
#define IRQ_VEC_BASE 0x20
#define IRQ_VEC_COUNT 24
/* Ring-0 services, by eax at int3 (head.S's sys_entry) */
#define SYS_WAIT 0  /* sti; hlt until the next interrupt */
#define SYS_PARK 1  /* this cpu stops for good */
#define SYS_CRASH 2 /* triple fault */
#define SYS_STI 3
#define SYS_CLI 4
#define VEC_SPURIOUS 0xff

#define LAPIC_BASE 0xfee00000
#define LAPIC_EOI (LAPIC_BASE + 0xb0)
#define IOAPIC_BASE 0xfec00000
#define AP_TRAMP 0x8000
#define AP_TRAMP_VECTOR (AP_TRAMP >> 12)

#endif
