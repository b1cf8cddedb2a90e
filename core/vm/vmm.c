/* The VM's life: boot steps in a const table (undone in reverse), run, stop, destroy. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "core/vm/vmm-internal.h"

/* ISA lines that no device of ours uses, then the IOAPIC-only ones (8 is the RTC,
 * 13 the FPU on old boards). */
static const uint8_t mmio_gsis[] = {5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
_Static_assert(NK_ARRAY_SIZE(mmio_gsis) == NK_VM_MAX_MMIO, "one slot per line");

static void kick_handler(int sig)
{
	(void)sig;
}

int nk_vm_kick_signal(void)
{
	return SIGRTMIN + 6;
}

static int install_kick_handler(struct nk_err *err)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the point is to make KVM_RUN and write return EINTR. */
	if (sigaction(nk_vm_kick_signal(), &sa, NULL) < 0)
		return nk_err_set(err, errno, "installing the vCPU kick signal handler");
	return 0;
}

static void i8042_reset(void *opaque)
{
	nk_vm_end(opaque, NK_VM_EXIT_RESET, -1, 0, 0, "reset through the i8042");
}

static void acpi_poweroff(void *opaque)
{
	nk_vm_end(opaque, NK_VM_EXIT_POWEROFF, -1, 0, 0, "power off through ACPI (S5)");
}

static void acpi_reset(void *opaque)
{
	nk_vm_end(opaque, NK_VM_EXIT_RESET, -1, 0, 0, "reset through the ACPI reset register");
}

static void pvpanic_panicked(void *opaque)
{
	nk_vm_end(opaque, NK_VM_EXIT_CRASHED, -1, 0, 0, "the guest reported a panic (pvpanic)");
}

static int step_kvm(struct nk_vm *vm, struct nk_err *err)
{
	return nk_kvm_open(vm, err);
}

static int step_devices(struct nk_vm *vm, struct nk_err *err)
{
	nk_vm_buses_init(&vm->bus);
	int r = nk_vm_io_init(vm, err);
	if (r < 0)
		return r;
	struct nk_vm_irq com1 = nk_vm_irq_line(vm, NK_SERIAL_COM1_GSI);
	struct nk_serial_host host = {
		.tx = nk_vm_console_tx,
		.rx_room = nk_vm_console_rx_room,
		.opaque = vm,
	};
	r = nk_serial_create(&com1, &host, &vm->serial, err);
	if (r < 0)
		return r;
	r = nk_vm_bus_add(&vm->bus, "serial0", NK_VM_BUS_PIO, NK_SERIAL_COM1_BASE, NK_SERIAL_NREGS,
			  &nk_serial_ops, vm->serial, err);
	if (r < 0)
		return r;
	struct nk_vm_irq kbd = nk_vm_irq_line(vm, NK_I8042_KBD_GSI);
	r = nk_i8042_create(&kbd, i8042_reset, vm, &vm->kbd, err);
	if (r < 0)
		return r;
	r = nk_vm_bus_add(&vm->bus, "i8042-data", NK_VM_BUS_PIO, NK_I8042_DATA_PORT, 1,
			  &nk_i8042_data_ops, vm->kbd, err);
	if (r < 0)
		return r;
	r = nk_vm_bus_add(&vm->bus, "i8042-cmd", NK_VM_BUS_PIO, NK_I8042_CMD_PORT, 1, &nk_i8042_cmd_ops,
			  vm->kbd, err);
	if (r < 0)
		return r;
	r = nk_vm_bus_add(&vm->bus, "boot-mark", NK_VM_BUS_PIO, NK_VM_BOOT_MARK_PORT, 1, &nk_vm_boot_mark_ops,
			  vm, err);
	if (r < 0)
		return r;
	vm->acpi_pm = (struct nk_acpi_pm){.poweroff = acpi_poweroff, .reset = acpi_reset, .opaque = vm};
	r = nk_vm_bus_add(&vm->bus, "acpi-pm", NK_VM_BUS_PIO, NK_ACPI_PM_PORT, NK_ACPI_PM_LEN, &nk_acpi_pm_ops,
			  &vm->acpi_pm, err);
	if (r < 0)
		return r;
	vm->pvpanic = (struct nk_pvpanic){.panicked = pvpanic_panicked, .opaque = vm};
	return nk_vm_bus_add(&vm->bus, "pvpanic", NK_VM_BUS_PIO, NK_PVPANIC_PORT, 1, &nk_pvpanic_ops,
			     &vm->pvpanic, err);
}

static void undo_devices(struct nk_vm *vm)
{
	nk_i8042_destroy(vm->kbd);
	vm->kbd = NULL;
	nk_serial_destroy(vm->serial);
	vm->serial = NULL;
	nk_vm_buses_free(&vm->bus);
	nk_vm_io_free(vm);
}

/* Counters are a nicety: a KVM without them still runs guests. */
static int step_stats(struct nk_vm *vm, struct nk_err *err)
{
	(void)err;
	if (!vm->caps.stats_fd)
		return 0;
	int fd = ioctl(vm->vm_fd, KVM_GET_STATS_FD, 0);
	if (fd >= 0 && nk_kvm_stats_open(&vm->stats, fd, NULL) < 0)
		vm->stats.fd = -1;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct nk_vcpu *c = &vm->vcpus[i];
		fd = ioctl(c->fd, KVM_GET_STATS_FD, 0);
		if (fd >= 0 && nk_kvm_stats_open(&c->stats, fd, NULL) < 0)
			c->stats.fd = -1;
	}
	return 0;
}

static void undo_stats(struct nk_vm *vm)
{
	if (vm->stats.fd >= 0)
		nk_kvm_stats_close(&vm->stats);
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		if (vm->vcpus[i].stats.fd >= 0)
			nk_kvm_stats_close(&vm->vcpus[i].stats);
}

static int step_kernel(struct nk_vm *vm, struct nk_err *err)
{
	int r = nk_boot_load_kernel(&vm->mem, vm->kernel_path, &vm->img, err);
	if (r < 0)
		return r;
	if (vm->initrd_path) {
		r = nk_boot_load_initrd(&vm->mem, vm->initrd_path, &vm->img, err);
		if (r < 0)
			return r;
	}
	if (vm->cmdline_len + 1 > vm->img.cmdline_max)
		return nk_err_msg(err, E2BIG, "the kernel command line is %zu bytes; this kernel accepts %u",
				  vm->cmdline_len, vm->img.cmdline_max - 1);
	r = nk_boot_write_tables(&vm->mem, err);
	if (r < 0)
		return r;
	r = nk_mptable_write(&vm->mem, vm->nvcpus, err);
	if (r < 0)
		return r;
	/* PVH when the kernel offers it, unless the 64-bit protocol was asked for. */
	if (vm->boot == NK_VM_BOOT_PVH && !vm->img.pvh_entry)
		return nk_err_msg(err, ENOEXEC, "%s has no PVH entry (an ELF vmlinux with the XEN_ELFNOTE_PHYS32_ENTRY note)",
				  vm->kernel_path);
	vm->boot_pvh = vm->img.pvh_entry && vm->boot != NK_VM_BOOT_LINUX64;
	if (vm->boot_pvh) {
		r = nk_pvh_write_start_info(&vm->mem, &vm->img, NK_BOOT_ACPI, err); /* the tables follow in nk_vm_run */
		if (r < 0)
			return r;
		return nk_vcpu_pvh_regs(&vm->vcpus[0], vm->img.pvh_entry, NK_PVH_START_INFO, err);
	}
	return nk_vcpu_boot_regs(&vm->vcpus[0], vm->img.entry, NK_BOOT_ZERO_PAGE, err);
}

const char *nk_vm_boot_protocol(const struct nk_vm *vm)
{
	return vm->boot_pvh ? "pvh" : "linux64";
}

struct boot_step {
	const char *name;
	int (*init)(struct nk_vm *vm, struct nk_err *err);
	void (*exit)(struct nk_vm *vm);
};

static const struct boot_step boot_steps[] = {
	{"kvm", step_kvm, nk_kvm_close},
	{"vm", nk_kvm_create_vm, nk_kvm_destroy_vm},
	{"memory", nk_kvm_memory, nk_kvm_memory_free},
	{"irqchip", nk_kvm_irqchip, NULL},
	{"devices", step_devices, undo_devices},
	{"vcpus", nk_vcpus_create, nk_vcpus_destroy},
	{"stats", step_stats, undo_stats},
	{"kernel", step_kernel, NULL},
};

static void teardown(struct nk_vm *vm)
{
	while (vm->steps_done > 0) {
		const struct boot_step *s = &boot_steps[--vm->steps_done];
		if (s->exit)
			s->exit(vm);
	}
}

static void free_vm(struct nk_vm *vm)
{
	nk_vm_virtio_free(vm);
	teardown(vm);
	if (vm->sync_init) {
		pthread_cond_destroy(&vm->cond);
		pthread_mutex_destroy(&vm->lock);
	}
	free(vm->kernel_path);
	free(vm->initrd_path);
	free(vm->cmdline);
	free(vm);
}

static int check_config(const struct nk_vm_config *cfg, struct nk_err *err)
{
	if (!cfg->kernel || !*cfg->kernel)
		return nk_err_msg(err, EINVAL, "no kernel given");
	if (cfg->mem_bytes < NK_VM_MIN_MEM || cfg->mem_bytes > NK_VM_MAX_MEM ||
	    cfg->mem_bytes % (1 << 20))
		return nk_err_msg(err, EINVAL, "guest memory must be %llu MiB..%llu MiB in whole MiB (got %llu bytes)",
				  NK_VM_MIN_MEM >> 20, NK_VM_MAX_MEM >> 20,
				  (unsigned long long)cfg->mem_bytes);
	if (cfg->vcpus < 1 || cfg->vcpus > NK_VM_MAX_VCPUS)
		return nk_err_msg(err, EINVAL, "vCPUs must be 1..%d (got %u)", NK_VM_MAX_VCPUS, cfg->vcpus);
	if (cfg->boot != NK_VM_BOOT_AUTO && cfg->boot != NK_VM_BOOT_LINUX64 && cfg->boot != NK_VM_BOOT_PVH)
		return nk_err_msg(err, EINVAL, "unknown boot protocol %d", (int)cfg->boot);
	return 0;
}

int nk_vm_create(const struct nk_vm_config *cfg, struct nk_vm **out, struct nk_err *err)
{
	*out = NULL;
	int r = check_config(cfg, err);
	if (r < 0)
		return r;
	r = install_kick_handler(err);
	if (r < 0)
		return r;
	struct nk_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return nk_err_set(err, ENOMEM, "allocating the VM");
	vm->kvm_fd = vm->vm_fd = -1;
	vm->ctl[0] = vm->ctl[1] = -1;
	vm->stats.fd = -1;
	vm->out.fd = -1;
	vm->mem_bytes = cfg->mem_bytes;
	vm->nvcpus = cfg->vcpus;
	vm->console_in = cfg->console_in;
	vm->console_out = cfg->console_out;
	vm->console_out_cap = cfg->console_out_cap;
	vm->on_boot_mark = cfg->on_boot_mark;
	vm->boot_mark_opaque = cfg->boot_mark_opaque;
	vm->thread_enter = cfg->thread_enter;
	vm->thread_opaque = cfg->thread_opaque;
	vm->mmio_next = NK_BOOT_MMIO_START;
	vm->kernel_path = strdup(cfg->kernel);
	vm->initrd_path = cfg->initrd && *cfg->initrd ? strdup(cfg->initrd) : NULL;
	vm->cmdline = strdup(cfg->cmdline ? cfg->cmdline : "");
	if (!vm->kernel_path || !vm->cmdline || (cfg->initrd && *cfg->initrd && !vm->initrd_path)) {
		free_vm(vm);
		return nk_err_set(err, ENOMEM, "allocating the VM");
	}
	vm->cmdline_len = strlen(vm->cmdline);
	vm->boot = cfg->boot;
	if (pthread_mutex_init(&vm->lock, NULL) || pthread_cond_init(&vm->cond, NULL)) {
		free_vm(vm);
		return nk_err_set(err, ENOMEM, "VM lock");
	}
	vm->sync_init = 1;

	for (size_t i = 0; i < NK_ARRAY_SIZE(boot_steps); i++) {
		uint64_t t0 = nk_now_ns();
		r = boot_steps[i].init(vm, err);
		/* A failed step may have done half its work: its exit undoes that too. */
		vm->steps_done = (unsigned)i + 1;
		if (r < 0) {
			nk_err_prefix(err, "creating the VM (%s)", boot_steps[i].name);
			free_vm(vm);
			return r;
		}
		if (vm->ntimings < NK_VM_MAX_TIMINGS)
			vm->timings[vm->ntimings++] = (struct nk_vm_timing){boot_steps[i].name, nk_now_ns() - t0};
	}
	vm->created_ns = nk_now_ns();
	*out = vm;
	return 0;
}

void nk_vm_end(struct nk_vm *vm, enum nk_vm_exit_reason reason, int vcpu, uint32_t kvm_exit,
	       uint64_t rip, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_set) {
		vm->exit_set = 1;
		vm->exit.reason = reason;
		vm->exit.vcpu = vcpu;
		vm->exit.kvm_exit = kvm_exit;
		vm->exit.rip = rip;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->exit.detail, sizeof(vm->exit.detail), fmt, ap);
		va_end(ap);
		atomic_store(&vm->ending, 1);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	nk_vcpus_kick(vm);
}

static void join_vcpus(struct nk_vm *vm)
{
	if (!vm->vcpus)
		return;
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->ending, 1);
	pthread_cond_broadcast(&vm->cond); /* paused vCPUs wait on it */
	pthread_mutex_unlock(&vm->lock);
	nk_vcpus_kick(vm);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct nk_vcpu *c = &vm->vcpus[i];
		if (!c->thread_started)
			continue;
		pthread_join(c->thread, NULL);
		c->thread_started = 0;
	}
}

int nk_vm_run(struct nk_vm *vm, struct nk_vm_exit *why, struct nk_err *err)
{
	memset(why, 0, sizeof(*why));
	why->vcpu = -1;
	if (atomic_exchange(&vm->ran, 1))
		return nk_err_msg(err, EALREADY, "this VM has already run; create a new one to boot again");
	int r = nk_boot_set_cmdline(&vm->mem, &vm->img, vm->cmdline, err);
	if (r < 0)
		return r;
	/* Now that every virtio device is attached: the DSDT lists them. */
	struct nk_acpi_config acpi = {.ncpus = vm->nvcpus, .virtio = vm->mmio_slots, .nvirtio = vm->gsi_next};
	r = nk_acpi_write(&vm->mem, &acpi, err);
	if (r < 0)
		return r;
	atomic_store(&vm->running, 1);
	/* Threads start with every signal blocked and unblock only the kick themselves. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	vm->start_ns = nk_now_ns();
	r = nk_vm_io_start(vm, err);
	for (unsigned i = 0; r == 0 && i < vm->nvcpus; i++) {
		struct nk_vcpu *c = &vm->vcpus[i];
		int e = pthread_create(&c->thread, NULL, nk_vcpu_thread, c);
		if (e)
			r = nk_err_set(err, e, "starting vCPU %u", i);
		else
			c->thread_started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		pthread_mutex_lock(&vm->lock);
		while (!vm->exit_set)
			pthread_cond_wait(&vm->cond, &vm->lock);
		pthread_mutex_unlock(&vm->lock);
	}
	join_vcpus(vm);
	uint64_t end_ns = nk_now_ns();
	nk_vm_io_stop(vm);
	if (r < 0)
		return r;
	*why = vm->exit;
	if (why->reason == NK_VM_EXIT_KILLED) {
		/* Killed usually means hung: say where the boot CPU was. */
		char where[192];
		why->rip = nk_vcpu_describe(&vm->vcpus[0], where, sizeof(where));
		size_t len = strlen(why->detail);
		snprintf(why->detail + len, sizeof(why->detail) - len, "; vCPU 0: %s", where);
	}
	why->run_ns = end_ns - vm->start_ns;
	why->stop_requested = atomic_load(&vm->stop_requested);
	if (why->reason == NK_VM_EXIT_ERROR)
		nk_err_msg(err, EIO, "%s", why->detail);
	return 0;
}

void nk_vm_pause(struct nk_vm *vm, int on)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, on ? 1 : 0);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (on)
		nk_vcpus_kick(vm);
	unsigned started = 0;
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		started += atomic_load(&vm->vcpus[i].thread_started) ? 1 : 0;
	/* Bounded: a vCPU stuck elsewhere (a device model blocked, a thread its seccomp
	 * filter parked) must not hang the caller, which is the monitor's only thread. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&vm->lock);
	while (!vm->exit_set && (on ? vm->vcpus_parked < started : vm->vcpus_parked > 0))
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&vm->lock);
}

void nk_vm_pause_point(struct nk_vm *vm)
{
	if (!atomic_load(&vm->paused))
		return; /* the common case: no lock per exit */
	pthread_mutex_lock(&vm->lock);
	if (atomic_load(&vm->paused) && !vm->exit_set) {
		vm->vcpus_parked++;
		pthread_cond_broadcast(&vm->cond);
		while (atomic_load(&vm->paused) && !vm->exit_set && !atomic_load(&vm->ending))
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->vcpus_parked--;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

void nk_vm_request_stop(struct nk_vm *vm)
{
	char c = 'S';
	atomic_store(&vm->stop_requested, 1);
	(void)!write(vm->ctl[1], &c, 1);
}

void nk_vm_kill(struct nk_vm *vm)
{
	char c = 'K';
	(void)!write(vm->ctl[1], &c, 1);
}

void nk_vm_stop(struct nk_vm *vm)
{
	if (!vm)
		return;
	join_vcpus(vm);
	nk_vm_io_stop(vm);
}

void nk_vm_destroy(struct nk_vm *vm)
{
	if (!vm)
		return;
	nk_vm_stop(vm);
	free_vm(vm);
}

const char *nk_vm_exit_name(enum nk_vm_exit_reason reason)
{
	switch (reason) {
	case NK_VM_EXIT_RESET:
		return "reset";
	case NK_VM_EXIT_POWEROFF:
		return "poweroff";
	case NK_VM_EXIT_CRASHED:
		return "crashed";
	case NK_VM_EXIT_KILLED:
		return "killed";
	case NK_VM_EXIT_ERROR:
		return "error";
	}
	return "unknown";
}

int nk_vm_register_dev(struct nk_vm *vm, const char *name, enum nk_vm_bus bus, uint64_t base,
		       uint64_t len, const struct nk_vm_dev_ops *ops, void *opaque, struct nk_err *err)
{
	if (atomic_load(&vm->running))
		return nk_err_msg(err, EBUSY, "device %s: devices must be added before the VM runs",
				  name ? name : "?");
	if (bus == NK_VM_BUS_MMIO && base < vm->mem.size)
		return nk_err_msg(err, EINVAL, "device %s: MMIO address 0x%llx is guest RAM",
				  name ? name : "?", (unsigned long long)base);
	return nk_vm_bus_add(&vm->bus, name, bus, base, len, ops, opaque, err);
}

int nk_vm_cmdline_append(struct nk_vm *vm, const char *text, struct nk_err *err)
{
	if (atomic_load(&vm->running))
		return nk_err_msg(err, EBUSY, "the command line is fixed once the VM runs");
	size_t add = strlen(text);
	if (!add)
		return 0;
	size_t sep = vm->cmdline_len ? 1 : 0;
	if (vm->cmdline_len + sep + add + 1 > vm->img.cmdline_max)
		return nk_err_msg(err, E2BIG, "the kernel command line would exceed %u bytes",
				  vm->img.cmdline_max - 1);
	char *n = realloc(vm->cmdline, vm->cmdline_len + sep + add + 1);
	if (!n)
		return nk_err_set(err, ENOMEM, "extending the command line");
	if (sep)
		n[vm->cmdline_len] = ' ';
	memcpy(n + vm->cmdline_len + sep, text, add + 1);
	vm->cmdline = n;
	vm->cmdline_len += sep + add;
	return 0;
}

const char *nk_vm_cmdline(const struct nk_vm *vm)
{
	return vm->cmdline;
}

int nk_vm_alloc_mmio(struct nk_vm *vm, uint64_t len, uint64_t *base, uint32_t *gsi)
{
	if (atomic_load(&vm->running))
		return -EBUSY;
	if (len == 0 || len > (64ULL << 20))
		return -EINVAL;
	len = (len + 0xfff) & ~0xfffULL;
	if (vm->gsi_next >= NK_ARRAY_SIZE(mmio_gsis) || vm->mmio_next + len > NK_BOOT_MMIO_END)
		return -ENOSPC;
	char arg[96];
	snprintf(arg, sizeof(arg), "virtio_mmio.device=%lluK@0x%llx:%u",
		 (unsigned long long)(len >> 10), (unsigned long long)vm->mmio_next,
		 mmio_gsis[vm->gsi_next]);
	struct nk_err e;
	int r = nk_vm_cmdline_append(vm, arg, &e);
	if (r < 0)
		return r;
	*base = vm->mmio_next;
	*gsi = mmio_gsis[vm->gsi_next];
	vm->mmio_slots[vm->gsi_next] = (struct nk_acpi_mmio){.base = *base, .len = len, .gsi = *gsi};
	vm->mmio_next += len;
	vm->gsi_next++;
	return 0;
}

const struct nk_vm_mem *nk_vm_memory(struct nk_vm *vm)
{
	return &vm->mem;
}

unsigned nk_vm_vcpu_count(const struct nk_vm *vm)
{
	return vm->nvcpus;
}

const struct nk_vm_caps *nk_vm_get_caps(const struct nk_vm *vm)
{
	return &vm->caps;
}

size_t nk_vm_timings(const struct nk_vm *vm, struct nk_vm_timing *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < vm->ntimings && n < max; i++)
		out[n++] = vm->timings[i];
	static const char *const mark_names[NK_VM_MARK_COUNT] = {
	    [NK_VM_MARK_FIRST_INSN] = "first-instruction",
	    [NK_VM_MARK_FIRST_OUTPUT] = "first-console",
	    [NK_VM_MARK_GUEST_INIT] = "guest-init",
	};
	/* Boundaries in the order the guest reached them (a guest may mark its init before it
	 * prints anything), each measured from the one before. */
	uint64_t at[NK_VM_MARK_COUNT];
	int done[NK_VM_MARK_COUNT] = {0};
	for (int k = 0; k < NK_VM_MARK_COUNT; k++)
		at[k] = atomic_load(&vm->marks_ns[k]);
	uint64_t prev = vm->created_ns;
	for (int round = 0; round < NK_VM_MARK_COUNT && n < max; round++) {
		int next = -1;
		for (int k = 0; k < NK_VM_MARK_COUNT; k++)
			if (at[k] && !done[k] && (next < 0 || at[k] < at[next]))
				next = k;
		if (next < 0)
			break;
		done[next] = 1;
		out[n++] = (struct nk_vm_timing){mark_names[next], at[next] > prev ? at[next] - prev : 0};
		if (at[next] > prev)
			prev = at[next];
	}
	return n;
}
