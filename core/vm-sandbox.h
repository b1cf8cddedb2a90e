/* The VMM's own sandbox, in a VM's monitor: the instance's cgroup (guest memory plus the
 * VMM's overhead, CPU from the vCPU count), an IPC namespace, and a seccomp filter on each
 * of the VMM's threads once the VM is built. */
#ifndef NOOK_VM_SANDBOX_H
#define NOOK_VM_SANDBOX_H

#include <json-c/json.h>
#include <stdint.h>

#include "cgroup.h"
#include "err.h"
#include "paths.h"
#include "seccomp.h"

/* Memory the VMM needs beyond guest RAM: its heap, thread stacks, the console queue,
 * KVM's own kernel memory (vCPU state, and page tables that grow with the guest: 1/64 of
 * it) and the page cache of what it reads and writes. Measured at about 3 MiB for the
 * test guest (docs/vmm.md, "Sandbox"); the rest is headroom. */
#define NK_VMM_MEM_OVERHEAD (16ull << 20)
#define NK_VMM_MEM_OVERHEAD_SHIFT 6
uint64_t nk_vm_sandbox_memory_limit(uint64_t guest_mem);

enum nk_vmm_seccomp_mode {
	NK_VMM_SECCOMP_ENFORCE, /* a forbidden call stops the VM with the call's name */
	NK_VMM_SECCOMP_LOG,     /* NOOK_VMM_SECCOMP=log: allowed, logged by the kernel (audit) */
	NK_VMM_SECCOMP_OFF,     /* NOOK_VMM_SECCOMP=off */
};

struct nk_vm_sandbox {
	struct nk_cgroup cg;
	int cg_created, cg_joined;
	struct nk_limits limits;        /* what the group got */
	int ipc_ns;                     /* the monitor has its own IPC namespace */
	enum nk_vmm_seccomp_mode mode;
	struct nk_seccomp_prog prog;    /* compiled before the VM is built */
	int fault_fd;                   /* written (8 bytes) when a VMM thread is stopped by the filter */
};

/* Join the instance's cgroup (created, limits written, this whole process moved in) and
 * unshare the IPC namespace. Before the guest's memory exists, so the group is charged
 * for it. */
int nk_vm_sandbox_enter(struct nk_vm_sandbox *sb, const struct nk_paths *paths, const char *instance,
			uint64_t guest_mem, unsigned vcpus, struct nk_err *err) NK_MUST_CHECK;

/* The VMM threads' filter (enforce: forbidden calls trap; log: they are logged). */
int nk_vm_sandbox_compile(enum nk_vmm_seccomp_mode mode, struct nk_seccomp_prog *prog,
			  struct nk_err *err) NK_MUST_CHECK;

/* Compile the VMM threads' filter and install the SIGSYS handler that reports a forbidden
 * call by writing to fault_fd (an eventfd the monitor polls). One VM per process. */
int nk_vm_sandbox_seccomp_prepare(struct nk_vm_sandbox *sb, int fault_fd, struct nk_err *err) NK_MUST_CHECK;

/* struct nk_vm_config's thread_enter: the filter on the calling thread (no TSYNC: the
 * monitor's own thread stays as it was). opaque is the struct nk_vm_sandbox. */
int nk_vm_sandbox_thread_enter(void *opaque, const char *thread, struct nk_err *err);

/* After fault_fd fired: whether a VMM thread was stopped, and the words for the state
 * ("the VMM's io thread made a forbidden system call: socket (41)"). The thread that
 * made it is parked for good: do not join the VMM, exit the process instead. */
int nk_vm_sandbox_faulted(const struct nk_vm_sandbox *sb, char *detail, size_t size);

/* Leave the group (to the hierarchy's root), so that removing it kills nothing of ours;
 * then nk_cgroup_cleanup may remove it. */
void nk_vm_sandbox_leave(struct nk_vm_sandbox *sb);
/* Leave, remove the group, free the filter. */
void nk_vm_sandbox_destroy(struct nk_vm_sandbox *sb);

/* {"cgroup": "nook/NAME", "cgroup_layout": "v1", "memory_limit_bytes": N,
 *  "cpu_quota_us": N, "cpu_period_us": N, "namespaces": ["ipc"],
 *  "seccomp": "enforce"|"log"|"off", "seccomp_rules": N, "seccomp_scope": "vmm-threads"} */
json_object *nk_vm_sandbox_json(const struct nk_vm_sandbox *sb);

#endif
