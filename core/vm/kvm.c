/* The VM-level KVM calls: probing, the VM fd, guest memory, irqchip + PIT, lines, eventfds. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm/vmm-internal.h"

static int check(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static void probe_fd(int fd, struct nk_vm_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	/* PVM runs the guest kernel through KVM's emulator; say so, it explains the speed. */
	caps->pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	caps->irqchip = check(fd, KVM_CAP_IRQCHIP);
	caps->pit2 = check(fd, KVM_CAP_PIT2);
	caps->stats_fd = check(fd, KVM_CAP_BINARY_STATS_FD);
	caps->immediate_exit = check(fd, KVM_CAP_IMMEDIATE_EXIT);
	caps->ioeventfd = check(fd, KVM_CAP_IOEVENTFD);
	caps->irqfd = check(fd, KVM_CAP_IRQFD);
	caps->x2apic_api = check(fd, KVM_CAP_X2APIC_API);
	caps->tsc_deadline = check(fd, KVM_CAP_TSC_DEADLINE_TIMER);
	caps->nr_vcpus = check(fd, KVM_CAP_NR_VCPUS);
	caps->max_vcpus = check(fd, KVM_CAP_MAX_VCPUS);
	caps->vcpu_mmap_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
}

static int open_kvm(struct nk_err *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return nk_err_msg(err, e, "/dev/kvm does not exist: load kvm-intel/kvm-amd (or kvm_pvm) or use containers");
		return nk_err_set(err, e, "cannot open /dev/kvm (needs root or the kvm group)");
	}
	return fd;
}

int nk_vm_probe(struct nk_vm_caps *caps, struct nk_err *err)
{
	int fd = open_kvm(err);
	if (fd < 0)
		return fd;
	probe_fd(fd, caps);
	unsigned n = 256;
	struct kvm_cpuid2 *cp = calloc(1, sizeof(*cp) + n * sizeof(struct kvm_cpuid_entry2));
	if (cp) {
		cp->nent = n;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, cp) == 0)
			caps->supported_cpuid_entries = (int)cp->nent;
		free(cp);
	}
	close(fd);
	return 0;
}

int nk_kvm_open(struct nk_vm *vm, struct nk_err *err)
{
	int fd = open_kvm(err);
	if (fd < 0)
		return fd;
	vm->kvm_fd = fd;
	probe_fd(fd, &vm->caps);
	if (vm->caps.api_version != KVM_API_VERSION)
		return nk_err_msg(err, ENOTSUP, "KVM API version %d; nook speaks %d",
				  vm->caps.api_version, KVM_API_VERSION);
	if (!vm->caps.irqchip || !vm->caps.immediate_exit)
		return nk_err_msg(err, ENOTSUP,
				  "this KVM lacks %s; nook needs an in-kernel irqchip and KVM_CAP_IMMEDIATE_EXIT",
				  !vm->caps.irqchip ? "KVM_CAP_IRQCHIP" : "KVM_CAP_IMMEDIATE_EXIT");
	if (vm->caps.vcpu_mmap_size < (int)sizeof(struct kvm_run))
		return nk_err_msg(err, ENOTSUP, "KVM_GET_VCPU_MMAP_SIZE says %d", vm->caps.vcpu_mmap_size);
	unsigned limit = (unsigned)(vm->caps.max_vcpus > 0 ? vm->caps.max_vcpus : vm->caps.nr_vcpus);
	if (limit && vm->nvcpus > limit)
		return nk_err_msg(err, EINVAL, "%u vCPUs asked; this KVM allows %u", vm->nvcpus, limit);
	return 0;
}

void nk_kvm_close(struct nk_vm *vm)
{
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->kvm_fd = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
}

int nk_kvm_create_vm(struct nk_vm *vm, struct nk_err *err)
{
	int fd;
	do
		fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return nk_err_set(err, errno, "KVM_CREATE_VM");
	vm->vm_fd = fd;
	/* VMX needs these pages for real mode; they sit in the hole, away from RAM. */
	if (ioctl(fd, KVM_SET_TSS_ADDR, (unsigned long)NK_BOOT_KVM_TSS) < 0)
		return nk_err_set(err, errno, "KVM_SET_TSS_ADDR");
	uint64_t idmap = NK_BOOT_KVM_IDMAP;
	if (check(vm->kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR) &&
	    ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return nk_err_set(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	return 0;
}

static void *close_in_background(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/* The last reference to a VM going makes the kernel tear it down, which waits out an SRCU
 * grace period (~15 ms here). Nothing uses the VM after this: a detached thread pays for it
 * while the caller goes on to report the end (a process exit waits for that thread). */
void nk_kvm_destroy_vm(struct nk_vm *vm)
{
	if (vm->vm_fd < 0)
		return;
	pthread_attr_t attr;
	pthread_t t;
	int started = pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
		      pthread_create(&t, &attr, close_in_background, (void *)(intptr_t)vm->vm_fd) == 0;
	pthread_attr_destroy(&attr);
	if (!started)
		close(vm->vm_fd);
	vm->vm_fd = -1;
}

int nk_kvm_memory(struct nk_vm *vm, struct nk_err *err)
{
	/* NORESERVE: a 3 GiB guest that touches 40 MiB costs 40 MiB. */
	void *p = mmap(NULL, vm->mem_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return nk_err_set(err, errno, "cannot map %llu MiB of guest memory",
				  (unsigned long long)(vm->mem_bytes >> 20));
	vm->mem.host = p;
	vm->mem.size = vm->mem_bytes;
	madvise(p, vm->mem_bytes, MADV_HUGEPAGE);
	madvise(p, vm->mem_bytes, MADV_DONTDUMP);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_bytes,
		.userspace_addr = (uint64_t)(uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return nk_err_set(err, errno, "KVM_SET_USER_MEMORY_REGION (%llu MiB)",
				  (unsigned long long)(vm->mem_bytes >> 20));
	return 0;
}

void nk_kvm_memory_free(struct nk_vm *vm)
{
	if (vm->mem.host)
		munmap(vm->mem.host, vm->mem.size);
	vm->mem.host = NULL;
	vm->mem.size = 0;
}

/* KVM's 8259s start unmasked with vector base 0, and LINT0 is ExtINT: an ISA line
 * raised before the guest programs the PICs would arrive as exception vector 0-15.
 * Linux's real-mode setup masks them (arch/x86/boot/pm.c), but the 64-bit entry skips
 * it, and a hardware-reduced ACPI kernel never touches the PICs (it routes everything
 * through the IOAPIC). So leave them as that setup code would: masked, cascade open. */
static int mask_pics(struct nk_vm *vm, struct nk_err *err)
{
	static const struct {
		uint32_t id;
		uint8_t imr;
	} pics[] = {{KVM_IRQCHIP_PIC_MASTER, 0xfb}, {KVM_IRQCHIP_PIC_SLAVE, 0xff}};
	for (size_t i = 0; i < sizeof(pics) / sizeof(pics[0]); i++) {
		struct kvm_irqchip chip = {.chip_id = pics[i].id};
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return nk_err_set(err, errno, "KVM_GET_IRQCHIP (8259 %u)", pics[i].id);
		chip.chip.pic.imr = pics[i].imr;
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return nk_err_set(err, errno, "KVM_SET_IRQCHIP (8259 %u)", pics[i].id);
	}
	return 0;
}

int nk_kvm_irqchip(struct nk_vm *vm, struct nk_err *err)
{
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return nk_err_set(err, errno, "KVM_CREATE_IRQCHIP");
	int r = mask_pics(vm, err);
	if (r < 0)
		return r;
	if (!vm->caps.pit2)
		return 0; /* a kernel can live on the LAPIC timer */
	/* The dummy speaker makes port 0x61 answer in the kernel, which Linux's PIT
	 * calibration reads. */
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return nk_err_set(err, errno, "KVM_CREATE_PIT2");
	return 0;
}

int nk_kvm_supported_cpuid(struct nk_vm *vm, struct nk_err *err)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			return nk_err_set(err, ENOMEM, "KVM_GET_SUPPORTED_CPUID");
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			vm->caps.supported_cpuid_entries = (int)c->nent;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			return nk_err_set(err, e, "KVM_GET_SUPPORTED_CPUID");
	}
	return nk_err_msg(err, E2BIG, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

static int irq_set(void *opaque, uint32_t gsi, int level)
{
	struct nk_vm *vm = opaque;
	struct kvm_irq_level l = {.irq = gsi, .level = level ? 1 : 0};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

struct nk_vm_irq nk_vm_irq_line(struct nk_vm *vm, uint32_t gsi)
{
	struct nk_vm_irq irq = {.set = irq_set, .opaque = vm, .gsi = gsi};
	return irq;
}

int nk_vm_ioeventfd(struct nk_vm *vm, enum nk_vm_bus bus, uint64_t addr, uint32_t len, int efd,
		    struct nk_err *err)
{
	if (!vm->caps.ioeventfd)
		return nk_err_msg(err, ENOTSUP, "this KVM has no ioeventfd");
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return nk_err_msg(err, EINVAL, "ioeventfd length %u", len);
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = efd,
		.flags = bus == NK_VM_BUS_PIO ? KVM_IOEVENTFD_FLAG_PIO : 0,
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return nk_err_set(err, errno, "KVM_IOEVENTFD at 0x%llx", (unsigned long long)addr);
	return 0;
}

int nk_vm_irqfd(struct nk_vm *vm, uint32_t gsi, int efd, struct nk_err *err)
{
	if (!vm->caps.irqfd)
		return nk_err_msg(err, ENOTSUP, "this KVM has no irqfd");
	struct kvm_irqfd irqfd = {.fd = (uint32_t)efd, .gsi = gsi};
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return nk_err_set(err, errno, "KVM_IRQFD for GSI %u", gsi);
	return 0;
}
