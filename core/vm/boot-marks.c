/* The moments a guest's boot passes that only the VMM can see: the boot vCPU's first exit
 * (its first instruction ran), the first byte written to the console, and the guest's own
 * "init has started" mark on a one-byte debug port. Each is recorded once, with the
 * monotonic clock, from the vCPU thread that saw it. */
#include "core/util.h"
#include "core/vm/vmm-internal.h"

void nk_vm_boot_mark(struct nk_vm *vm, enum nk_vm_boot_mark_kind kind)
{
	if ((unsigned)kind >= NK_VM_MARK_COUNT)
		return;
	uint_fast64_t none = 0;
	if (atomic_load(&vm->marks_ns[kind]) ||
	    !atomic_compare_exchange_strong(&vm->marks_ns[kind], &none, nk_now_ns()))
		return;
	if (vm->on_boot_mark)
		vm->on_boot_mark(vm->boot_mark_opaque);
}

static void mark_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	uint8_t *out = data;
	for (uint32_t i = 0; i < len; i++)
		out[i] = 0;
}

/* Only the documented value counts: anything else a guest writes here is ignored, so a
 * stray probe of the port cannot fake the mark. */
static void mark_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	const uint8_t *in = data;
	if (offset == 0 && len >= 1 && in[0] == NK_VM_BOOT_MARK_INIT)
		nk_vm_boot_mark(opaque, NK_VM_MARK_GUEST_INIT);
}

const struct nk_vm_dev_ops nk_vm_boot_mark_ops = {
	.read = mark_read,
	.write = mark_write,
};
