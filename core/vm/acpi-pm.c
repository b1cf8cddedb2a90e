/* Sleep control/status and reset registers: S5 powers the VM off, the reset value resets it. */
#include "core/vm/acpi-pm.h"

#include <string.h>

/* Nothing ever wakes: the status register reads 0 (WAK_STS clear), and so does control. */
static void pm_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void pm_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	const struct nk_acpi_pm *pm = opaque;
	uint8_t v = *(const uint8_t *)data;
	(void)len;
	switch (NK_ACPI_PM_PORT + offset) {
	case NK_ACPI_SLEEP_CONTROL:
		if ((v & NK_ACPI_SLP_EN) &&
		    ((v & NK_ACPI_SLP_TYP_MASK) >> NK_ACPI_SLP_TYP_SHIFT) == NK_ACPI_S5_TYPE &&
		    pm->poweroff)
			pm->poweroff(pm->opaque);
		break;
	case NK_ACPI_RESET:
		if (v == NK_ACPI_RESET_VALUE && pm->reset)
			pm->reset(pm->opaque);
		break;
	default: /* sleep status: writing WAK_STS clears it; it is never set */
		break;
	}
}

const struct nk_vm_dev_ops nk_acpi_pm_ops = {.read = pm_read, .write = pm_write};
