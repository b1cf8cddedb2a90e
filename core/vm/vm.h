/* The microVM monitor's shared types: guest memory, the device bus, interrupts.
 * Devices (serial, i8042, virtio-*) and the run loop meet only through this header. */
#ifndef NOOK_VM_H
#define NOOK_VM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Guest RAM: one host mapping covering guest-physical [0, size). Every access from a
 * device goes through nk_vm_mem_ptr, which refuses any range that is not wholly inside
 * RAM (the guest is hostile: addresses and lengths come from it). */
struct nk_vm_mem {
	uint8_t *host;
	uint64_t size;
};

/* Host pointer for [gpa, gpa + len), or NULL when any byte of it falls outside RAM or
 * the sum overflows. len 0 is refused too. */
static inline void *nk_vm_mem_ptr(const struct nk_vm_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa >= m->size || len > m->size - gpa)
		return NULL;
	return m->host + gpa;
}

enum nk_vm_bus { NK_VM_BUS_PIO, NK_VM_BUS_MMIO };

/* One handler signature for both buses: offset is relative to the device's base;
 * len is 1, 2, 4 or 8. Reads fill data; unclaimed addresses read as all-ones. */
struct nk_vm_dev_ops {
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

/* Raise or lower an interrupt line of the in-kernel irqchip (GSI). Devices get this as a
 * callback so they can be tested without a VM. */
struct nk_vm_irq {
	int (*set)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void nk_vm_irq_pulse(const struct nk_vm_irq *irq)
{
	if (irq->set) {
		irq->set(irq->opaque, irq->gsi, 1);
		irq->set(irq->opaque, irq->gsi, 0);
	}
}

#endif
