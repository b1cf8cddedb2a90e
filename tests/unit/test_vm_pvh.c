/* Unit tests for the PVH entry: the XEN_ELFNOTE_PHYS32_ENTRY note parser (good notes,
 * truncated, wrong type, odd sizes, segments past the file) and the hvm_start_info the
 * VMM writes for an ELF kernel that has the note. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm/boot.h"

#define PHYS32_ENTRY 18
#define LOAD_ADDR 0x100000
#define ENTRY32 0x100040

/* A note: header, name padded to 4, value padded to 4. Returns bytes written. */
static size_t put_note(uint8_t *p, const char *name, uint32_t namesz, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	Elf64_Nhdr nh = {.n_namesz = namesz, .n_descsz = descsz, .n_type = type};
	memcpy(p, &nh, sizeof(nh));
	size_t off = sizeof(nh);
	memset(p + off, 0, (namesz + 3) & ~3u);
	memcpy(p + off, name, strlen(name) + 1 < namesz ? strlen(name) + 1 : namesz);
	off += (namesz + 3) & ~3u;
	memset(p + off, 0, (descsz + 3) & ~3u);
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

static size_t xen_entry_note(uint8_t *p, uint32_t entry)
{
	return put_note(p, "Xen", 4, PHYS32_ENTRY, &entry, 4);
}

static void good_note_is_found(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = xen_entry_note(buf, ENTRY32);
	uint32_t entry = 0;
	struct nk_err err = {0};
	assert_int_equal(nk_pvh_parse_notes(buf, n, 4, &entry, &err), 1);
	assert_int_equal(entry, ENTRY32);
	/* Linux puts the entry in a 64-bit value (_ASM_PTR); the upper half must be 0. */
	uint64_t wide = ENTRY32;
	n = put_note(buf, "Xen", 4, PHYS32_ENTRY, &wide, 8);
	entry = 0;
	assert_int_equal(nk_pvh_parse_notes(buf, n, 4, &entry, &err), 1);
	assert_int_equal(entry, ENTRY32);
}

static void note_after_others_with_odd_name_sizes_is_found(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint32_t v = 0x12345678;
	size_t n = put_note(buf, "Linux", 6, 1, &v, 3);	/* name padded 6 -> 8, value 3 -> 4 */
	n += put_note(buf + n, "GNU", 4, 3, &v, 4);
	n += xen_entry_note(buf + n, ENTRY32);
	uint32_t entry = 0;
	struct nk_err err = {0};
	assert_int_equal(nk_pvh_parse_notes(buf, n, 4, &entry, &err), 1);
	assert_int_equal(entry, ENTRY32);
}

static void wrong_type_or_owner_is_not_the_entry(void **state)
{
	(void)state;
	uint8_t buf[128];
	uint32_t e = ENTRY32, entry = 0;
	struct nk_err err = {0};
	size_t n = put_note(buf, "Xen", 4, 17, &e, 4);	/* XEN_ELFNOTE_SUPPORTED_FEATURES-ish */
	assert_int_equal(nk_pvh_parse_notes(buf, n, 4, &entry, &err), 0);
	n = put_note(buf, "Xe", 3, PHYS32_ENTRY, &e, 4);
	assert_int_equal(nk_pvh_parse_notes(buf, n, 4, &entry, &err), 0);
	n = put_note(buf, "GNU", 4, PHYS32_ENTRY, &e, 4);
	assert_int_equal(nk_pvh_parse_notes(buf, n, 4, &entry, &err), 0);
	assert_int_equal(entry, 0);
	assert_int_equal(nk_pvh_parse_notes(buf, 0, 4, &entry, &err), 0);
}

static void truncated_notes_are_refused(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = xen_entry_note(buf, ENTRY32);
	uint32_t entry = 0;
	for (size_t len = 1; len < n; len++) {
		struct nk_err err = {0};
		assert_true(nk_pvh_parse_notes(buf, len, 4, &entry, &err) < 0);
		assert_true(strlen(err.msg) > 0);
	}
	assert_int_equal(entry, 0);
}

static void bad_sizes_and_values_are_refused(void **state)
{
	(void)state;
	uint8_t buf[64];
	uint32_t entry = 0;
	struct nk_err err = {0};
	/* A 3-byte entry value. */
	size_t n = put_note(buf, "Xen", 4, PHYS32_ENTRY, "\x40\x00\x10", 3);
	assert_true(nk_pvh_parse_notes(buf, n, 4, &entry, &err) < 0);
	assert_non_null(strstr(err.msg, "4 or 8"));
	/* Sizes near 2^32: their padding must not wrap past the buffer's end. */
	Elf64_Nhdr huge = {.n_namesz = 0xfffffffd, .n_descsz = 4, .n_type = PHYS32_ENTRY};
	memcpy(buf, &huge, sizeof(huge));
	assert_true(nk_pvh_parse_notes(buf, 40, 4, &entry, &err) < 0);
	huge = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 0xffffffff, .n_type = 1};
	memcpy(buf, &huge, sizeof(huge));
	memcpy(buf + 12, "Xen", 4);
	assert_true(nk_pvh_parse_notes(buf, 40, 4, &entry, &err) < 0);
	/* 8-byte alignment (p_align 8): a 4-byte name is padded to 8, so the note written
	 * with 4-byte padding leaves the value short. */
	n = xen_entry_note(buf, ENTRY32);
	assert_true(nk_pvh_parse_notes(buf, n, 8, &entry, &err) < 0);
	/* Entry 0, and an entry above 4 GiB. */
	n = xen_entry_note(buf, 0);
	assert_true(nk_pvh_parse_notes(buf, n, 4, &entry, &err) < 0);
	uint64_t high = 0x100100000ULL;
	n = put_note(buf, "Xen", 4, PHYS32_ENTRY, &high, 8);
	assert_true(nk_pvh_parse_notes(buf, n, 4, &entry, &err) < 0);
	assert_non_null(strstr(err.msg, "32-bit"));
	assert_int_equal(entry, 0);
}

/* An ELF64 x86-64 executable in a memfd: one PT_LOAD of 4 KiB at 1 MiB (entry at its
 * start), one PT_NOTE holding notes[0..notes_len) at note_off (0: right after the headers). */
struct elf_spec {
	const uint8_t *notes;
	size_t notes_len;
	uint64_t note_off;	/* 0: after the program headers */
	uint64_t note_filesz;	/* 0: notes_len */
	int no_note;
};

static int make_elf(const struct elf_spec *s, char *path, size_t pathsz, uint64_t *fsize)
{
	int fd = memfd_create("pvh-elf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	Elf64_Ehdr eh = {0};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = LOAD_ADDR + 0x200;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = s->no_note ? 1 : 2;
	uint64_t note_off = s->note_off ? s->note_off : sizeof(eh) + 2 * sizeof(Elf64_Phdr);
	Elf64_Phdr ph[2] = {
	    {.p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = LOAD_ADDR, .p_paddr = LOAD_ADDR,
	     .p_filesz = 0x1000, .p_memsz = 0x1000, .p_align = 0x1000, .p_flags = PF_R | PF_X},
	    {.p_type = PT_NOTE, .p_offset = note_off, .p_filesz = s->note_filesz ? s->note_filesz : s->notes_len,
	     .p_memsz = s->notes_len, .p_align = 4, .p_flags = PF_R},
	};
	uint8_t code[0x1000];
	memset(code, 0xf4, sizeof(code)); /* hlt */
	assert_int_equal(pwrite(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	assert_int_equal(pwrite(fd, ph, sizeof(ph), sizeof(eh)), (ssize_t)sizeof(ph));
	assert_int_equal(pwrite(fd, code, sizeof(code), 0x1000), (ssize_t)sizeof(code));
	if (!s->no_note && s->notes_len && note_off + s->notes_len <= 0x1000)
		assert_int_equal(pwrite(fd, s->notes, s->notes_len, (off_t)note_off), (ssize_t)s->notes_len);
	*fsize = 0x2000;
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

static int find_in(const struct elf_spec *s, uint32_t *entry, struct nk_err *err)
{
	char path[64];
	uint64_t fsize;
	int fd = make_elf(s, path, sizeof(path), &fsize);
	int r = nk_pvh_find_entry(fd, fsize, "kernel", entry, err);
	close(fd);
	return r;
}

static void elf_note_segments_are_checked_against_the_file(void **state)
{
	(void)state;
	uint8_t notes[64];
	size_t n = xen_entry_note(notes, ENTRY32);
	uint32_t entry = 0;
	struct nk_err err = {0};
	assert_int_equal(find_in(&(struct elf_spec){.notes = notes, .notes_len = n}, &entry, &err), 1);
	assert_int_equal(entry, ENTRY32);
	entry = 0;
	assert_int_equal(find_in(&(struct elf_spec){.no_note = 1}, &entry, &err), 0);
	/* Offset past the end of the file. */
	assert_true(find_in(&(struct elf_spec){.notes = notes, .notes_len = n, .note_off = 0x5000}, &entry, &err) < 0);
	assert_non_null(strstr(err.msg, "past the end"));
	/* Starts inside, runs past the end; and a size that wraps offset + size. */
	assert_true(find_in(&(struct elf_spec){.notes = notes, .notes_len = n, .note_off = 0x1ff0, .note_filesz = 0x20},
			    &entry, &err) < 0);
	assert_true(find_in(&(struct elf_spec){.notes = notes, .notes_len = n, .note_off = 0x1000,
						.note_filesz = UINT64_MAX - 0x800},
			    &entry, &err) < 0);
	/* A segment that does not start on a 4-byte boundary. */
	assert_true(find_in(&(struct elf_spec){.notes = notes, .notes_len = n, .note_off = 0x102}, &entry, &err) < 0);
	assert_non_null(strstr(err.msg, "aligned"));
	assert_int_equal(entry, 0);
}

static void start_info_describes_cmdline_initrd_and_memory(void **state)
{
	(void)state;
	struct nk_vm_mem mem = {.size = 32 << 20};
	mem.host = mmap(NULL, mem.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem.host != MAP_FAILED);
	uint8_t notes[64];
	size_t n = xen_entry_note(notes, ENTRY32);
	char path[64];
	uint64_t fsize;
	int fd = make_elf(&(struct elf_spec){.notes = notes, .notes_len = n}, path, sizeof(path), &fsize);
	struct nk_boot_image img;
	struct nk_err err = {0};
	assert_int_equal(nk_boot_load_kernel(&mem, path, &img, &err), 0);
	assert_int_equal(img.pvh_entry, ENTRY32);
	img.initrd_addr = 0x1f00000;
	img.initrd_size = 12345;
	assert_int_equal(nk_pvh_write_start_info(&mem, &img, 0, &err), 0);

	const uint8_t *si = mem.host + NK_PVH_START_INFO;
	uint32_t u32;
	uint64_t u64;
	memcpy(&u32, si, 4);
	assert_int_equal(u32, 0x336ec578);
	memcpy(&u32, si + 4, 4);
	assert_int_equal(u32, 1);
	memcpy(&u32, si + 12, 4);
	assert_int_equal(u32, 1); /* nr_modules */
	memcpy(&u64, si + 16, 8);
	assert_int_equal(u64, NK_PVH_MODLIST);
	memcpy(&u64, si + 24, 8);
	assert_int_equal(u64, NK_BOOT_CMDLINE);
	memcpy(&u64, si + 32, 8);
	assert_int_equal(u64, 0); /* rsdp */
	memcpy(&u64, si + 40, 8);
	assert_int_equal(u64, NK_PVH_MEMMAP);
	uint32_t entries;
	memcpy(&entries, si + 48, 4);
	assert_int_equal(entries, mem.host[NK_BOOT_ZERO_PAGE + 0x1e8]);
	assert_true(entries >= 2);
	const uint8_t *mod = mem.host + NK_PVH_MODLIST;
	memcpy(&u64, mod, 8);
	assert_int_equal(u64, 0x1f00000);
	memcpy(&u64, mod + 8, 8);
	assert_int_equal(u64, 12345);
	/* Each memory map entry is the zero page's e820 entry, 24 bytes instead of 20. */
	uint64_t ram = 0;
	for (uint32_t i = 0; i < entries; i++) {
		const uint8_t *m = mem.host + NK_PVH_MEMMAP + 24 * i;
		const uint8_t *e = mem.host + NK_BOOT_ZERO_PAGE + 0x2d0 + 20 * i;
		assert_memory_equal(m, e, 20);
		memcpy(&u32, m + 16, 4);
		if (u32 == 1) {
			memcpy(&u64, m + 8, 8);
			ram += u64;
		}
	}
	assert_true(ram > mem.size - (1 << 20) && ram <= mem.size);
	/* The entry's 32-bit code segment in the boot GDT. */
	memcpy(&u64, mem.host + NK_BOOT_GDT + NK_PVH_CS, 8);
	assert_int_equal(u64, 0x00cf9b000000ffffULL);
	close(fd);
	munmap(mem.host, mem.size);
}

static void entry_outside_the_kernel_is_refused(void **state)
{
	(void)state;
	struct nk_vm_mem mem = {.size = 32 << 20};
	mem.host = mmap(NULL, mem.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem.host != MAP_FAILED);
	uint8_t notes[64];
	size_t n = xen_entry_note(notes, 0x8000); /* below the loaded segment */
	char path[64];
	uint64_t fsize;
	int fd = make_elf(&(struct elf_spec){.notes = notes, .notes_len = n}, path, sizeof(path), &fsize);
	struct nk_boot_image img;
	struct nk_err err = {0};
	assert_true(nk_boot_load_kernel(&mem, path, &img, &err) < 0);
	assert_non_null(strstr(err.msg, "PVH entry point 0x8000"));
	close(fd);
	/* Without the note the ELF loads for the 64-bit protocol only. */
	fd = make_elf(&(struct elf_spec){.no_note = 1}, path, sizeof(path), &fsize);
	assert_int_equal(nk_boot_load_kernel(&mem, path, &img, &err), 0);
	assert_int_equal(img.pvh_entry, 0);
	close(fd);
	munmap(mem.host, mem.size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_note_is_found),
	    cmocka_unit_test(note_after_others_with_odd_name_sizes_is_found),
	    cmocka_unit_test(wrong_type_or_owner_is_not_the_entry),
	    cmocka_unit_test(truncated_notes_are_refused),
	    cmocka_unit_test(bad_sizes_and_values_are_refused),
	    cmocka_unit_test(elf_note_segments_are_checked_against_the_file),
	    cmocka_unit_test(start_info_describes_cmdline_initrd_and_memory),
	    cmocka_unit_test(entry_outside_the_kernel_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
