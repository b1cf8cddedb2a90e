/* The device bus: address ranges on the PIO and MMIO buses mapped to device handlers. */
#ifndef NOOK_VM_BUS_H
#define NOOK_VM_BUS_H

#include <stdint.h>

#include "core/err.h"
#include "core/vm/vm.h"

#define NK_VM_DEV_NAME_MAX 32

struct nk_vm_bus_dev {
	char name[NK_VM_DEV_NAME_MAX];
	uint64_t base;
	uint64_t len;
	const struct nk_vm_dev_ops *ops;
	void *opaque;
};

/* Both buses; each a sorted array of non-overlapping ranges. Registration is not
 * thread-safe against dispatch: register everything before the vCPUs start (nk_vm
 * enforces that), then dispatch needs no lock. */
struct nk_vm_buses {
	struct nk_vm_bus_dev *devs[2];
	size_t n[2];
	size_t cap[2];
};

void nk_vm_buses_init(struct nk_vm_buses *b);
void nk_vm_buses_free(struct nk_vm_buses *b);

/* Refuses (-EEXIST) a range that overlaps one already registered on the same bus, and
 * (-EINVAL) an empty range, one that wraps, or a PIO range beyond port 0xffff. */
int nk_vm_bus_add(struct nk_vm_buses *b, const char *name, enum nk_vm_bus bus, uint64_t base,
		  uint64_t len, const struct nk_vm_dev_ops *ops, void *opaque,
		  struct nk_err *err) NK_MUST_CHECK;

/* The device wholly containing [addr, addr + len), or NULL. */
const struct nk_vm_bus_dev *nk_vm_bus_find(const struct nk_vm_buses *b, enum nk_vm_bus bus,
					   uint64_t addr, uint32_t len);

/* One guest access. Returns 1 when a device claimed it, 0 when nothing did: then a read
 * fills data with all-ones and a write is dropped. len is 1..8. */
int nk_vm_bus_read(const struct nk_vm_buses *b, enum nk_vm_bus bus, uint64_t addr, void *data,
		   uint32_t len);
int nk_vm_bus_write(const struct nk_vm_buses *b, enum nk_vm_bus bus, uint64_t addr,
		    const void *data, uint32_t len);

#endif
