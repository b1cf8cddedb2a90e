/* ACPI tables for a Linux guest that reads no MP table and no virtio_mmio.device=: RSDP
 * -> XSDT -> FADT (hardware-reduced, sleep/reset registers) + MADT (LAPICs, IOAPIC), and
 * a DSDT describing COM1, the i8042, pvpanic and each virtio-mmio device. */
#ifndef NOOK_VM_ACPI_H
#define NOOK_VM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/vm/vm.h"

/* One virtio-mmio slot, as nk_vm_alloc_mmio handed it out. */
struct nk_acpi_mmio {
	uint64_t base;
	uint64_t len;
	uint32_t gsi;
};

struct nk_acpi_config {
	unsigned ncpus;			    /* 1..NK_VM_MAX_VCPUS; LAPIC id = vCPU index */
	const struct nk_acpi_mmio *virtio; /* described as LNRO0005 devices, in this order */
	size_t nvirtio;
};

/* Lay the tables out in buf, which the guest will see at guest-physical address gpa:
 * the RSDP at gpa itself (16-byte aligned, as the BIOS-area scan wants), the others
 * after it. *used is how many bytes were written. */
int nk_acpi_build(uint8_t *buf, size_t cap, uint64_t gpa, const struct nk_acpi_config *cfg,
		  size_t *used, struct nk_err *err) NK_MUST_CHECK;

/* Build them into guest memory at NK_BOOT_ACPI (boot.h) and point the zero page's
 * acpi_rsdp_addr at the RSDP. The zero page must have been written already. */
int nk_acpi_write(const struct nk_vm_mem *mem, const struct nk_acpi_config *cfg,
		  struct nk_err *err) NK_MUST_CHECK;

#endif
