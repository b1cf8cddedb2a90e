/* Unit tests for the VMM's own seccomp filter (core/vm-sandbox.c): what a VMM thread may
 * do once the VM is built, evaluated as the kernel would, and installed for real on one
 * thread of a child while its other thread keeps every call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/seccomp.h"
#include "core/vm-sandbox.h"

static uint32_t action_of(const struct nk_seccomp_prog *p, int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t args[6] = {a0, a1, a2, 0, 0, 0};
	uint32_t ret = 0;
	assert_int_equal(nk_seccomp_prog_eval(p, 0, nr, args, &ret), 0);
	return ret & SECCOMP_RET_ACTION_FULL;
}

static void test_run_loop_calls_pass_and_the_rest_trap(void **state)
{
	(void)state;
	struct nk_seccomp_prog p;
	struct nk_err err = {0};
	assert_int_equal(nk_vm_sandbox_compile(NK_VMM_SECCOMP_ENFORCE, &p, &err), 0);
	assert_true(p.rules > 20);
	/* The run loop and the device models. */
	assert_int_equal(action_of(&p, SYS_ioctl, 5, KVM_RUN, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_ioctl, 5, KVM_IRQ_LINE, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_read, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_writev, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_poll, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_futex, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_getrandom, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action_of(&p, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE), SECCOMP_RET_ALLOW);
	/* Everything that would let a broken device model reach further. */
	assert_int_equal(action_of(&p, SYS_ioctl, 5, KVM_SET_USER_MEMORY_REGION, 0), SECCOMP_RET_TRAP);
	assert_int_equal(action_of(&p, SYS_ioctl, 5, KVM_CREATE_VCPU, 0), SECCOMP_RET_TRAP);
	assert_int_equal(action_of(&p, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC), SECCOMP_RET_TRAP);
	assert_int_equal(action_of(&p, SYS_mprotect, 0, 4096, PROT_EXEC), SECCOMP_RET_TRAP);
	static const int forbidden[] = {SYS_open, SYS_openat, SYS_socket, SYS_connect, SYS_execve, SYS_clone,
					SYS_clone3, SYS_fork, SYS_kill, SYS_ptrace, SYS_mount, SYS_unshare,
					SYS_setns, SYS_exit_group, SYS_bpf, SYS_process_vm_writev};
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		assert_int_equal(action_of(&p, forbidden[i], 0, 0, 0), SECCOMP_RET_TRAP);
	nk_seccomp_prog_free(&p);
	assert_int_equal(nk_vm_sandbox_compile(NK_VMM_SECCOMP_LOG, &p, &err), 0);
	assert_int_equal(action_of(&p, SYS_socket, 0, 0, 0), SECCOMP_RET_LOG);
	assert_int_equal(action_of(&p, SYS_ioctl, 5, KVM_RUN, 0), SECCOMP_RET_ALLOW);
	nk_seccomp_prog_free(&p);
}

static struct nk_seccomp_prog thread_prog;
static volatile sig_atomic_t trapped_nr = -1;

static void on_sys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	trapped_nr = si->si_syscall;
}

static void *filtered_thread(void *arg)
{
	(void)arg;
	struct nk_err err = {0};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || nk_seccomp_install(&thread_prog, NULL, &err) < 0)
		return (void *)1;
	syscall(SYS_socket, 1, 2, 0); /* traps: SIGSYS on this thread */
	return NULL;
}

/* The filter is per thread: the thread that installed it traps on socket(), the thread
 * that made it (the monitor's own, in nook) can still open one. */
static void test_filter_is_per_thread(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's runtime makes calls of its own when a thread ends (and dies on their
	 * refusal): the filter is for the VMM, not for a sanitizer. */
	skip();
#endif
	struct nk_err err = {0};
	assert_int_equal(nk_vm_sandbox_compile(NK_VMM_SECCOMP_ENFORCE, &thread_prog, &err), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sys;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
		pthread_t t;
		void *ret;
		if (pthread_create(&t, NULL, filtered_thread, NULL) != 0 || pthread_join(t, &ret) != 0 || ret)
			_exit(2);
		if (trapped_nr != SYS_socket)
			_exit(3);
		int fd = (int)syscall(SYS_socket, 1, 2, 0);
		_exit(fd >= 0 ? 0 : 4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	nk_seccomp_prog_free(&thread_prog);
}

static void test_memory_limit_is_guest_plus_overhead(void **state)
{
	(void)state;
	uint64_t g = 256ull << 20;
	uint64_t lim = nk_vm_sandbox_memory_limit(g);
	assert_true(lim > g);
	assert_true(lim - g >= NK_VMM_MEM_OVERHEAD);
	assert_true(lim - g <= NK_VMM_MEM_OVERHEAD + (g >> 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_loop_calls_pass_and_the_rest_trap),
	    cmocka_unit_test(test_filter_is_per_thread),
	    cmocka_unit_test(test_memory_limit_is_guest_plus_overhead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
