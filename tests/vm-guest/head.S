/* The test guest's ring-0 part: bzImage header, 64-bit entry, GDT/TSS/page tables,
 * interrupt stubs, a call gate (int3) for ring 3, and the AP trampoline. Kept tiny because
 * under PVM every ring-0 instruction goes through KVM's emulator. */
#include "guest-layout.h"

	.altmacro

/* ---- the bzImage setup area: a boot sector with the setup header, one setup sector */
	.section .setup, "a"
	.code16
setup_start:
	.org 0x1f1
	.byte 1			/* setup_sects */
	.word 0			/* root_flags */
	.long _syssize		/* syssize */
	.word 0			/* ram_size */
	.word 0xffff		/* vid_mode */
	.word 0			/* root_dev */
	.word 0xaa55		/* boot_flag */
	.byte 0xeb		/* jump over the header, which ends where it lands */
	.byte hdr_end - hdr_start
hdr_start:
	.ascii "HdrS"
	.word 0x020f		/* boot protocol 2.15 */
	.long 0			/* realmode_swtch */
	.word 0x1000		/* start_sys_seg */
	.word 0			/* kernel_version */
	.byte 0			/* type_of_loader */
	.byte 0x01		/* loadflags: LOADED_HIGH */
	.word 0x8000		/* setup_move_size */
	.long 0x100000		/* code32_start */
	.long 0			/* ramdisk_image */
	.long 0			/* ramdisk_size */
	.long 0			/* bootsect_kludge */
	.word 0			/* heap_end_ptr */
	.byte 0			/* ext_loader_ver */
	.byte 0			/* ext_loader_type */
	.long 0			/* cmd_line_ptr */
	.long 0x7fffffff	/* initrd_addr_max */
	.long 0x200000		/* kernel_alignment */
	.byte 0			/* relocatable_kernel */
	.byte 0			/* min_alignment */
	.word 0x0003		/* xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G */
	.long 2047		/* cmdline_size */
	.long 0			/* hardware_subarch */
	.quad 0			/* hardware_subarch_data */
	.long 0			/* payload_offset */
	.long 0			/* payload_length */
	.quad 0			/* setup_data */
	.quad 0x100000		/* pref_address */
	.long _init_size	/* init_size */
	.long 0			/* handover_offset */
	.long 0			/* kernel_info_offset */
hdr_end:

/* ---- 16-bit entry, setup + 0x200 (the jump above lands here): for loaders that run the
 * setup code, as QEMU's firmware does. CS = setup segment + 0x20, the setup segment is
 * the zero page. Straight to long mode as the AP trampoline does, then the 64-bit entry
 * with rsi = zero page. Offsets are from CS, which starts 0x200 into this section. */
	.code16
setup_entry16:
	cli
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %esi
	subl $0x20, %esi
	shll $4, %esi				/* esi = the zero page */
	lgdtl setup_gdt_desc - setup_start - 0x200
	movl $0x620, %eax			/* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax			/* EFER.LME */
	wrmsr
	movl $0x80010033, %eax			/* PG, WP, NE, ET, MP, PE */
	movl %eax, %cr0
	ljmpl *(setup_jump - setup_start - 0x200)
	.balign 8
setup_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
setup_jump:
	.long setup_long64
	.word KCODE
	.org 0x400

/* ---- 32-bit entry at the load address: this guest only supports the 64-bit one */
	.section .text32, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
1:	hlt
	jmp 1b

/* ---- 64-bit entry, load address + 0x200: rsi = zero page */
	.section .text.head64, "ax"
	.code64
	.globl startup_64
startup_64:
	cli
	movq %rsi, boot_params_ptr(%rip)
	rdtsc
	movl %eax, boot_tsc(%rip)
	movl %edx, boot_tsc+4(%rip)
	lgdt gdt_desc(%rip)
	movl $KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movq $pml4, %rax
	movq %rax, %cr3
	lidt idt_desc(%rip)
	xorl %edi, %edi
	jmp cpu_enter_user

/* From the 16-bit entry: the upper half of rsi is undefined after the mode switch. */
	.text
setup_long64:
	movl %esi, %esi
	jmp startup_64

/* edi = cpu index. Give the cpu its kernel stack and TSS, then iretq to ring 3 with
 * IOPL 3 (port I/O, cli/sti) and interrupts still off. */
	.text
cpu_enter_user:
	movl %edi, %eax
	incl %eax
	shll $KSTACK_SHIFT, %eax
	leaq kstacks(%rip), %rsp
	addq %rax, %rsp
	/* TSS for this cpu: rsp0, and an all-zero I/O bitmap right after it. IOPL 3 alone
	 * should be enough for ring-3 port I/O, but PVM checks the bitmap. */
	movl %edi, %eax
	imull $TSS_STRIDE, %eax
	leaq tss_array(%rip), %rbx
	addq %rax, %rbx
	movq %rsp, 4(%rbx)
	movw $104, 102(%rbx)
	movb $0xff, TSS_LIMIT(%rbx)		/* the bitmap's terminating byte */
	/* 16-byte TSS descriptor: limit, base split, type 0x89 (available). */
	movq %rbx, %rax
	andq $0xffffff, %rax
	shlq $16, %rax
	orq $TSS_LIMIT, %rax
	movq $0x89, %rcx
	shlq $40, %rcx
	orq %rcx, %rax
	movq %rbx, %rcx
	shrq $24, %rcx
	andq $0xff, %rcx
	shlq $56, %rcx
	orq %rcx, %rax
	movq %rbx, %rdx
	shrq $32, %rdx
	movl %edi, %ecx
	shll $4, %ecx
	addl $TSS0, %ecx
	leaq gdt(%rip), %rsi
	movq %rax, (%rsi,%rcx)
	movq %rdx, 8(%rsi,%rcx)
	ltr %cx
	/* Ring-3 stack for this cpu. */
	movl %edi, %eax
	incl %eax
	shll $USTACK_SHIFT, %eax
	leaq ustacks(%rip), %rdx
	addq %rax, %rdx
	pushq $UDATA
	pushq %rdx
	pushq $0x3002
	pushq $UCODE
	leaq user_entry(%rip), %rax
	pushq %rax
	iretq

/* Ring 3 from here: rdi still holds the cpu index. */
user_entry:
	call guest_cpu_main
	ud2

/* ---- interrupts: count per vector, EOI, return. */
irq_common:
	lock incl irq_counts(,%rax,4)
	movl $LAPIC_EOI, %eax
	movl $0, (%rax)
	popq %rax
	iretq

	.macro irq_stub vec
irq_\vec:
	pushq %rax
	movl $\vec, %eax
	jmp irq_common
	.endm
	.set v, IRQ_VEC_BASE
	.rept IRQ_VEC_COUNT
	irq_stub %v
	.set v, v + 1
	.endr

spurious:
	iretq

/* ---- exceptions: record what happened and report it from ring 3, or give up. */
	.macro exc_stub vec, has_err
exc_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
	.endm
	.set v, 0
	.rept 32
	.if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
	exc_stub %v, 1
	.else
	exc_stub %v, 0
	.endif
	.set v, v + 1
	.endr

exc_common:
	/* A fault while reporting a fault: no second try, end as a crash. */
	lock incl exc_depth(%rip)
	cmpl $1, exc_depth(%rip)
	jne crash
	popq %rax
	movq %rax, exc_info(%rip)		/* vector */
	popq %rax
	movq %rax, exc_info+8(%rip)		/* error code */
	movq (%rsp), %rax
	movq %rax, exc_info+16(%rip)		/* rip */
	movq 8(%rsp), %rax
	movq %rax, exc_info+24(%rip)		/* cs */
	movq 24(%rsp), %rax
	movq %rax, exc_info+32(%rip)		/* rsp */
	movq %cr2, %rax
	movq %rax, exc_info+40(%rip)
	leaq exc_ustack_top(%rip), %rax
	pushq $UDATA
	pushq %rax
	pushq $0x3002
	pushq $UCODE
	leaq guest_exception(%rip), %rax
	pushq %rax
	iretq

/* ---- the way up from ring 3: int3 with a function number in eax. Under PVM a
 * ring-3 "int n" (n != 3) raises #UD (KVM's emulator only does it in real mode),
 * sti/cli ignore IOPL, and syscall jumps to LSTAR without leaving ring 3; an
 * exception is what reliably reaches ring 0. Vector 3 is a DPL-3 gate here. */
sys_entry:
	cmpl $SYS_STI, %eax
	je 1f
	cmpl $SYS_CLI, %eax
	je 2f
	cmpl $SYS_WAIT, %eax
	je 3f
	cmpl $SYS_PARK, %eax
	je park
	jmp crash
1:	orq $0x200, 16(%rsp)
	iretq
2:	andq $~0x200, 16(%rsp)
	iretq
3:	sti			/* the interrupt lands here, nested on this stack */
	hlt
	iretq
park:
	cli
1:	hlt
	jmp 1b
/* A triple fault on purpose. An int3 here would need KVM's emulator to deliver it
 * through the empty IDT, which it cannot do in long mode; a fault raised natively in
 * ring 3 takes the real path and ends in SHUTDOWN. */
crash:
	lidt null_idt_desc(%rip)
	movq %rsp, %rax
	pushq $UDATA
	pushq %rax
	pushq $0x3002
	pushq $UCODE
	leaq crash_user(%rip), %rax
	pushq %rax
	iretq
crash_user:
	ud2

	.section .rodata
	.balign 8
	.globl irq_stub_table, exc_stub_table, spurious_stub, sys_stub
	.macro stub_addr prefix, vec
	.quad \prefix\()_\vec
	.endm
irq_stub_table:
	.set v, IRQ_VEC_BASE
	.rept IRQ_VEC_COUNT
	stub_addr irq, %v
	.set v, v + 1
	.endr
exc_stub_table:
	.set v, 0
	.rept 32
	stub_addr exc, %v
	.set v, v + 1
	.endr
spurious_stub:
	.quad spurious
sys_stub:
	.quad sys_entry

/* ---- AP trampoline: copied to AP_TRAMP by the BSP. Real mode straight to long mode
 * (PAE, EFER.LME, then PE|PG together), then a far jump into the image. */
	.section .rodata
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl tramp_gdt_desc - ap_tramp_start
	movl $0x620, %eax			/* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl tramp_cr3 - ap_tramp_start, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax			/* EFER.LME */
	wrmsr
	movl $0x80010033, %eax			/* PG, WP, NE, ET, MP, PE */
	movl %eax, %cr0
	ljmpl *(tramp_jump - ap_tramp_start)
	.balign 8
tramp_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
tramp_cr3:
	.long pml4
tramp_jump:
	.long ap_long64
	.word KCODE
ap_tramp_end:

	.text
	.code64
ap_long64:
	movl $KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	lidt idt_desc(%rip)
	movl ap_boot_cpu(%rip), %edi
	jmp cpu_enter_user

/* ---- data */
	.data
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9b000000ffff		/* KCODE: 64-bit, DPL 0 */
	.quad 0x00cf93000000ffff		/* KDATA */
	.quad 0x00affb000000ffff		/* UCODE: 64-bit, DPL 3 */
	.quad 0x00cff3000000ffff		/* UDATA: DPL 3 */
	.quad 0
	.fill MAX_CPUS * 2, 8, 0		/* TSS0 + 16 * cpu */
gdt_end:
	.balign 8
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.balign 8
	.globl idt
idt_desc:
	.word 256 * 16 - 1
	.quad idt
null_idt_desc:
	.word 0
	.quad 0
	.globl boot_params_ptr, boot_tsc, ap_boot_cpu, irq_counts, exc_info
boot_params_ptr:
	.quad 0
boot_tsc:
	.quad 0
ap_boot_cpu:
	.long 0
exc_depth:
	.long 0
	.balign 8
exc_info:
	.fill 6, 8, 0
irq_counts:
	.fill 256, 4, 0

/* Identity map of the first 4 GiB in 2 MiB pages, user-accessible (this guest's
 * "user" is its own test code), the top GiB (IOAPIC, LAPIC) uncached. */
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + 0x7
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x7, pd + 0x1007, pd + 0x2007, pd + 0x3007
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.if i >= 1536
	.quad (i << 21) | 0x9f
	.else
	.quad (i << 21) | 0x87
	.endif
	.set i, i + 1
	.endr

	.bss
	.balign 4096
idt:
	.skip 256 * 16
tss_array:
	.skip MAX_CPUS * TSS_STRIDE
	.balign 4096
kstacks:
	.skip MAX_CPUS << KSTACK_SHIFT
ustacks:
	.skip MAX_CPUS << USTACK_SHIFT
	.skip 4096
exc_ustack_top:
