/* The VMM's own sandbox: cgroup, IPC namespace, and a per-thread seccomp filter whose
 * violations stop the VM with the call's name instead of killing the monitor silently. */
#include "vm-sandbox.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* What the VMM's threads do once the VM is built: the vCPU run loop (KVM_RUN, exits to the
 * device models), the I/O thread (poll, eventfds, tap, disk, entropy), the console writer,
 * thread wake-ups and a thread's own exit. Found by running the test guest's every check
 * under NOOK_VMM_SECCOMP=log (docs/vmm.md). No open, socket, exec, clone, mount, ptrace,
 * kill, not even exit_group: a VMM thread cannot end the monitor without a reason. */
static const char *const allowed[] = {
	/* I/O on fds the VMM already holds */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "fdatasync", "fsync", "poll", "ppoll",
	/* virtio-rng */
	"getrandom",
	/* threads: locks, kicks (pthread_kill is getpid + tgkill under a blocked mask), exit */
	"futex", "tgkill", "getpid", "gettid", "rt_sigprocmask", "rt_sigreturn", "restart_syscall",
	"sched_yield", "exit", "madvise",
	/* time (normally the vDSO) */
	"clock_gettime",
	/* malloc: never executable memory (mmap/mprotect are restricted below) */
	"brk", "munmap",
};

/* The ioctls of a running VM: enter the guest, raise and lower interrupt lines, and
 * describe a vCPU that crashed (registers, code bytes). */
static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, KVM_GET_REGS, KVM_GET_SREGS, KVM_TRANSLATE,
};

static struct {
	atomic_int set;
	int nr;
	char thread[24];
	int fd;
} fault = {.fd = -1};

static _Thread_local char thread_name[24];
static int park_word;

/* SIGSYS from the filter, on the VMM thread that made the call. Async-signal-safe: record,
 * wake the monitor, then park this thread for good (it may be mid-way through a device
 * model, with a lock held: it must not run on). The monitor records the reason and exits,
 * which ends every thread. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (!atomic_exchange(&fault.set, 1)) {
		fault.nr = si->si_syscall;
		for (size_t i = 0; i + 1 < sizeof(fault.thread) && thread_name[i]; i++)
			fault.thread[i] = thread_name[i];
		uint64_t one = 1;
		(void)!write(fault.fd, &one, sizeof(one));
	}
	for (;;)
		syscall(SYS_futex, &park_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void add_rule(json_object *syscalls, const char *name, int arg, unsigned long mask, unsigned long value,
		     const char *op)
{
	json_object *e = json_object_new_object(), *names = json_object_new_array();
	json_object_array_add(names, json_object_new_string(name));
	json_object_object_add(e, "names", names);
	json_object_object_add(e, "action", json_object_new_string("SCMP_ACT_ALLOW"));
	if (arg >= 0) {
		json_object *args = json_object_new_array(), *a = json_object_new_object();
		json_object_object_add(a, "index", json_object_new_int(arg));
		json_object_object_add(a, "value", json_object_new_uint64(mask));
		json_object_object_add(a, "valueTwo", json_object_new_uint64(value));
		json_object_object_add(a, "op", json_object_new_string(op));
		json_object_array_add(args, a);
		json_object_object_add(e, "args", args);
	}
	json_object_array_add(syscalls, e);
}

/* The filter as a profile in the same (Docker) format as the containers' ones, so one
 * compiler builds both: native ABI only, the default action traps. */
static char *profile_json(enum nk_vmm_seccomp_mode mode)
{
	json_object *root = json_object_new_object(), *arches = json_object_new_array();
	json_object *syscalls = json_object_new_array();
	json_object_object_add(root, "defaultAction",
			       json_object_new_string(mode == NK_VMM_SECCOMP_LOG ? "SCMP_ACT_LOG" : "SCMP_ACT_TRAP"));
	json_object_array_add(arches, json_object_new_string("SCMP_ARCH_X86_64"));
	json_object_object_add(root, "architectures", arches);
	for (size_t i = 0; i < NK_ARRAY_SIZE(allowed); i++)
		add_rule(syscalls, allowed[i], -1, 0, 0, NULL);
	for (size_t i = 0; i < NK_ARRAY_SIZE(allowed_ioctls); i++)
		add_rule(syscalls, "ioctl", 1, allowed_ioctls[i], 0, "SCMP_CMP_EQ");
	/* glibc's malloc maps and grows arenas: allowed, but never PROT_EXEC. */
	add_rule(syscalls, "mmap", 2, PROT_EXEC, 0, "SCMP_CMP_MASKED_EQ");
	add_rule(syscalls, "mprotect", 2, PROT_EXEC, 0, "SCMP_CMP_MASKED_EQ");
	json_object_object_add(root, "syscalls", syscalls);
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	char *out = text ? strdup(text) : NULL;
	json_object_put(root);
	return out;
}

uint64_t nk_vm_sandbox_memory_limit(uint64_t guest_mem)
{
	return guest_mem + NK_VMM_MEM_OVERHEAD + (guest_mem >> NK_VMM_MEM_OVERHEAD_SHIFT);
}

static enum nk_vmm_seccomp_mode mode_from_env(void)
{
	const char *v = getenv("NOOK_VMM_SECCOMP");
	if (v && !strcmp(v, "log"))
		return NK_VMM_SECCOMP_LOG;
	if (v && !strcmp(v, "off"))
		return NK_VMM_SECCOMP_OFF;
	return NK_VMM_SECCOMP_ENFORCE;
}

int nk_vm_sandbox_enter(struct nk_vm_sandbox *sb, const struct nk_paths *paths, const char *instance,
			uint64_t guest_mem, unsigned vcpus, struct nk_err *err)
{
	memset(sb, 0, sizeof(*sb));
	sb->fault_fd = -1;
	sb->mode = mode_from_env();
	int r = nk_cgroup_init(&sb->cg, paths, instance, err);
	if (r < 0)
		return r;
	sb->limits.memory = nk_vm_sandbox_memory_limit(guest_mem);
	sb->limits.cpu_quota_us = (uint64_t)(vcpus ? vcpus : 1) * NK_CPU_PERIOD_US;
	if ((r = sb->cg.ops->create(&sb->cg, err)) < 0)
		return nk_err_prefix(err, "the VMM's cgroup");
	sb->cg_created = 1;
	if ((r = sb->cg.ops->set_limits(&sb->cg, &sb->limits, err)) < 0 ||
	    (r = nk_cgroup_join(&sb->cg, err)) < 0)
		return nk_err_prefix(err, "the VMM's cgroup");
	sb->cg_joined = 1;
	/* The VMM needs no System V or POSIX IPC: nothing of the host's to see there. A mount
	 * namespace would change nothing the filter does not already forbid (no open, no
	 * mount), and the monitor's own thread needs the host's network namespace (taps,
	 * port forwarding) and file system (state, cgroups, logs). */
	if (unshare(CLONE_NEWIPC) == 0)
		sb->ipc_ns = 1;
	return 0;
}

int nk_vm_sandbox_compile(enum nk_vmm_seccomp_mode mode, struct nk_seccomp_prog *prog, struct nk_err *err)
{
	nk_autofree char *json = profile_json(mode);
	if (!json)
		return nk_err_set(err, ENOMEM, "building the VMM's seccomp filter");
	return nk_seccomp_compile(json, strlen(json), "the VMM's filter", ~0ull, 0, prog, err);
}

int nk_vm_sandbox_seccomp_prepare(struct nk_vm_sandbox *sb, int fault_fd, struct nk_err *err)
{
	if (sb->mode == NK_VMM_SECCOMP_OFF)
		return 0;
	int r = nk_vm_sandbox_compile(sb->mode, &sb->prog, err);
	if (r < 0)
		return r;
	sb->fault_fd = fault_fd;
	fault.fd = fault_fd;
	atomic_store(&fault.set, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return nk_err_set(err, errno, "installing the VMM's SIGSYS handler");
	return 0;
}

/* NOOK_TEST_VMM_FORBIDDEN=THREAD (tests only): that VMM thread makes a call its filter
 * forbids right after installing it, to prove a violation stops the VM with a reason. */
static void test_violation(const char *thread)
{
	const char *want = getenv("NOOK_TEST_VMM_FORBIDDEN");
	if (want && !strcmp(want, thread))
		syscall(SYS_socket, 1 /* AF_UNIX */, 2 /* SOCK_DGRAM */, 0);
}

int nk_vm_sandbox_thread_enter(void *opaque, const char *thread, struct nk_err *err)
{
	struct nk_vm_sandbox *sb = opaque;
	snprintf(thread_name, sizeof(thread_name), "%s", thread);
	if (sb->mode == NK_VMM_SECCOMP_OFF || !sb->prog.filter)
		return 0;
	/* Per thread, like the filter: the monitor's own thread keeps its privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nk_err_set(err, errno, "no_new_privs");
	int r = nk_seccomp_install(&sb->prog, NULL, err);
	if (r < 0)
		return r;
	test_violation(thread);
	return 0;
}

int nk_vm_sandbox_faulted(const struct nk_vm_sandbox *sb, char *detail, size_t size)
{
	(void)sb;
	if (!atomic_load(&fault.set))
		return 0;
	char name[40];
	nk_seccomp_syscall_name(0, fault.nr, name, sizeof(name));
	snprintf(detail, size, "the VMM's %s thread made a system call its seccomp filter forbids: %s (%d); "
			       "the VM was stopped",
		 fault.thread[0] ? fault.thread : "?", name, fault.nr);
	return 1;
}

void nk_vm_sandbox_leave(struct nk_vm_sandbox *sb)
{
	if (!sb->cg_joined)
		return;
	struct nk_cgroup root = sb->cg;
	root.relpath[0] = '\0';
	struct nk_err ignored;
	if (nk_cgroup_join(&root, &ignored) == 0)
		sb->cg_joined = 0;
}

void nk_vm_sandbox_destroy(struct nk_vm_sandbox *sb)
{
	nk_vm_sandbox_leave(sb);
	if (sb->cg_created && !sb->cg_joined) {
		struct nk_err ignored;
		(void)!nk_cgroup_cleanup(&sb->cg, &ignored);
		sb->cg_created = 0;
	}
	nk_seccomp_prog_free(&sb->prog);
}

json_object *nk_vm_sandbox_json(const struct nk_vm_sandbox *sb)
{
	static const char *const modes[] = {"enforce", "log", "off"};
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cgroup", json_object_new_string(sb->cg.relpath));
	json_object_object_add(o, "cgroup_layout", json_object_new_string(sb->cg.ops ? sb->cg.ops->layout : "-"));
	json_object_object_add(o, "memory_limit_bytes", json_object_new_uint64(sb->limits.memory));
	json_object_object_add(o, "cpu_quota_us", json_object_new_uint64(sb->limits.cpu_quota_us));
	json_object_object_add(o, "cpu_period_us", json_object_new_int(NK_CPU_PERIOD_US));
	json_object *ns = json_object_new_array();
	if (sb->ipc_ns)
		json_object_array_add(ns, json_object_new_string("ipc"));
	json_object_object_add(o, "namespaces", ns);
	json_object_object_add(o, "seccomp", json_object_new_string(modes[sb->mode]));
	json_object_object_add(o, "seccomp_rules", json_object_new_int((int)sb->prog.rules));
	json_object_object_add(o, "seccomp_scope", json_object_new_string("vmm-threads"));
	return o;
}
