/* Start-up phases, measured with CLOCK_MONOTONIC at their boundaries (never estimated):
 * what `nook run --timings` and `inspect` show, and what teaching is built on. */
#ifndef NOOK_TIMELINE_H
#define NOOK_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

/* In the order a container start passes them. */
enum nk_phase {
	NK_PHASE_CGROUP,  /* group created, limits written */
	NK_PHASE_CLONE,   /* clone(CLONE_NEW*) returned: the namespaces exist */
	NK_PHASE_NETWORK, /* cgroup joined, veth wired, /etc files written (the monitor) ... */
	NK_PHASE_MOUNTS,  /* ... while the child mounts: overlay, /proc, /sys, /dev, volumes ... */
	NK_PHASE_PIVOT,   /* ... and pivots (both measured from the clone) */
	NK_PHASE_CAPS,    /* capabilities dropped, no_new_privs set */
	NK_PHASE_SECCOMP, /* filter loaded (the very last step) */
	NK_PHASE_EXEC,    /* execve returned into the program */
	NK_PHASE_COUNT
};

#define NK_VM_PHASES 16

/* A VM's start, phase by phase as the VMM measured it (KVM, guest memory, irqchip, devices,
 * vCPUs, kernel load...), then the guest's boot boundaries as they are reached (first
 * instruction, first console byte, guest init), each a duration. */
struct nk_vm_phase {
	char name[24];
	uint32_t us;
};

struct nk_timeline {
	uint64_t start_ns;               /* when the monitor began the start */
	uint64_t at_ns[NK_PHASE_COUNT];  /* when each phase ended; 0 when not reached */
	struct nk_vm_phase vm[NK_VM_PHASES]; /* a VM's phases instead (vm_count > 0) */
	unsigned vm_count;
};

const char *nk_phase_name(enum nk_phase p);
/* "cgroup 0.21 ms, clone 0.40 ms, ..., total 1.93 ms" into buf. */
void nk_timeline_format(const struct nk_timeline *t, char *buf, size_t size);
/* Duration of phase p in nanoseconds (0 when unknown). */
uint64_t nk_timeline_phase_ns(const struct nk_timeline *t, enum nk_phase p);

/* A VM phase's duration in microseconds by name ("guest-init"...), or -1 when not reached. */
int64_t nk_timeline_vm_phase_us(const struct nk_timeline *t, const char *name);

#endif
