/* The PVH entry: an ELF vmlinux's XEN_ELFNOTE_PHYS32_ENTRY note, and the hvm_start_info
 * (with its module list and memory map) the kernel reads from EBX at that entry. */
#include "core/vm/boot.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define NOTE_SEGMENT_MAX (1u << 20) /* a kernel's notes are a few hundred bytes */

#define HVM_START_MAGIC 0x336ec578

/* xen/include/public/arch-x86/hvm/start_info.h, version 1: every field little-endian,
 * at fixed offsets (the structures are laid out without padding surprises). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* the e820 types */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry is 24 bytes");
_Static_assert(NK_PVH_MEMMAP + NK_BOOT_E820_MAX * sizeof(struct hvm_memmap_table_entry) <= NK_PVH_END,
	       "the PVH memory map fits its page");

/* Zero page offsets of the e820 table boot.c built: the memory map is the same one. */
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0

static uint64_t pad_to(uint64_t n, uint64_t align) { return (n + align - 1) & ~(align - 1); }

int nk_pvh_parse_notes(const uint8_t *notes, size_t len, uint64_t align, uint32_t *entry, struct nk_err *err)
{
	/* ELF64 notes are 4-byte aligned in practice (Linux's are); honour 8 when the
	 * segment asks for it. */
	align = align == 8 ? 8 : 4;
	uint64_t off = 0;
	while (off < len) {
		Elf64_Nhdr nh;
		if (len - off < sizeof(nh))
			return nk_err_msg(err, ENOEXEC, "note at offset %llu is truncated (%llu bytes left, a header is %zu)",
					  (unsigned long long)off, (unsigned long long)(len - off), sizeof(nh));
		memcpy(&nh, notes + off, sizeof(nh));
		/* Sizes are 32-bit, offsets 64-bit: these sums cannot wrap. */
		uint64_t name_off = off + sizeof(nh);
		uint64_t desc_off = name_off + pad_to(nh.n_namesz, align);
		uint64_t desc_end = desc_off + nh.n_descsz;
		if (desc_off > len || desc_end > len)
			return nk_err_msg(err, ENOEXEC,
					  "note at offset %llu (name %u bytes, value %u bytes) runs past its segment's %zu bytes",
					  (unsigned long long)off, nh.n_namesz, nh.n_descsz, len);
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(notes + name_off, "Xen", 4) == 0) {
			uint64_t value;
			if (nh.n_descsz == 4) {
				uint32_t v32;
				memcpy(&v32, notes + desc_off, 4);
				value = v32;
			} else if (nh.n_descsz == 8) {
				memcpy(&value, notes + desc_off, 8);
			} else {
				return nk_err_msg(err, ENOEXEC, "the PVH entry note holds %u bytes; 4 or 8 expected",
						  nh.n_descsz);
			}
			if (value == 0 || value > UINT32_MAX)
				return nk_err_msg(err, ENOEXEC, "the PVH entry 0x%llx is not a 32-bit address",
						  (unsigned long long)value);
			*entry = (uint32_t)value;
			return 1;
		}
		off = desc_off + pad_to(nh.n_descsz, align);
	}
	return 0;
}

int nk_pvh_find_entry(int fd, uint64_t fsize, const char *path, uint32_t *entry, struct nk_err *err)
{
	Elf64_Ehdr eh;
	if (fsize < sizeof(eh))
		return nk_err_msg(err, ENOEXEC, "%s is too small to be an ELF file", path);
	int r = nk_pread_exact(fd, &eh, sizeof(eh), 0);
	if (r < 0)
		return nk_err_set(err, -r, "reading %s", path);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return nk_err_msg(err, ENOEXEC, "%s is not a 64-bit little-endian ELF file", path);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return nk_err_msg(err, ENOEXEC, "%s: implausible program headers", path);
	if (eh.e_phoff > fsize || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff)
		return nk_err_msg(err, ENOEXEC, "%s: program headers lie past the end", path);
	Elf64_Phdr ph[64];
	r = nk_pread_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
	if (r < 0)
		return nk_err_set(err, -r, "reading %s", path);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_NOTE || p->p_filesz == 0)
			continue;
		if (p->p_offset > fsize || p->p_filesz > fsize - p->p_offset)
			return nk_err_msg(err, ENOEXEC, "%s: note segment %u (0x%llx+0x%llx) lies past the end of the file",
					  path, i, (unsigned long long)p->p_offset, (unsigned long long)p->p_filesz);
		if (p->p_offset % 4)
			return nk_err_msg(err, ENOEXEC, "%s: note segment %u at offset 0x%llx is not 4-byte aligned",
					  path, i, (unsigned long long)p->p_offset);
		if (p->p_filesz > NOTE_SEGMENT_MAX)
			return nk_err_msg(err, ENOEXEC, "%s: note segment %u is %llu bytes; a kernel's are a few hundred",
					  path, i, (unsigned long long)p->p_filesz);
		nk_autofree uint8_t *buf = malloc(p->p_filesz);
		if (!buf)
			return nk_err_set(err, ENOMEM, "reading the notes of %s", path);
		r = nk_pread_exact(fd, buf, p->p_filesz, p->p_offset);
		if (r < 0)
			return nk_err_set(err, -r, "reading %s", path);
		r = nk_pvh_parse_notes(buf, p->p_filesz, p->p_align, entry, err);
		if (r < 0)
			return nk_err_prefix(err, "%s: note segment %u", path, i);
		if (r > 0)
			return 1;
	}
	return 0;
}

int nk_pvh_write_start_info(const struct nk_vm_mem *mem, const struct nk_boot_image *img, uint64_t rsdp,
			    struct nk_err *err)
{
	const uint8_t *zp = nk_vm_mem_ptr(mem, NK_BOOT_ZERO_PAGE, 4096);
	uint8_t *area = nk_vm_mem_ptr(mem, NK_PVH_START_INFO, NK_PVH_END - NK_PVH_START_INFO);
	if (!zp || !area)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the PVH start info");
	memset(area, 0, NK_PVH_END - NK_PVH_START_INFO);

	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = NK_BOOT_CMDLINE,
	    .rsdp_paddr = rsdp,
	};
	if (img->initrd_size) {
		struct hvm_modlist_entry mod = {.paddr = img->initrd_addr, .size = img->initrd_size};
		memcpy(area + (NK_PVH_MODLIST - NK_PVH_START_INFO), &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = NK_PVH_MODLIST;
	}
	/* The memory map is the e820 table boot.c wrote into the zero page: one source. */
	unsigned n = zp[ZP_E820_ENTRIES];
	if (n > NK_BOOT_E820_MAX)
		n = NK_BOOT_E820_MAX;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = zp + ZP_E820_TABLE + 20 * i;
		struct hvm_memmap_table_entry m = {0};
		memcpy(&m.addr, e, 8);
		memcpy(&m.size, e + 8, 8);
		memcpy(&m.type, e + 16, 4);
		memcpy(area + (NK_PVH_MEMMAP - NK_PVH_START_INFO) + i * sizeof(m), &m, sizeof(m));
	}
	si.memmap_paddr = NK_PVH_MEMMAP;
	si.memmap_entries = n;
	memcpy(area, &si, sizeof(si));

	/* The entry's flat 32-bit code segment, in the slot the 64-bit protocol leaves free. */
	uint64_t *gdt = nk_vm_mem_ptr(mem, NK_BOOT_GDT, 8 * 6);
	if (!gdt)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the boot GDT");
	gdt[NK_PVH_CS / 8] = 0x00cf9b000000ffffULL;
	return 0;
}
