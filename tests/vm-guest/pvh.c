/* Booted through the PVH entry (pvh.S), the guest turns hvm_start_info into the zero page
 * fields its checks read: command line, initrd, e820, the RSDP. So the same checks prove what the VMM
 * handed over on either path. Runs in ring 3, after the serial port is up. */
#include "guest.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

extern uint64_t pvh_start_info; /* pvh.S: ebx at the entry; 0 on the other entries */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

void pvh_to_boot_params(void)
{
	if (!pvh_start_info)
		return;
	const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)pvh_start_info;
	uint8_t *bp = (uint8_t *)(uintptr_t)boot_params_ptr;
	int ok = si->magic == HVM_START_MAGIC && si->version >= 1 && si->memmap_entries <= 128 &&
		 si->cmdline_paddr < 0x100000000ULL;
	say("nook-guest: pvh start_info=0x%lx magic=0x%x version=%u modules=%u memmap=%u rsdp=0x%lx %s\n",
	    pvh_start_info, si->magic, si->version, si->nr_modules, si->memmap_entries, si->rsdp_paddr,
	    ok ? "ok" : "FAIL");
	if (!ok)
		return;
	put32(bp + 0x228, (uint32_t)si->cmdline_paddr);
	if (si->nr_modules) {
		const struct hvm_modlist_entry *m = (const struct hvm_modlist_entry *)(uintptr_t)si->modlist_paddr;
		put32(bp + 0x218, (uint32_t)m->paddr);
		put32(bp + 0x21c, (uint32_t)m->size);
	}
	const struct hvm_memmap_table_entry *e = (const struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		uint8_t *d = bp + 0x2d0 + 20 * i;
		put64(d, e[i].addr);
		put64(d + 8, e[i].size);
		put32(d + 16, e[i].type);
	}
	bp[0x1e8] = (uint8_t)si->memmap_entries;
	/* The RSDP, where the ACPI checks (like Linux) look for it first. */
	put64(bp + ZP_ACPI_RSDP_ADDR, si->rsdp_paddr);
}
