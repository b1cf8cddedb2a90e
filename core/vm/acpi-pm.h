/* The hardware-reduced ACPI power registers the FADT points at: sleep control, sleep
 * status and reset, three one-byte I/O ports. A guest powers off by writing SLP_TYPa of
 * \_S5 with SLP_EN to the sleep control register, and resets through the reset register. */
#ifndef NOOK_VM_ACPI_PM_H
#define NOOK_VM_ACPI_PM_H

#include "core/vm/vm.h"

#define NK_ACPI_PM_PORT 0x600		   /* the first of the three */
#define NK_ACPI_PM_LEN 3
#define NK_ACPI_SLEEP_CONTROL (NK_ACPI_PM_PORT + 0)
#define NK_ACPI_SLEEP_STATUS (NK_ACPI_PM_PORT + 1)
#define NK_ACPI_RESET (NK_ACPI_PM_PORT + 2)
#define NK_ACPI_RESET_VALUE 0x01
/* Sleep control register (ACPI 6.5, 4.8.3.7): SLP_TYPx in bits 2-4, SLP_EN bit 5. */
#define NK_ACPI_SLP_TYP_SHIFT 2
#define NK_ACPI_SLP_TYP_MASK 0x1c
#define NK_ACPI_SLP_EN 0x20
/* The SLP_TYPa value the DSDT's \_S5 gives: what "soft off" is on this machine. */
#define NK_ACPI_S5_TYPE 5

/* What the registers do; both callbacks run on the vCPU thread that wrote. */
struct nk_acpi_pm {
	void (*poweroff)(void *opaque);
	void (*reset)(void *opaque);
	void *opaque;
};

/* One device over NK_ACPI_PM_LEN ports; opaque is a struct nk_acpi_pm. Other sleep
 * states (S1-S4) are not offered by the DSDT, and a write asking for one is ignored. */
extern const struct nk_vm_dev_ops nk_acpi_pm_ops;

#endif
