/* The VMM's private state: struct nk_vm and struct nk_vcpu, shared by core/vm/ only. */
#ifndef NOOK_VMM_INTERNAL_H
#define NOOK_VMM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/vm/acpi-pm.h"
#include "core/vm/acpi.h"
#include "core/vm/boot.h"
#include "core/vm/bus.h"
#include "core/vm/i8042.h"
#include "core/vm/kvm-stats.h"
#include "core/vm/pvpanic.h"
#include "core/vm/serial8250.h"
#include "core/vm/vmm.h"

#define NK_VM_MAX_TIMINGS 16
#define NK_VM_MAX_WATCHES 32
#define NK_VM_MAX_VIRTIO 16
#define NK_VM_MAX_MMIO 17 /* virtio-mmio slots: one per free interrupt line */

/* The guest's boot boundaries (boot-marks.c). */
enum nk_vm_boot_mark_kind {
	NK_VM_MARK_FIRST_INSN,	/* the boot vCPU's first return from KVM_RUN */
	NK_VM_MARK_FIRST_OUTPUT, /* the first byte written to the 8250's THR */
	NK_VM_MARK_GUEST_INIT,	/* NK_VM_BOOT_MARK_INIT written to NK_VM_BOOT_MARK_PORT */
	NK_VM_MARK_COUNT
};

struct nk_vcpu {
	struct nk_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	atomic_int thread_started;
	struct nk_kvm_stats stats;
};

struct nk_vm_watch {
	atomic_int enabled;
	int fd;
	void (*cb)(void *opaque, int fd);
	void *opaque;
};

/* Serial output waiting for the console fd: written by vCPUs (never blocking), drained
 * by the writer thread (which may block on a slow terminal). Bounded: beyond cap the
 * newest bytes are dropped and counted. */
struct nk_vm_outq {
	struct nk_vm *vm;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *buf;
	size_t cap, head, len;
	uint64_t dropped;
	int fd;
	int closing;	    /* drain what is queued, then leave */
	atomic_int abandon; /* leave now: the fd does not drain */
	int failed;	    /* the fd refused a write; discard from now on */
	pthread_t thread;
	int started;
};

struct nk_vm {
	/* What the caller asked for (strings owned). */
	uint64_t mem_bytes;
	unsigned nvcpus;
	char *kernel_path;
	char *initrd_path;
	char *cmdline;
	size_t cmdline_len;
	enum nk_vm_boot boot; /* asked for; boot_pvh says what was done */
	int boot_pvh;
	int console_in;
	int console_out;
	size_t console_out_cap;
	int (*thread_enter)(void *opaque, const char *thread, struct nk_err *err);
	void *thread_opaque;

	int kvm_fd;
	int vm_fd;
	struct nk_vm_caps caps;
	struct nk_vm_mem mem;
	struct nk_vm_buses bus;
	struct nk_vcpu *vcpus;
	struct kvm_cpuid2 *cpuid;
	struct nk_boot_image img;
	struct nk_serial *serial;
	struct nk_i8042 *kbd;
	struct nk_acpi_pm acpi_pm;	/* the FADT's sleep and reset registers */
	struct nk_pvpanic pvpanic;
	struct nk_kvm_stats stats; /* VM-wide; fd -1 when KVM has none */
	uint64_t mmio_next;
	unsigned gsi_next;
	struct nk_acpi_mmio mmio_slots[NK_VM_MAX_MMIO]; /* handed out: the DSDT lists them */

	unsigned steps_done;
	struct nk_vm_timing timings[NK_VM_MAX_TIMINGS];
	size_t ntimings;

	/* The run. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int sync_init;
	atomic_int running; /* vCPU threads exist: no more devices, fds or cmdline */
	atomic_int ran;
	atomic_int ending;
	atomic_int stop_requested;
	atomic_int paused;	/* set under lock: vCPUs wait on cond while it is */
	unsigned vcpus_parked;	/* under lock: how many are waiting */
	int exit_set;
	struct nk_vm_exit exit;
	uint64_t start_ns;
	uint64_t created_ns; /* the last boot step done: where the guest's own boot begins */
	atomic_uint_fast64_t marks_ns[NK_VM_MARK_COUNT]; /* boot-marks.c; 0 until reached */
	void (*on_boot_mark)(void *opaque);
	void *boot_mark_opaque;
	int ctl[2]; /* async-signal-safe requests to the I/O thread */
	pthread_t io_thread;
	int io_started;
	int input_eof;
	struct nk_vm_watch watches[NK_VM_MAX_WATCHES];
	size_t nwatches;
	struct nk_vm_outq out;
	struct nk_vm_virtio *virtio[NK_VM_MAX_VIRTIO];
	size_t nvirtio;
};

/* boot-marks.c: record a boot boundary once (any vCPU thread). */
void nk_vm_boot_mark(struct nk_vm *vm, enum nk_vm_boot_mark_kind kind);
extern const struct nk_vm_dev_ops nk_vm_boot_mark_ops;

/* kvm.c */
int nk_kvm_open(struct nk_vm *vm, struct nk_err *err);
void nk_kvm_close(struct nk_vm *vm);
int nk_kvm_create_vm(struct nk_vm *vm, struct nk_err *err);
void nk_kvm_destroy_vm(struct nk_vm *vm);
int nk_kvm_memory(struct nk_vm *vm, struct nk_err *err);
void nk_kvm_memory_free(struct nk_vm *vm);
int nk_kvm_irqchip(struct nk_vm *vm, struct nk_err *err);
int nk_kvm_supported_cpuid(struct nk_vm *vm, struct nk_err *err);

/* vcpu.c */
int nk_vcpus_create(struct nk_vm *vm, struct nk_err *err);
void nk_vcpus_destroy(struct nk_vm *vm);
int nk_vcpu_boot_regs(struct nk_vcpu *c, uint64_t entry, uint64_t zero_page, struct nk_err *err);
int nk_vcpu_pvh_regs(struct nk_vcpu *c, uint32_t entry, uint32_t start_info, struct nk_err *err);
void *nk_vcpu_thread(void *arg);
void nk_vcpus_kick(struct nk_vm *vm);
/* vmm.c: a vCPU thread waits here while the VM is paused. */
void nk_vm_pause_point(struct nk_vm *vm);
/* Registers and code bytes of a stopped vCPU, as one line; returns its rip. */
uint64_t nk_vcpu_describe(struct nk_vcpu *c, char *buf, size_t size);

/* vm-io.c */
int nk_vm_io_init(struct nk_vm *vm, struct nk_err *err);
void nk_vm_io_free(struct nk_vm *vm);
int nk_vm_io_start(struct nk_vm *vm, struct nk_err *err);
void nk_vm_io_stop(struct nk_vm *vm);
void nk_vm_console_tx(void *opaque, const uint8_t *buf, size_t len);
void nk_vm_console_rx_room(void *opaque);
void nk_vm_unwatch_fd(struct nk_vm *vm, int fd);
/* First thing on each VM thread: the signal mask (everything blocked but the kick and the
 * synchronous signals), then the embedder's thread_enter. -1 when the thread must not go
 * on (the run is then ending as an error). */
int nk_vm_thread_enter(struct nk_vm *vm, const char *thread);

/* vm-virtio.c: the transports of attached devices, freed once the threads are gone. */
void nk_vm_virtio_free(struct nk_vm *vm);

/* vmm.c: record why the run ends (the first caller wins) and stop every vCPU. */
void nk_vm_end(struct nk_vm *vm, enum nk_vm_exit_reason reason, int vcpu, uint32_t kvm_exit,
	       uint64_t rip, const char *fmt, ...) NK_PRINTF(6, 7);

#endif
