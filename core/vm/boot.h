/* The guest-physical memory map, the x86-64 Linux boot protocol loader and the MP table. */
#ifndef NOOK_VM_BOOT_H
#define NOOK_VM_BOOT_H

#include <stdint.h>

#include "core/err.h"
#include "core/vm/vm.h"

/* Low memory, as Firecracker lays it out: Linux copies what it needs out of it early. */
#define NK_BOOT_GDT 0x500
#define NK_BOOT_ZERO_PAGE 0x7000
#define NK_BOOT_STACK 0x8ff0
#define NK_BOOT_PML4 0x9000
#define NK_BOOT_PDPT 0xa000
#define NK_BOOT_PD 0xb000 /* four pages: 4 GiB of 2 MiB pages */
#define NK_BOOT_CMDLINE 0x20000
#define NK_BOOT_CMDLINE_CAP 0x10000
#define NK_BOOT_MPTABLE 0x9fc00 /* the last KiB of base memory, where Linux looks */
#define NK_BOOT_LOWMEM_END 0xa0000
/* ACPI tables (acpi.c): RSDP first, in the BIOS area Linux scans; reserved in the e820. */
#define NK_BOOT_ACPI 0xe0000
#define NK_BOOT_ACPI_END 0xf0000
#define NK_BOOT_BIOS_START 0xf0000
#define NK_BOOT_KERNEL 0x100000

/* Selectors of the boot GDT, as the 64-bit boot protocol names them. */
#define NK_BOOT_CS 0x10
#define NK_BOOT_DS 0x18
#define NK_BOOT_TSS 0x20

/* The 32-bit hole: virtio-mmio slots, then the IOAPIC and the LAPIC. */
#define NK_BOOT_MMIO_START 0xd0000000ULL
#define NK_BOOT_MMIO_END 0xfec00000ULL
#define NK_BOOT_IOAPIC 0xfec00000ULL
#define NK_BOOT_LAPIC 0xfee00000ULL
/* Three pages KVM wants for the real-mode TSS on VMX, and one for its identity map. */
#define NK_BOOT_KVM_TSS 0xfffbd000ULL
#define NK_BOOT_KVM_IDMAP 0xfffbc000ULL

#define NK_BOOT_E820_MAX 128

/* The PVH entry's data, 0x6000-0x6fff (below the zero page; nothing else is there):
 * hvm_start_info, then the module list (the initrd), then the memory map. */
#define NK_PVH_START_INFO 0x6000
#define NK_PVH_MODLIST 0x6040
#define NK_PVH_MEMMAP 0x6080
#define NK_PVH_END 0x7000
/* The flat 32-bit code selector the PVH entry starts with (a free slot of the boot GDT). */
#define NK_PVH_CS 0x08

/* What the loader placed where. */
struct nk_boot_image {
	uint64_t entry;		/* 64-bit entry point (startup_64) */
	uint64_t kernel_end;	/* first byte the kernel will not use while decompressing */
	uint64_t initrd_max;	/* the kernel's initrd_addr_max */
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint32_t cmdline_max;	/* bytes, with the NUL */
	uint16_t protocol;	/* boot protocol version, 0 for an ELF vmlinux */
	int elf;
	uint32_t pvh_entry;	/* an ELF's XEN_ELFNOTE_PHYS32_ENTRY; 0 without the note */
};

/* Load a bzImage (64-bit entry, protocol >= 2.12) or an ELF64 vmlinux, and fill the
 * zero page: setup header, e820 map. The file is untrusted input: every size and
 * offset is checked against the file and the guest RAM. */
int nk_boot_load_kernel(const struct nk_vm_mem *mem, const char *path, struct nk_boot_image *img,
			struct nk_err *err) NK_MUST_CHECK;

/* Place the initrd as high as the kernel allows, above the kernel, and point the zero
 * page at it. */
int nk_boot_load_initrd(const struct nk_vm_mem *mem, const char *path, struct nk_boot_image *img,
			struct nk_err *err) NK_MUST_CHECK;

/* Write the command line and point the zero page at it. */
int nk_boot_set_cmdline(const struct nk_vm_mem *mem, const struct nk_boot_image *img,
			const char *cmdline, struct nk_err *err) NK_MUST_CHECK;

/* Point the zero page's acpi_rsdp_addr (boot protocol 2.14+) at the RSDP. */
int nk_boot_set_rsdp(const struct nk_vm_mem *mem, uint64_t rsdp, struct nk_err *err) NK_MUST_CHECK;

/* The boot GDT and identity page tables (first 4 GiB, 2 MiB pages) for long mode. */
int nk_boot_write_tables(const struct nk_vm_mem *mem, struct nk_err *err) NK_MUST_CHECK;

/* An Intel MP 1.4 table for ncpus processors, one IOAPIC and ISA interrupts 0..23. */
int nk_mptable_write(const struct nk_vm_mem *mem, unsigned ncpus, struct nk_err *err) NK_MUST_CHECK;

/* boot-pvh.c. Find XEN_ELFNOTE_PHYS32_ENTRY in the notes of one PT_NOTE segment
 * (align: its p_align): 1 and *entry set when found, 0 when absent, <0 when a note is
 * malformed. Every size is checked against len. */
int nk_pvh_parse_notes(const uint8_t *notes, size_t len, uint64_t align, uint32_t *entry,
		       struct nk_err *err) NK_MUST_CHECK;

/* The same over an ELF64 file's PT_NOTE segments (fd, fsize bytes, untrusted). */
int nk_pvh_find_entry(int fd, uint64_t fsize, const char *path, uint32_t *entry,
		      struct nk_err *err) NK_MUST_CHECK;

/* hvm_start_info at NK_PVH_START_INFO: command line at NK_BOOT_CMDLINE, the initrd as
 * module 0, the zero page's e820 table as the memory map, rsdp (0 for none); and the
 * entry's 32-bit code segment in the boot GDT. After the kernel, initrd and tables. */
int nk_pvh_write_start_info(const struct nk_vm_mem *mem, const struct nk_boot_image *img, uint64_t rsdp,
			    struct nk_err *err) NK_MUST_CHECK;

#endif
