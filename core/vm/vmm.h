/* The microVM monitor's public API: build a KVM guest from a kernel image, run it, stop it. */
#ifndef NOOK_VMM_H
#define NOOK_VMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/vm/vm.h"

#define NK_VM_MAX_VCPUS 64
#define NK_VM_MIN_MEM (16ULL << 20)
/* RAM is one block below the 32-bit MMIO hole (virtio-mmio, IOAPIC, LAPIC live there). */
#define NK_VM_MAX_MEM (3ULL << 30)

struct nk_vm;
struct nk_virtio_dev;

/* How the boot vCPU enters the kernel. AUTO: the PVH entry when the kernel is an ELF with
 * a XEN_ELFNOTE_PHYS32_ENTRY note, the 64-bit Linux boot protocol otherwise. */
enum nk_vm_boot {
	NK_VM_BOOT_AUTO,
	NK_VM_BOOT_LINUX64, /* zero page, long mode set up by the VMM (bzImage or ELF) */
	NK_VM_BOOT_PVH,	    /* 32-bit entry with hvm_start_info; an error without the note */
};

/* What to boot. Strings are copied by nk_vm_create; the fds are borrowed (not closed)
 * and must stay open until nk_vm_destroy. */
struct nk_vm_config {
	uint64_t mem_bytes;	 /* guest RAM, NK_VM_MIN_MEM..NK_VM_MAX_MEM, multiple of 1 MiB */
	unsigned vcpus;		 /* 1..NK_VM_MAX_VCPUS */
	const char *kernel;	 /* bzImage (64-bit boot protocol) or ELF vmlinux */
	const char *initrd;	 /* NULL or "" for none */
	const char *cmdline;	 /* NULL or "" for none; nk_vm_cmdline_append adds to it */
	enum nk_vm_boot boot;	 /* 0 (AUTO) unless the user chose */
	int console_in;		 /* the serial port's input; -1 for none */
	int console_out;	 /* the serial port's output; -1 to discard it */
	size_t console_out_cap;	 /* output bytes queued before dropping; 0 means 256 KiB */
	/* Called once per boot boundary reached (first instruction, first console byte, guest
	 * init), on a vCPU thread: must not block. NULL for none. */
	void (*on_boot_mark)(void *opaque);
	void *boot_mark_opaque;
	/* Optional: run first on each of the VM's own threads (every vCPU, the I/O thread,
	 * the console writer), before that thread does any guest-driven work; e.g. to
	 * install a per-thread seccomp filter. `thread` names it ("vcpu0", "io", "console").
	 * A failure ends the run as an error naming the thread. */
	int (*thread_enter)(void *opaque, const char *thread, struct nk_err *err);
	void *thread_opaque;
};

/* The guest tells the VMM its init has started by writing the byte NK_VM_BOOT_MARK_INIT to
 * I/O port NK_VM_BOOT_MARK_PORT (docs/vmm.md). Other values are ignored; reads give 0. */
#define NK_VM_BOOT_MARK_PORT 0x4e0
#define NK_VM_BOOT_MARK_INIT 0x01

enum nk_vm_exit_reason {
	NK_VM_EXIT_RESET,	/* the guest reset the machine (i8042 0xFE, reboot) */
	NK_VM_EXIT_POWEROFF,	/* the guest powered off (KVM system event) */
	NK_VM_EXIT_CRASHED,	/* triple fault, or a guest crash event */
	NK_VM_EXIT_KILLED,	/* nk_vm_kill: stopped without the guest's consent */
	NK_VM_EXIT_ERROR,	/* KVM could not go on: entry failure, emulation error, ... */
};

/* Why nk_vm_run returned. */
struct nk_vm_exit {
	enum nk_vm_exit_reason reason;
	int vcpu;		/* the vCPU that ended it, -1 when none did */
	uint32_t kvm_exit;	/* KVM_EXIT_* of that vCPU's last exit */
	uint64_t rip;		/* its instruction pointer then (crashed/error) */
	int stop_requested;	/* nk_vm_request_stop had been called before the end */
	uint64_t run_ns;	/* from the vCPUs' start to the end */
	char detail[256];	/* human words: "triple fault at rip 0x...", "emulation failure" */
};

/* What this host's KVM offers, probed with KVM_CHECK_EXTENSION. */
struct nk_vm_caps {
	int api_version;
	int pvm;		/* the kvm_pvm module: guest ring 0 is emulated, ring 3 native */
	int irqchip;		/* in-kernel PIC + IOAPIC + LAPIC */
	int pit2;
	int stats_fd;		/* KVM_GET_STATS_FD */
	int immediate_exit;
	int ioeventfd;
	int irqfd;
	int x2apic_api;
	int tsc_deadline;
	int nr_vcpus;		/* recommended */
	int max_vcpus;
	int vcpu_mmap_size;
	int supported_cpuid_entries;
};

/* Probe /dev/kvm without creating anything. */
int nk_vm_probe(struct nk_vm_caps *caps, struct nk_err *err) NK_MUST_CHECK;

/* Check the config, open KVM, create the VM, its memory, irqchip, PIT, vCPUs and the
 * serial + i8042 devices, and load the kernel and initrd. Nothing runs yet: devices
 * may be added and the command line extended until nk_vm_run. On failure everything
 * done so far is undone. */
int nk_vm_create(const struct nk_vm_config *cfg, struct nk_vm **out,
		 struct nk_err *err) NK_MUST_CHECK;

/* Add a device on a bus (before nk_vm_run; -EBUSY after). Overlaps are refused. */
int nk_vm_register_dev(struct nk_vm *vm, const char *name, enum nk_vm_bus bus, uint64_t base,
		       uint64_t len, const struct nk_vm_dev_ops *ops, void *opaque,
		       struct nk_err *err) NK_MUST_CHECK;

/* Hand out a virtio-mmio slot: a page-aligned MMIO range of len bytes and an interrupt
 * line, and add "virtio_mmio.device=<len>@<base>:<gsi>" to the kernel command line. The
 * caller then registers its device there with nk_vm_register_dev. */
int nk_vm_alloc_mmio(struct nk_vm *vm, uint64_t len, uint64_t *base, uint32_t *gsi) NK_MUST_CHECK;

/* Append " text" to the kernel command line (before nk_vm_run). */
int nk_vm_cmdline_append(struct nk_vm *vm, const char *text, struct nk_err *err) NK_MUST_CHECK;
/* The command line as the guest will see it. */
/* The boot protocol the kernel was set up for: "pvh" or "linux64". */
const char *nk_vm_boot_protocol(const struct nk_vm *vm);

const char *nk_vm_cmdline(const struct nk_vm *vm);

const struct nk_vm_mem *nk_vm_memory(struct nk_vm *vm);

/* An interrupt line of the in-kernel irqchip (KVM_IRQ_LINE), for a device model. */
struct nk_vm_irq nk_vm_irq_line(struct nk_vm *vm, uint32_t gsi);

/* Let a device do its I/O off the vCPU threads: a guest write to addr (len bytes, any
 * value) signals the eventfd efd in the kernel without an exit to user space ... */
int nk_vm_ioeventfd(struct nk_vm *vm, enum nk_vm_bus bus, uint64_t addr, uint32_t len, int efd,
		    struct nk_err *err) NK_MUST_CHECK;
/* ... a write to efd raises gsi (edge) from any thread ... */
int nk_vm_irqfd(struct nk_vm *vm, uint32_t gsi, int efd, struct nk_err *err) NK_MUST_CHECK;
/* ... and cb runs on the VM's I/O thread whenever fd is readable (register before run). */
int nk_vm_watch_fd(struct nk_vm *vm, int fd, void (*cb)(void *opaque, int fd), void *opaque,
		   struct nk_err *err) NK_MUST_CHECK;
/* Stop or resume watching fd (e.g. a tap while the guest has no receive buffers).
 * Any thread, any time; async-signal-safe. */
void nk_vm_watch_enable(struct nk_vm *vm, int fd, int on);

/* Put a virtio device (core/vm/virtio-*.h) on the VM: a slot from nk_vm_alloc_mmio, the
 * virtio-mmio transport on the bus, its interrupt line, and queue notifications that
 * reach the device on the VM's I/O thread (through an ioeventfd, without a vCPU exit,
 * when KVM has them). The VM owns the transport; the caller keeps dev alive until
 * nk_vm_destroy and destroys it afterwards. base/gsi may be NULL. */
int nk_vm_attach_virtio(struct nk_vm *vm, const char *name, struct nk_virtio_dev *dev,
			uint64_t *base, uint32_t *gsi, struct nk_err *err) NK_MUST_CHECK;

/* Run the guest until it resets, powers off, crashes, is killed or fails; fills why.
 * Returns 0 when the guest ran (whatever the reason, ERROR included: why->detail and
 * err then say what KVM refused), -errno when the VM could not be started at all.
 * Call once per nk_vm: a "reboot" is destroy + create. */
int nk_vm_run(struct nk_vm *vm, struct nk_vm_exit *why, struct nk_err *err) NK_MUST_CHECK;

/* Ask the guest to shut down: Ctrl-Alt-Del through the i8042 (Linux then reboots, which
 * ends the run as RESET with stop_requested set). Async-signal-safe; any thread. */
void nk_vm_request_stop(struct nk_vm *vm);
/* Stop the vCPUs now (reason KILLED). Async-signal-safe; any thread. */
void nk_vm_kill(struct nk_vm *vm);

/* Pause (on = 1) or resume the guest: every vCPU leaves KVM_RUN and waits; devices and
 * the console stay up. Returns once every running vCPU has stopped (or resumed). Not
 * from a signal handler; any other thread. */
void nk_vm_pause(struct nk_vm *vm, int on);

/* Join every VMM thread (vCPUs, I/O, console writer), ending the run first if needed: after
 * it the caller's process runs no thread of the VM. nk_vm_destroy does it too. */
void nk_vm_stop(struct nk_vm *vm);

/* Join everything, close every fd, unmap memory. Safe on a VM that never ran. */
void nk_vm_destroy(struct nk_vm *vm);

const char *nk_vm_exit_name(enum nk_vm_exit_reason reason);

/* The signal used to kick vCPU threads out of KVM_RUN; nk_vm_create installs an empty
 * handler for it. The embedding program must leave it alone. */
int nk_vm_kick_signal(void);

/* KVM's own counters (KVM_GET_STATS_FD), by name. vcpu is an index, NK_VM_STATS_VM for
 * the VM-wide set or NK_VM_STATS_VCPU_SUM for every vCPU's counters added up. */
#define NK_VM_STATS_VM (-1)
#define NK_VM_STATS_VCPU_SUM (-2)
#define NK_VM_STAT_NAME_MAX 48

struct nk_vm_stat {
	char name[NK_VM_STAT_NAME_MAX];
	uint64_t value;		/* histograms: the sum of their buckets */
	uint32_t flags;		/* KVM_STATS_TYPE_* | KVM_STATS_UNIT_* | KVM_STATS_BASE_* */
	int16_t exponent;	/* value * base^exponent is in the unit */
};

/* Fill out[0..max) with the current values; *n is how many there are (may exceed max).
 * Thread-safe: a dashboard may call it while the guest runs. */
int nk_vm_stats(struct nk_vm *vm, int vcpu, struct nk_vm_stat *out, size_t max, size_t *n,
		struct nk_err *err) NK_MUST_CHECK;
/* One counter; -ENOENT when KVM has no such name. */
int nk_vm_stat_value(struct nk_vm *vm, int vcpu, const char *name, uint64_t *value) NK_MUST_CHECK;

unsigned nk_vm_vcpu_count(const struct nk_vm *vm);
const struct nk_vm_caps *nk_vm_get_caps(const struct nk_vm *vm);
/* Console output bytes dropped because the console fd did not keep up. */
uint64_t nk_vm_console_dropped(struct nk_vm *vm);

/* Where the time went: building the VM (the boot steps, each a duration), then the guest's
 * boot boundaries reached so far, in the order reached, each the time since the one before
 * (the first since the VM was built): "first-instruction" (the boot vCPU's first return
 * from KVM_RUN), "first-console" (first byte to the serial THR), "guest-init" (the guest's
 * mark on NK_VM_BOOT_MARK_PORT). */
struct nk_vm_timing {
	const char *name;	/* "kvm", "memory", "kernel", ..., "first-instruction", ... */
	uint64_t ns;
};
/* Returns how many entries were written to out (at most max). Any thread. */
size_t nk_vm_timings(const struct nk_vm *vm, struct nk_vm_timing *out, size_t max);

#endif
