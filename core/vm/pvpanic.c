/* pvpanic: reads offer PANICKED only; a write with PANICKED set calls the host back. */
#include "core/vm/pvpanic.h"

#include <string.h>

static void pvpanic_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	memset(data, 0, len);
	if (offset == 0)
		*(uint8_t *)data = NK_PVPANIC_PANICKED;
}

static void pvpanic_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	const struct nk_pvpanic *p = opaque;
	(void)len;
	if (offset == 0 && (*(const uint8_t *)data & NK_PVPANIC_PANICKED) && p->panicked)
		p->panicked(p->opaque);
}

const struct nk_vm_dev_ops nk_pvpanic_ops = {.read = pvpanic_read, .write = pvpanic_write};
