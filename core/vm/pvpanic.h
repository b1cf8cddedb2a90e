/* pvpanic: a one-byte I/O port through which a guest says it panicked (QEMU's device,
 * ACPI id QEMU0001; Linux's pvpanic driver). */
#ifndef NOOK_VM_PVPANIC_H
#define NOOK_VM_PVPANIC_H

#include "core/vm/vm.h"

#define NK_PVPANIC_PORT 0x505
/* Event bits: a read tells the guest which ones the host handles, a write reports them. */
#define NK_PVPANIC_PANICKED 0x01
#define NK_PVPANIC_CRASH_LOADED 0x02 /* a kdump kernel takes over: not ours to act on */

struct nk_pvpanic {
	void (*panicked)(void *opaque); /* on the vCPU thread that wrote */
	void *opaque;
};

/* opaque is a struct nk_pvpanic. */
extern const struct nk_vm_dev_ops nk_pvpanic_ops;

#endif
