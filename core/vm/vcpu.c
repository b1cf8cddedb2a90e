/* vCPUs: creation (CPUID, MSRs, LAPIC, long-mode registers) and the run loop, which
 * switches on the exit reason and hands I/O to the bus without knowing any device. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "core/vm/vmm-internal.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x400
#define APIC_MODE_EXTINT 0x700

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_WP 0x10000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define CR4_OSFXSR 0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL
#define EFER_SCE 0x1ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

/* Each vCPU sees its own APIC id, and how many siblings it has. */
static int set_cpuid(struct nk_vcpu *c, struct nk_err *err)
{
	const struct kvm_cpuid2 *base = c->vm->cpuid;
	size_t size = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	nk_autofree struct kvm_cpuid2 *cp = malloc(size);
	if (!cp)
		return nk_err_set(err, ENOMEM, "vCPU %u CPUID", c->index);
	memcpy(cp, base, size);
	for (uint32_t i = 0; i < cp->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cp->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (c->index << 24) | ((c->vm->nvcpus & 0xff) << 16);
			if (c->vm->nvcpus > 1)
				e->edx |= 1u << 28; /* HTT: the logical count above is valid */
			e->ecx |= 1u << 31;	    /* running under a hypervisor */
			break;
		case 0xb:
		case 0x1f:
			e->edx = c->index; /* x2APIC id */
			break;
		default:
			break;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cp) < 0)
		return nk_err_set(err, errno, "KVM_SET_CPUID2 on vCPU %u", c->index);
	return 0;
}

/* What firmware would have set up; a refusal only costs the guest some speed. */
static void set_msrs(struct nk_vcpu *c)
{
	nk_autofree struct kvm_msrs *m = calloc(1, sizeof(*m) + 2 * sizeof(struct kvm_msr_entry));
	if (!m)
		return;
	m->nmsrs = 2;
	m->entries[0].index = MSR_IA32_MISC_ENABLE;
	m->entries[0].data = 1; /* fast strings */
	m->entries[1].index = MSR_MTRR_DEF_TYPE;
	m->entries[1].data = (1u << 11) | 6; /* MTRRs on, default write-back */
	(void)ioctl(c->fd, KVM_SET_MSRS, m);
}

static int set_lapic(struct nk_vcpu *c, struct nk_err *err)
{
	struct kvm_lapic_state la;
	if (ioctl(c->fd, KVM_GET_LAPIC, &la) < 0)
		return nk_err_set(err, errno, "KVM_GET_LAPIC on vCPU %u", c->index);
	uint32_t v;
	v = APIC_MODE_EXTINT;
	memcpy(la.regs + APIC_LVT0, &v, 4); /* the PIC's output, for ExtINT delivery */
	v = APIC_MODE_NMI;
	memcpy(la.regs + APIC_LVT1, &v, 4);
	if (ioctl(c->fd, KVM_SET_LAPIC, &la) < 0)
		return nk_err_set(err, errno, "KVM_SET_LAPIC on vCPU %u", c->index);
	return 0;
}

static int vcpu_create(struct nk_vm *vm, unsigned index, struct nk_err *err)
{
	struct nk_vcpu *c = &vm->vcpus[index];
	c->vm = vm;
	c->index = index;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (c->fd < 0)
		return nk_err_set(err, errno, "KVM_CREATE_VCPU %u", index);
	c->run_size = (size_t)vm->caps.vcpu_mmap_size;
	void *run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (run == MAP_FAILED)
		return nk_err_set(err, errno, "mapping vCPU %u's kvm_run", index);
	c->run = run;
	int r = set_cpuid(c, err);
	if (r < 0)
		return r;
	set_msrs(c);
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return nk_err_set(err, errno, "KVM_SET_FPU on vCPU %u", index);
	/* APs stay as KVM made them: waiting for INIT/SIPI from the guest's BSP. */
	return set_lapic(c, err);
}

int nk_vcpus_create(struct nk_vm *vm, struct nk_err *err)
{
	vm->vcpus = calloc(vm->nvcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return nk_err_set(err, ENOMEM, "allocating %u vCPUs", vm->nvcpus);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].fd = -1;
		vm->vcpus[i].stats.fd = -1;
	}
	int r = nk_kvm_supported_cpuid(vm, err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		r = vcpu_create(vm, i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void nk_vcpus_destroy(struct nk_vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct nk_vcpu *c = &vm->vcpus[i];
		if (c->run)
			munmap(c->run, c->run_size);
		if (c->fd >= 0)
			close(c->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, int code64)
{
	struct kvm_segment s = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
	return s;
}

/* What both entries share: flat segments over the boot GDT (cs code, NK_BOOT_DS data), a
 * busy TSS, no IDT. */
static int flat_sregs(struct nk_vcpu *c, uint16_t cs, int code64, struct kvm_sregs *sr, struct nk_err *err)
{
	if (ioctl(c->fd, KVM_GET_SREGS, sr) < 0)
		return nk_err_set(err, errno, "KVM_GET_SREGS");
	sr->cs = seg(cs, 0xb, code64);
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = seg(NK_BOOT_DS, 0x3, 0);
	sr->tr = seg(NK_BOOT_TSS, 0xb, 0);
	sr->tr.s = 0;
	sr->tr.limit = 0x67;
	sr->tr.g = 0;
	sr->tr.db = 0;
	sr->gdt.base = NK_BOOT_GDT;
	sr->gdt.limit = 6 * 8 - 1;
	sr->idt.base = 0;
	sr->idt.limit = 0;
	return 0;
}

/* Interrupts off, everything else zero but what the entry hands over. */
static int entry_regs(struct nk_vcpu *c, struct kvm_regs *regs, struct nk_err *err)
{
	regs->rflags = 0x2;
	if (ioctl(c->fd, KVM_SET_REGS, regs) < 0)
		return nk_err_set(err, errno, "KVM_SET_REGS");
	return 0;
}

/* The 64-bit boot protocol's entry state: long mode with paging on the identity
 * tables, flat __BOOT_CS/__BOOT_DS, interrupts off, rsi = the zero page. */
int nk_vcpu_boot_regs(struct nk_vcpu *c, uint64_t entry, uint64_t zero_page, struct nk_err *err)
{
	struct kvm_sregs sr;
	int r = flat_sregs(c, NK_BOOT_CS, 1, &sr, err);
	if (r < 0)
		return r;
	sr.cr3 = NK_BOOT_PML4;
	sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sr.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sr.efer = EFER_LME | EFER_LMA | EFER_SCE;
	if (ioctl(c->fd, KVM_SET_SREGS, &sr) < 0)
		return nk_err_set(err, errno, "KVM_SET_SREGS (long mode)");
	struct kvm_regs regs = {.rip = entry, .rsi = zero_page, .rsp = NK_BOOT_STACK, .rbp = NK_BOOT_STACK};
	return entry_regs(c, &regs, err);
}

/* The PVH entry state: 32-bit protected mode, paging off, flat code (NK_PVH_CS) and data
 * (NK_BOOT_DS) segments, a 32-bit busy TSS, interrupts off, ebx = hvm_start_info. The
 * GDT register points at the boot GDT, though the kernel must load its own. */
int nk_vcpu_pvh_regs(struct nk_vcpu *c, uint32_t entry, uint32_t start_info, struct nk_err *err)
{
	struct kvm_sregs sr;
	int r = flat_sregs(c, NK_PVH_CS, 0, &sr, err);
	if (r < 0)
		return r;
	sr.cr0 = CR0_PE | CR0_ET;
	sr.cr3 = 0;
	sr.cr4 = 0;
	sr.efer = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &sr) < 0)
		return nk_err_set(err, errno, "KVM_SET_SREGS (32-bit protected mode)");
	struct kvm_regs regs = {.rip = entry, .rbx = start_info};
	return entry_regs(c, &regs, err);
}

void nk_vcpus_kick(struct nk_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct nk_vcpu *c = &vm->vcpus[i];
		if (!c->thread_started)
			continue;
		/* immediate_exit closes the window between the ending check and KVM_RUN;
		 * the signal takes a vCPU out of a running or halted KVM_RUN. */
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, nk_vm_kick_signal());
	}
}

/* A line for the log: where the vCPU was and what it was about to execute. */
uint64_t nk_vcpu_describe(struct nk_vcpu *c, char *buf, size_t size)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, size, "registers unavailable");
		return 0;
	}
	int n = snprintf(buf, size, "rip 0x%llx rsp 0x%llx cs 0x%x cpl %u cr0 0x%llx cr3 0x%llx efer 0x%llx",
			 (unsigned long long)r.rip, (unsigned long long)r.rsp, s.cs.selector, s.cs.dpl,
			 (unsigned long long)s.cr0, (unsigned long long)s.cr3, (unsigned long long)s.efer);
	struct kvm_translation t = {.linear_address = r.rip};
	if (n > 0 && (size_t)n < size && ioctl(c->fd, KVM_TRANSLATE, &t) == 0 && t.valid) {
		const uint8_t *code = nk_vm_mem_ptr(&c->vm->mem, t.physical_address, 8);
		if (code)
			snprintf(buf + n, size - (size_t)n, " code %02x %02x %02x %02x %02x %02x %02x %02x",
				 code[0], code[1], code[2], code[3], code[4], code[5], code[6], code[7]);
	}
	return r.rip;
}

static const char *internal_error_name(uint32_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "event delivery failed";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit";
	default:
		return "internal error";
	}
}

static void handle_io(struct nk_vcpu *c)
{
	struct kvm_run *run = c->run;
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	/* String I/O (rep ins/outs) brings count items at once. */
	if (size == 0 || size > 8 || off > c->run_size || (uint64_t)size * count > c->run_size - off)
		return;
	uint8_t *p = (uint8_t *)run + off;
	for (uint32_t i = 0; i < count; i++, p += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			nk_vm_bus_write(&c->vm->bus, NK_VM_BUS_PIO, run->io.port, p, size);
		else
			nk_vm_bus_read(&c->vm->bus, NK_VM_BUS_PIO, run->io.port, p, size);
	}
}

static void handle_mmio(struct nk_vcpu *c)
{
	struct kvm_run *run = c->run;
	uint32_t len = run->mmio.len;
	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		nk_vm_bus_write(&c->vm->bus, NK_VM_BUS_MMIO, run->mmio.phys_addr, run->mmio.data, len);
	else
		nk_vm_bus_read(&c->vm->bus, NK_VM_BUS_MMIO, run->mmio.phys_addr, run->mmio.data, len);
}

/* Returns 1 when this exit ends the run. */
static int handle_exit(struct nk_vcpu *c)
{
	struct nk_vm *vm = c->vm;
	struct kvm_run *run = c->run;
	char where[256];
	uint64_t rip;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(c);
		return 0;
	case KVM_EXIT_MMIO:
		handle_mmio(c);
		return 0;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* only without an in-kernel LAPIC: nothing to wait for here */
		return 0;
	case KVM_EXIT_SHUTDOWN:
		rip = nk_vcpu_describe(c, where, sizeof(where));
		nk_vm_end(vm, NK_VM_EXIT_CRASHED, (int)c->index, run->exit_reason, rip,
			  "triple fault on vCPU %u: %s", c->index, where);
		return 1;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_RESET:
			nk_vm_end(vm, NK_VM_EXIT_RESET, (int)c->index, run->exit_reason, 0,
				  "reset requested by vCPU %u", c->index);
			break;
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			nk_vm_end(vm, NK_VM_EXIT_POWEROFF, (int)c->index, run->exit_reason, 0,
				  "power off requested by vCPU %u", c->index);
			break;
		default:
			rip = nk_vcpu_describe(c, where, sizeof(where));
			nk_vm_end(vm, NK_VM_EXIT_CRASHED, (int)c->index, run->exit_reason, rip,
				  "system event %u on vCPU %u: %s", run->system_event.type, c->index, where);
			break;
		}
		return 1;
	case KVM_EXIT_FAIL_ENTRY:
		rip = nk_vcpu_describe(c, where, sizeof(where));
		nk_vm_end(vm, NK_VM_EXIT_ERROR, (int)c->index, run->exit_reason, rip,
			  "KVM could not enter vCPU %u (hardware reason 0x%llx): %s", c->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason, where);
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		rip = nk_vcpu_describe(c, where, sizeof(where));
		nk_vm_end(vm, NK_VM_EXIT_ERROR, (int)c->index, run->exit_reason, rip,
			  "KVM internal error on vCPU %u: %s (suberror %u, data 0x%llx 0x%llx): %s",
			  c->index, internal_error_name(run->internal.suberror), run->internal.suberror,
			  (unsigned long long)(run->internal.ndata > 0 ? run->internal.data[0] : 0),
			  (unsigned long long)(run->internal.ndata > 1 ? run->internal.data[1] : 0), where);
		return 1;
	default:
		rip = nk_vcpu_describe(c, where, sizeof(where));
		nk_vm_end(vm, NK_VM_EXIT_ERROR, (int)c->index, run->exit_reason, rip,
			  "unexpected KVM exit %u on vCPU %u: %s", run->exit_reason, c->index, where);
		return 1;
	}
}

void *nk_vcpu_thread(void *arg)
{
	struct nk_vcpu *c = arg;
	struct nk_vm *vm = c->vm;
	char thread[16];
	snprintf(thread, sizeof(thread), "vcpu%u", c->index);
	if (nk_vm_thread_enter(vm, thread) < 0)
		return NULL;

	while (!atomic_load(&vm->ending)) {
		nk_vm_pause_point(vm);
		int r = ioctl(c->fd, KVM_RUN, 0);
		if (r < 0) {
			int e = errno;
			/* EAGAIN: an AP woke from INIT/SIPI wait; just enter again. */
			if (e == EINTR || e == EAGAIN) {
				__atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			nk_vm_end(vm, NK_VM_EXIT_ERROR, (int)c->index, 0, 0, "KVM_RUN on vCPU %u: %s",
				  c->index, strerror(e));
			break;
		}
		/* The first exit of the boot vCPU is the earliest moment the VMM can see that
		 * the guest ran: its first instruction executed somewhere before it. */
		if (c->index == 0)
			nk_vm_boot_mark(vm, NK_VM_MARK_FIRST_INSN);
		if (handle_exit(c))
			break;
	}
	return NULL;
}
