/* The x86-64 Linux boot protocol: bzImage or ELF vmlinux, zero page, e820, initrd, cmdline. */
#include "core/vm/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

/* Offsets into the zero page (struct boot_params) and its setup header. */
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_E820_ENTRIES 0x1e8
#define ZP_SETUP_SECTS 0x1f1
#define ZP_VID_MODE 0x1fa
#define ZP_BOOT_FLAG 0x1fe
#define ZP_JUMP 0x200
#define ZP_HEADER 0x202
#define ZP_VERSION 0x206
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS 0x211
#define ZP_CODE32_START 0x214
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_HEAP_END_PTR 0x224
#define ZP_CMD_LINE_PTR 0x228
#define ZP_INITRD_ADDR_MAX 0x22c
#define ZP_KERNEL_ALIGNMENT 0x230
#define ZP_XLOADFLAGS 0x236
#define ZP_CMDLINE_SIZE 0x238
#define ZP_INIT_SIZE 0x260
#define ZP_HDR_END 0x290 /* end of struct setup_header in boot_params */
#define ZP_E820_TABLE 0x2d0

#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define E820_RAM 1
#define E820_RESERVED 2

#define INITRD_MAX_DEFAULT 0x37ffffffULL

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static uint8_t *zero_page(const struct nk_vm_mem *mem)
{
	return nk_vm_mem_ptr(mem, NK_BOOT_ZERO_PAGE, 4096);
}

static void e820_add(uint8_t *zp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t n = zp[ZP_E820_ENTRIES];
	if (n >= NK_BOOT_E820_MAX || size == 0)
		return;
	uint8_t *e = zp + ZP_E820_TABLE + 20 * n;
	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	zp[ZP_E820_ENTRIES] = n + 1;
}

/* RAM below the MP table, the MP table reserved, the ACPI tables and BIOS area reserved,
 * RAM from 1 MiB. */
static void write_e820(uint8_t *zp, uint64_t mem_size)
{
	zp[ZP_E820_ENTRIES] = 0;
	e820_add(zp, 0, NK_BOOT_MPTABLE, E820_RAM);
	e820_add(zp, NK_BOOT_MPTABLE, NK_BOOT_LOWMEM_END - NK_BOOT_MPTABLE, E820_RESERVED);
	e820_add(zp, NK_BOOT_ACPI, NK_BOOT_KERNEL - NK_BOOT_ACPI, E820_RESERVED);
	e820_add(zp, NK_BOOT_KERNEL, mem_size - NK_BOOT_KERNEL, E820_RAM);
}

static void common_zero_page(uint8_t *zp, const struct nk_vm_mem *mem, struct nk_boot_image *img)
{
	zp[ZP_TYPE_OF_LOADER] = 0xff;
	zp[ZP_LOADFLAGS] |= CAN_USE_HEAP | LOADED_HIGH;
	put16(zp + ZP_HEAP_END_PTR, 0xfe00);
	put32(zp + ZP_CMD_LINE_PTR, NK_BOOT_CMDLINE);
	put32(zp + ZP_CMDLINE_SIZE, img->cmdline_max - 1);
	write_e820(zp, mem->size);
	uint8_t *cl = nk_vm_mem_ptr(mem, NK_BOOT_CMDLINE, 1);
	if (cl)
		*cl = '\0';
}

static int load_bzimage(const struct nk_vm_mem *mem, int fd, uint64_t fsize, const char *path,
			struct nk_boot_image *img, struct nk_err *err)
{
	uint8_t hdr[1024];
	memset(hdr, 0, sizeof(hdr));
	if (fsize < 0x400)
		return nk_err_msg(err, ENOEXEC, "%s is too small to be a kernel", path);
	int r = nk_pread_exact(fd, hdr, sizeof(hdr), 0);
	if (r < 0)
		return nk_err_set(err, -r, "reading %s", path);
	if (get16(hdr + ZP_BOOT_FLAG) != 0xaa55 || get32(hdr + ZP_HEADER) != HDRS_MAGIC)
		return nk_err_msg(err, ENOEXEC, "%s is neither a bzImage nor an ELF vmlinux", path);
	uint16_t version = get16(hdr + ZP_VERSION);
	if (version < 0x20c)
		return nk_err_msg(err, ENOEXEC, "%s uses boot protocol %u.%02u; 2.12 or later is needed",
				  path, version >> 8, version & 0xff);
	if (!(get16(hdr + ZP_XLOADFLAGS) & XLF_KERNEL_64))
		return nk_err_msg(err, ENOEXEC, "%s has no 64-bit entry point (XLF_KERNEL_64)", path);
	if (!(hdr[ZP_LOADFLAGS] & LOADED_HIGH))
		return nk_err_msg(err, ENOEXEC, "%s is a zImage (loads low); a bzImage is needed", path);

	uint64_t setup_sects = hdr[ZP_SETUP_SECTS] ? hdr[ZP_SETUP_SECTS] : 4;
	uint64_t pm_off = (setup_sects + 1) * 512;
	if (pm_off >= fsize)
		return nk_err_msg(err, ENOEXEC, "%s: setup (%llu sectors) is larger than the file", path,
				  (unsigned long long)setup_sects);
	uint64_t pm_size = fsize - pm_off;
	uint64_t need = pm_size;
	uint32_t init_size = get32(hdr + ZP_INIT_SIZE);
	if (init_size > need)
		need = init_size;
	uint8_t *dst = nk_vm_mem_ptr(mem, NK_BOOT_KERNEL, need);
	if (!dst)
		return nk_err_msg(err, EFBIG, "%s needs %llu MiB from 1 MiB up; the guest has %llu MiB",
				  path, (unsigned long long)(need >> 20) + 1,
				  (unsigned long long)(mem->size >> 20));
	r = nk_pread_exact(fd, dst, pm_size, (off_t)pm_off);
	if (r < 0)
		return nk_err_set(err, -r, "reading %s", path);

	uint32_t cmdline_size = version >= 0x206 ? get32(hdr + ZP_CMDLINE_SIZE) : 255;
	img->cmdline_max = cmdline_size < NK_BOOT_CMDLINE_CAP ? cmdline_size + 1 : NK_BOOT_CMDLINE_CAP;
	img->entry = NK_BOOT_KERNEL + 0x200;
	img->kernel_end = NK_BOOT_KERNEL + need;
	img->protocol = version;
	uint32_t initrd_max = get32(hdr + ZP_INITRD_ADDR_MAX);
	img->initrd_max = initrd_max ? initrd_max : INITRD_MAX_DEFAULT;

	uint8_t *zp = zero_page(mem);
	memset(zp, 0, 4096);
	/* The header runs from 0x1f1 to the end its own jump instruction implies. */
	size_t hdr_end = ZP_HEADER + hdr[ZP_JUMP + 1];
	if (hdr_end > ZP_HDR_END)
		hdr_end = ZP_HDR_END;
	memcpy(zp + ZP_SETUP_SECTS, hdr + ZP_SETUP_SECTS, hdr_end - ZP_SETUP_SECTS);
	put16(zp + ZP_VID_MODE, 0xffff);
	put32(zp + ZP_CODE32_START, NK_BOOT_KERNEL);
	common_zero_page(zp, mem, img);
	return 0;
}

static int load_elf(const struct nk_vm_mem *mem, int fd, uint64_t fsize, const char *path,
		    struct nk_boot_image *img, struct nk_err *err)
{
	Elf64_Ehdr eh;
	if (fsize < sizeof(eh))
		return nk_err_msg(err, ENOEXEC, "%s is too small to be a kernel", path);
	int r = nk_pread_exact(fd, &eh, sizeof(eh), 0);
	if (r < 0)
		return nk_err_set(err, -r, "reading %s", path);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
		return nk_err_msg(err, ENOEXEC, "%s is not an x86-64 ELF executable", path);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return nk_err_msg(err, ENOEXEC, "%s: implausible program headers", path);
	Elf64_Phdr ph[64];
	if (eh.e_phoff > fsize || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff)
		return nk_err_msg(err, ENOEXEC, "%s: program headers lie past the end", path);
	r = nk_pread_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff);
	if (r < 0)
		return nk_err_set(err, -r, "reading %s", path);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_offset > fsize || p->p_filesz > fsize - p->p_offset)
			return nk_err_msg(err, ENOEXEC, "%s: segment %u lies past the end of the file",
					  path, i);
		uint8_t *dst = nk_vm_mem_ptr(mem, p->p_paddr, p->p_memsz);
		if (!dst || p->p_paddr < NK_BOOT_KERNEL)
			return nk_err_msg(err, EFBIG,
					  "%s: segment %u (0x%llx+0x%llx) does not fit the guest's %llu MiB",
					  path, i, (unsigned long long)p->p_paddr,
					  (unsigned long long)p->p_memsz, (unsigned long long)(mem->size >> 20));
		if (p->p_filesz) {
			r = nk_pread_exact(fd, dst, p->p_filesz, (off_t)p->p_offset);
			if (r < 0)
				return nk_err_set(err, -r, "reading %s", path);
		}
		memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
		if (p->p_paddr < lo)
			lo = p->p_paddr;
		if (p->p_paddr + p->p_memsz > hi)
			hi = p->p_paddr + p->p_memsz;
	}
	if (hi == 0 || eh.e_entry < lo || eh.e_entry >= hi)
		return nk_err_msg(err, ENOEXEC, "%s: the entry point 0x%llx is outside what was loaded",
				  path, (unsigned long long)eh.e_entry);
	/* The PVH entry, when the kernel has one (boot-pvh.c). */
	uint32_t pvh_entry = 0;
	r = nk_pvh_find_entry(fd, fsize, path, &pvh_entry, err);
	if (r < 0)
		return r;
	if (r > 0 && (pvh_entry < lo || pvh_entry >= hi))
		return nk_err_msg(err, ENOEXEC, "%s: the PVH entry point 0x%x is outside what was loaded", path,
				  pvh_entry);
	img->pvh_entry = r > 0 ? pvh_entry : 0;
	img->entry = eh.e_entry;
	img->kernel_end = hi;
	img->cmdline_max = 4096;
	img->protocol = 0;
	img->elf = 1;
	img->initrd_max = INITRD_MAX_DEFAULT;

	uint8_t *zp = zero_page(mem);
	memset(zp, 0, 4096);
	put16(zp + ZP_BOOT_FLAG, 0xaa55);
	put32(zp + ZP_HEADER, HDRS_MAGIC);
	put16(zp + ZP_VERSION, 0x20c);
	put32(zp + ZP_KERNEL_ALIGNMENT, 0x1000000);
	put16(zp + ZP_VID_MODE, 0xffff);
	common_zero_page(zp, mem, img);
	return 0;
}

int nk_boot_load_kernel(const struct nk_vm_mem *mem, const char *path, struct nk_boot_image *img,
			struct nk_err *err)
{
	memset(img, 0, sizeof(*img));
	if (!zero_page(mem))
		return nk_err_msg(err, EINVAL, "guest memory is too small for the zero page");
	nk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open kernel %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return nk_err_set(err, errno, "cannot stat kernel %s", path);
	if (!S_ISREG(st.st_mode))
		return nk_err_msg(err, EINVAL, "kernel %s is not a regular file", path);
	unsigned char magic[4] = {0};
	int r = nk_pread_exact(fd, magic, sizeof(magic), 0);
	if (r < 0)
		return nk_err_set(err, -r, "reading kernel %s", path);
	if (memcmp(magic, ELFMAG, SELFMAG) == 0)
		return load_elf(mem, fd, (uint64_t)st.st_size, path, img, err);
	return load_bzimage(mem, fd, (uint64_t)st.st_size, path, img, err);
}

int nk_boot_load_initrd(const struct nk_vm_mem *mem, const char *path, struct nk_boot_image *img,
			struct nk_err *err)
{
	nk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open initrd %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return nk_err_set(err, errno, "cannot stat initrd %s", path);
	if (!S_ISREG(st.st_mode))
		return nk_err_msg(err, EINVAL, "initrd %s is not a regular file", path);
	uint64_t size = (uint64_t)st.st_size;
	uint64_t top = img->initrd_max + 1;
	if (top > mem->size)
		top = mem->size;
	uint64_t floor = (img->kernel_end + 0xfff) & ~0xfffULL;
	if (size == 0 || size > top || ((top - size) & ~0xfffULL) < floor)
		return nk_err_msg(err, EFBIG,
				  "initrd %s (%llu bytes) does not fit between the kernel and %llu MiB; give the guest more memory",
				  path, (unsigned long long)size, (unsigned long long)(top >> 20));
	uint64_t addr = (top - size) & ~0xfffULL;
	uint8_t *dst = nk_vm_mem_ptr(mem, addr, size);
	if (!dst)
		return nk_err_msg(err, EFBIG, "initrd %s does not fit in guest memory", path);
	int r = nk_pread_exact(fd, dst, size, 0);
	if (r < 0)
		return nk_err_set(err, -r, "reading initrd %s", path);
	img->initrd_addr = addr;
	img->initrd_size = size;
	uint8_t *zp = zero_page(mem);
	put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)addr);
	put32(zp + ZP_RAMDISK_SIZE, (uint32_t)size);
	return 0;
}

int nk_boot_set_cmdline(const struct nk_vm_mem *mem, const struct nk_boot_image *img,
			const char *cmdline, struct nk_err *err)
{
	size_t len = strlen(cmdline);
	if (len + 1 > img->cmdline_max)
		return nk_err_msg(err, E2BIG,
				  "the kernel command line is %zu bytes; this kernel accepts %u",
				  len, img->cmdline_max - 1);
	char *dst = nk_vm_mem_ptr(mem, NK_BOOT_CMDLINE, len + 1);
	if (!dst)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the command line");
	memcpy(dst, cmdline, len + 1);
	return 0;
}

int nk_boot_set_rsdp(const struct nk_vm_mem *mem, uint64_t rsdp, struct nk_err *err)
{
	uint8_t *zp = zero_page(mem);
	if (!zp)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the zero page");
	put64(zp + ZP_ACPI_RSDP_ADDR, rsdp);
	return 0;
}

int nk_boot_write_tables(const struct nk_vm_mem *mem, struct nk_err *err)
{
	uint64_t *gdt = nk_vm_mem_ptr(mem, NK_BOOT_GDT, 8 * 6);
	uint64_t *pml4 = nk_vm_mem_ptr(mem, NK_BOOT_PML4, 4096);
	uint64_t *pdpt = nk_vm_mem_ptr(mem, NK_BOOT_PDPT, 4096);
	uint64_t *pd = nk_vm_mem_ptr(mem, NK_BOOT_PD, 4 * 4096);
	if (!gdt || !pml4 || !pdpt || !pd)
		return nk_err_msg(err, EINVAL, "guest memory is too small for the boot page tables");
	memset(gdt, 0, 8 * 6);
	gdt[NK_BOOT_CS / 8] = 0x00af9b000000ffffULL; /* 64-bit code, DPL 0 */
	gdt[NK_BOOT_DS / 8] = 0x00cf93000000ffffULL; /* flat data */
	gdt[NK_BOOT_TSS / 8] = 0x00008b0000000067ULL; /* busy 64-bit TSS at 0 (KVM wants a TR) */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = NK_BOOT_PDPT | 0x03;
	for (uint64_t i = 0; i < 4; i++) {
		pdpt[i] = (NK_BOOT_PD + i * 4096) | 0x03;
		for (uint64_t j = 0; j < 512; j++)
			pd[i * 512 + j] = ((i * 512 + j) << 21) | 0x83; /* present, writable, 2 MiB */
	}
	return 0;
}
