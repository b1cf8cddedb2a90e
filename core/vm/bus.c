/* The device bus: registration with overlap checks, and dispatch by binary search. */
#include "core/vm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void nk_vm_buses_init(struct nk_vm_buses *b)
{
	memset(b, 0, sizeof(*b));
}

void nk_vm_buses_free(struct nk_vm_buses *b)
{
	for (int i = 0; i < 2; i++)
		free(b->devs[i]);
	memset(b, 0, sizeof(*b));
}

static const char *bus_name(enum nk_vm_bus bus)
{
	return bus == NK_VM_BUS_PIO ? "port" : "mmio";
}

/* Index of the first device whose base is greater than addr. */
static size_t upper_bound(const struct nk_vm_bus_dev *d, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int nk_vm_bus_add(struct nk_vm_buses *b, const char *name, enum nk_vm_bus bus, uint64_t base,
		  uint64_t len, const struct nk_vm_dev_ops *ops, void *opaque, struct nk_err *err)
{
	if (bus != NK_VM_BUS_PIO && bus != NK_VM_BUS_MMIO)
		return nk_err_msg(err, EINVAL, "device %s: unknown bus %d", name ? name : "?", (int)bus);
	if (!name || !*name || strlen(name) >= NK_VM_DEV_NAME_MAX)
		return nk_err_msg(err, EINVAL, "device name must be 1..%d characters",
				  NK_VM_DEV_NAME_MAX - 1);
	if (!ops || (!ops->read && !ops->write))
		return nk_err_msg(err, EINVAL, "device %s has no handlers", name);
	if (len == 0 || base + len < base)
		return nk_err_msg(err, EINVAL, "device %s: bad %s range 0x%llx+0x%llx", name,
				  bus_name(bus), (unsigned long long)base, (unsigned long long)len);
	if (bus == NK_VM_BUS_PIO && base + len > 0x10000)
		return nk_err_msg(err, EINVAL, "device %s: port range 0x%llx+0x%llx is beyond 0xffff",
				  name, (unsigned long long)base, (unsigned long long)len);

	struct nk_vm_bus_dev *d = b->devs[bus];
	size_t n = b->n[bus];
	size_t pos = upper_bound(d, n, base);
	/* Only the neighbours can overlap, because the array holds disjoint sorted ranges. */
	const struct nk_vm_bus_dev *clash = NULL;
	if (pos > 0 && d[pos - 1].base + d[pos - 1].len > base)
		clash = &d[pos - 1];
	else if (pos < n && d[pos].base < base + len)
		clash = &d[pos];
	if (clash)
		return nk_err_msg(err, EEXIST,
				  "device %s: %s range 0x%llx+0x%llx overlaps %s at 0x%llx+0x%llx", name,
				  bus_name(bus), (unsigned long long)base, (unsigned long long)len,
				  clash->name, (unsigned long long)clash->base,
				  (unsigned long long)clash->len);

	if (n == b->cap[bus]) {
		size_t cap = b->cap[bus] ? b->cap[bus] * 2 : 8;
		struct nk_vm_bus_dev *nd = realloc(d, cap * sizeof(*nd));
		if (!nd)
			return nk_err_set(err, ENOMEM, "registering device %s", name);
		b->devs[bus] = d = nd;
		b->cap[bus] = cap;
	}
	memmove(&d[pos + 1], &d[pos], (n - pos) * sizeof(*d));
	struct nk_vm_bus_dev *slot = &d[pos];
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->name, name, strlen(name) + 1);
	slot->base = base;
	slot->len = len;
	slot->ops = ops;
	slot->opaque = opaque;
	b->n[bus] = n + 1;
	return 0;
}

const struct nk_vm_bus_dev *nk_vm_bus_find(const struct nk_vm_buses *b, enum nk_vm_bus bus,
					   uint64_t addr, uint32_t len)
{
	if ((bus != NK_VM_BUS_PIO && bus != NK_VM_BUS_MMIO) || len == 0)
		return NULL;
	const struct nk_vm_bus_dev *d = b->devs[bus];
	size_t pos = upper_bound(d, b->n[bus], addr);
	if (pos == 0)
		return NULL;
	const struct nk_vm_bus_dev *dev = &d[pos - 1];
	uint64_t off = addr - dev->base;
	/* An access straddling the end of a device belongs to no device. */
	if (off >= dev->len || len > dev->len - off)
		return NULL;
	return dev;
}

int nk_vm_bus_read(const struct nk_vm_buses *b, enum nk_vm_bus bus, uint64_t addr, void *data,
		   uint32_t len)
{
	if (len > 8)
		len = 8;
	memset(data, 0xff, len);
	const struct nk_vm_bus_dev *dev = nk_vm_bus_find(b, bus, addr, len);
	if (!dev)
		return 0;
	if (dev->ops->read)
		dev->ops->read(dev->opaque, addr - dev->base, data, len);
	return 1;
}

int nk_vm_bus_write(const struct nk_vm_buses *b, enum nk_vm_bus bus, uint64_t addr,
		    const void *data, uint32_t len)
{
	if (len > 8)
		return 0;
	const struct nk_vm_bus_dev *dev = nk_vm_bus_find(b, bus, addr, len);
	if (!dev)
		return 0;
	if (dev->ops->write)
		dev->ops->write(dev->opaque, addr - dev->base, data, len);
	return 1;
}
