/* Attaching virtio-mmio devices to a VM: a slot and an interrupt line, the transport on
 * the bus, and queue kicks served on the VM's I/O thread (ioeventfd when KVM has it). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/vm/virtio-mmio.h"
#include "core/vm/vmm-internal.h"

struct nk_vm_virtio {
	struct nk_vm *vm;
	struct nk_vm_irq irq; /* the transport keeps a copy, but it must outlive it anyway */
	struct nk_virtio_mmio *t;
	uint16_t nqueues;
	int efd;
};

/* On the I/O thread: the guest wrote QueueNotify. Which queue is not recorded (one
 * eventfd per device), so look at all of them; an idle queue costs a lock and a read. */
static void kicked(void *opaque, int fd)
{
	struct nk_vm_virtio *v = opaque;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	for (uint16_t q = 0; q < v->nqueues; q++)
		nk_virtio_mmio_notify(v->t, q);
}

/* Without ioeventfd the write exits to a vCPU thread: pass it on, do not do the I/O. */
static void kick_hook(void *opaque, uint16_t queue)
{
	struct nk_vm_virtio *v = opaque;
	uint64_t one = 1;
	(void)queue;
	(void)!write(v->efd, &one, sizeof(one));
}

static void free_one(struct nk_vm_virtio *v)
{
	if (v->t)
		nk_virtio_mmio_destroy(v->t);
	if (v->efd >= 0)
		close(v->efd);
	free(v);
}

int nk_vm_attach_virtio(struct nk_vm *vm, const char *name, struct nk_virtio_dev *dev,
			uint64_t *base_out, uint32_t *gsi_out, struct nk_err *err)
{
	if (atomic_load(&vm->running))
		return nk_err_msg(err, EBUSY, "%s: devices must be attached before the VM runs", name);
	if (vm->nvirtio >= NK_VM_MAX_VIRTIO)
		return nk_err_msg(err, ENOSPC, "%s: the VM already has %d virtio devices", name,
				  NK_VM_MAX_VIRTIO);
	uint64_t base;
	uint32_t gsi;
	int r = nk_vm_alloc_mmio(vm, NK_VIRTIO_MMIO_SIZE, &base, &gsi);
	if (r < 0)
		return nk_err_set(err, -r, "%s: no virtio-mmio slot left", name);
	struct nk_vm_virtio *v = calloc(1, sizeof(*v));
	if (!v)
		return nk_err_set(err, ENOMEM, "attaching %s", name);
	v->vm = vm;
	v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->irq = nk_vm_irq_line(vm, gsi);
	v->nqueues = dev->ops->num_queues;
	if (v->efd < 0) {
		r = nk_err_set(err, errno, "attaching %s: eventfd", name);
		free_one(v);
		return r;
	}
	r = nk_virtio_mmio_create(dev, &vm->mem, &v->irq, &v->t, err);
	if (r == 0 && vm->caps.ioeventfd)
		r = nk_vm_ioeventfd(vm, NK_VM_BUS_MMIO, base + NK_VIRTIO_MMIO_QUEUE_NOTIFY, 4, v->efd, err);
	else if (r == 0)
		nk_virtio_mmio_set_kick(v->t, kick_hook, v);
	if (r == 0)
		r = nk_vm_watch_fd(vm, v->efd, kicked, v, err);
	if (r == 0)
		r = nk_vm_register_dev(vm, name, NK_VM_BUS_MMIO, base, NK_VIRTIO_MMIO_SIZE,
				       &nk_virtio_mmio_bus_ops, v->t, err);
	if (r < 0) {
		/* The slot and its command-line entry stay: the guest finds nothing there
		 * (all-ones) and its driver gives up on it. */
		nk_err_prefix(err, "attaching %s", name);
		nk_vm_unwatch_fd(vm, v->efd);
		free_one(v);
		return r;
	}
	vm->virtio[vm->nvirtio++] = v;
	if (base_out)
		*base_out = base;
	if (gsi_out)
		*gsi_out = gsi;
	return 0;
}

void nk_vm_virtio_free(struct nk_vm *vm)
{
	for (size_t i = 0; i < vm->nvirtio; i++)
		free_one(vm->virtio[i]);
	vm->nvirtio = 0;
}
