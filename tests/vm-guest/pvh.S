/* The test guest's PVH entry: a XEN_ELFNOTE_PHYS32_ENTRY note naming a 32-bit entry that
 * the VMM starts in protected mode with paging off and ebx = hvm_start_info. It keeps the
 * start info's address, switches to long mode on the image's own identity page tables and
 * enters the 64-bit entry with an empty zero page, which pvh.c fills from the start info
 * in ring 3. Only guest-pvh.ld keeps the note; guest.ld drops it (the bzImage has none). */
#include "guest-layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz: a 32-bit address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

	.text
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	movl %ebx, pvh_start_info
	lgdtl pvh_gdt_desc		/* KCODE/KDATA as head.S has them; startup_64 loads the real GDT */
	movl $0x620, %eax		/* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax		/* EFER.LME */
	wrmsr
	movl $0x80010033, %eax		/* PG, WP, NE, ET, MP, PE */
	movl %eax, %cr0
	ljmpl $KCODE, $pvh_long64

	.code64
pvh_long64:
	leaq pvh_boot_params(%rip), %rsi
	jmp startup_64

	.data
	.balign 8
pvh_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* KCODE: 64-bit, DPL 0 */
	.quad 0x00cf93000000ffff	/* KDATA */
pvh_gdt_end:
pvh_gdt_desc:
	.word pvh_gdt_end - pvh_gdt - 1
	.long pvh_gdt
	.globl pvh_start_info
	.balign 8
pvh_start_info:
	.quad 0

	.bss
	.balign 4096
	.globl pvh_boot_params
pvh_boot_params:
	.skip 4096
