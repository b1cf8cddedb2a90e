/* Unit tests for seccomp: Docker-format loading, compiled outcomes in real children, teach mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/seccomp.h"
#include "core/util.h"

#define DEFAULT_JSON "profiles/seccomp/default.json"
#define STRICT_JSON "profiles/seccomp/strict.json"
#define CAP(c) (1ull << (c))
#define CAP_SYS_ADMIN_BIT 21
#define CAP_SYS_CHROOT_BIT 18
#define X32_BIT 0x40000000

/* What a child tries, each with harmless arguments: the test runs as root, so a call the filter
 * lets through fails on its arguments (ENOENT, EFAULT, EINVAL...), never with EPERM. */
enum probe {
	P_GETPID, P_MOUNT, P_UMOUNT2, P_UNSHARE_USER, P_SETNS, P_KEYCTL, P_ADD_KEY, P_PTRACE, P_KEXEC_LOAD,
	P_INIT_MODULE, P_FINIT_MODULE, P_DELETE_MODULE, P_REBOOT, P_OPEN_BY_HANDLE_AT, P_BPF, P_PERF_EVENT_OPEN,
	P_USERFAULTFD, P_PERSONALITY_BSD, P_PERSONALITY_QUERY, P_CLOCK_SETTIME, P_SETTIMEOFDAY, P_SWAPON,
	P_PIVOT_ROOT, P_CHROOT, P_ACCT, P_QUOTACTL, P_CLONE3, P_CLONE_NEWUSER, P_FORK, P_I386_GETPID, P_I386_MOUNT,
	P_I386_CHROOT, NPROBES
};

/* The calls the issue lists as refused under `default` without extra capabilities. */
static const enum probe refused_by_default[] = {
    P_MOUNT,   P_UMOUNT2,         P_UNSHARE_USER, P_SETNS,          P_KEYCTL,          P_ADD_KEY,
    P_KEXEC_LOAD, P_INIT_MODULE,  P_FINIT_MODULE, P_DELETE_MODULE,  P_REBOOT,          P_OPEN_BY_HANDLE_AT,
    P_BPF,     P_PERF_EVENT_OPEN, P_USERFAULTFD,  P_PERSONALITY_BSD, P_CLOCK_SETTIME,  P_SETTIMEOFDAY,
    P_SWAPON,  P_PIVOT_ROOT,      P_ACCT,         P_QUOTACTL,       P_CLONE_NEWUSER,
};

#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}
#endif

/* 0 on success, else the errno; only raw syscalls, nothing that allocates. */
static int probe(enum probe p)
{
	long r = 0;
	switch (p) {
	case P_GETPID: r = syscall(SYS_getpid) > 0 ? 0 : -1; break;
	case P_MOUNT: r = syscall(SYS_mount, "none", "/nonexistent-nook", "tmpfs", 0, NULL); break;
	case P_UMOUNT2: r = syscall(SYS_umount2, "/nonexistent-nook", 0); break;
	case P_UNSHARE_USER: r = syscall(SYS_unshare, CLONE_NEWUSER); break;
	case P_SETNS: r = syscall(SYS_setns, -1, 0); break;
	case P_KEYCTL: r = syscall(SYS_keyctl, -1, 0, 0, 0, 0); break;
	case P_ADD_KEY: r = syscall(SYS_add_key, NULL, NULL, NULL, 0, 0); break;
	case P_PTRACE: r = syscall(SYS_ptrace, 7 /* PTRACE_CONT */, 999999999, 0, 0); break;
	case P_KEXEC_LOAD: r = syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000ul); break;
	case P_INIT_MODULE: r = syscall(SYS_init_module, NULL, 0, ""); break;
	case P_FINIT_MODULE: r = syscall(SYS_finit_module, -1, "", 0); break;
	case P_DELETE_MODULE: r = syscall(SYS_delete_module, "nook_no_such_module", O_NONBLOCK); break;
	case P_REBOOT: r = syscall(SYS_reboot, 0, 0, 0, NULL); break;
	case P_OPEN_BY_HANDLE_AT: r = syscall(SYS_open_by_handle_at, -1, NULL, 0); break;
	case P_BPF: r = syscall(SYS_bpf, -1, NULL, 0); break;
	case P_PERF_EVENT_OPEN: r = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); break;
	case P_USERFAULTFD: r = syscall(SYS_userfaultfd, ~0u); break;
	case P_PERSONALITY_BSD: r = syscall(SYS_personality, 6 /* PER_BSD */) < 0 ? -1 : 0; break;
	case P_PERSONALITY_QUERY: r = syscall(SYS_personality, 0xffffffffu) < 0 ? -1 : 0; break;
	case P_CLOCK_SETTIME: r = syscall(SYS_clock_settime, CLOCK_REALTIME, NULL); break;
	case P_SETTIMEOFDAY: r = syscall(SYS_settimeofday, NULL, (void *)1); break;
	case P_SWAPON: r = syscall(SYS_swapon, "/nonexistent-nook", 0); break;
	case P_PIVOT_ROOT: r = syscall(SYS_pivot_root, "/nonexistent-nook", "/nonexistent-nook"); break;
	case P_CHROOT: r = syscall(SYS_chroot, "/nonexistent-nook"); break;
	case P_ACCT: r = syscall(SYS_acct, "/nonexistent-nook/acct"); break;
	case P_QUOTACTL: r = syscall(SYS_quotactl, 0, NULL, 0, NULL); break;
	case P_CLONE3: r = syscall(SYS_clone3, NULL, 0); break;
	case P_CLONE_NEWUSER:
	case P_FORK: {
		r = syscall(SYS_clone, (p == P_FORK ? 0 : CLONE_NEWUSER) | SIGCHLD, 0, NULL, NULL, 0);
		if (r == 0)
			syscall(SYS_exit_group, 0);
		if (r > 0) {
			syscall(SYS_wait4, r, NULL, 0, NULL);
			r = 0;
		}
		break;
	}
#if defined(__x86_64__)
	case P_I386_GETPID: r = int80(20, 0, 0, 0); return r > 0 ? 0 : (int)-r;
	case P_I386_MOUNT: r = int80(21, 0, 0, 0); return r >= 0 ? 0 : (int)-r;
	case P_I386_CHROOT: r = int80(61, 0, 0, 0); return r >= 0 ? 0 : (int)-r;
#else
	case P_I386_GETPID: case P_I386_MOUNT: case P_I386_CHROOT: return ENOSYS;
#endif
	case NPROBES: break;
	}
	return r < 0 ? errno : 0;
}

struct outcome {
	int status;        /* waitpid status of the child */
	int err[NPROBES];  /* 0 or errno, per probe */
};

/* Leave a filtered child without the sanitizers' exit hooks (they make calls the filter may refuse,
 * and run before any noreturn call, so no _exit() here). */
static void raw_exit(int code)
{
	for (;;)
		syscall(SYS_exit_group, code);
}

/* Fork; the child sets no_new_privs, installs prog, runs every probe and reports on a pipe. */
static void run_probes(const struct nk_seccomp_prog *prog, struct outcome *out)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nk_err err;
		int res[NPROBES], listener;
		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || nk_seccomp_install(prog, &listener, &err) < 0)
			_exit(100);
		for (int p = 0; p < NPROBES; p++)
			res[p] = probe((enum probe)p);
		raw_exit(write(fds[1], res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 101);
	}
	close(fds[1]);
	memset(out, 0xff, sizeof(*out));
	ssize_t n = read(fds[0], out->err, sizeof(out->err));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &out->status, 0), pid);
	if (n != (ssize_t)sizeof(out->err))
		fail_msg("probe child reported %zd bytes, status 0x%x", n, out->status);
}

static int int80_works(void)
{
#if defined(__x86_64__)
	pid_t pid = fork();
	if (pid == 0)
		_exit(int80(20, 0, 0, 0) == syscall(SYS_getpid) ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
#else
	return 0;
#endif
}

static void compile(const char *path, uint64_t caps, unsigned flags, struct nk_seccomp_prog *prog)
{
	struct nk_err err = {0};
	if (nk_seccomp_compile_file(path, caps, flags, prog, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(prog->filter);
	assert_true(prog->len > 10);
}

static uint32_t eval(const struct nk_seccomp_prog *p, uint32_t arch, int nr, uint64_t a0)
{
	uint64_t args[6] = {a0, 0, 0, 0, 0, 0};
	uint32_t ret = 0;
	assert_int_equal(nk_seccomp_prog_eval(p, arch, nr, args, &ret), 0);
	return ret;
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))

static void default_refuses_what_docker_refuses(void **state)
{
	(void)state;
	struct nk_seccomp_prog prog;
	struct outcome o;
	uint64_t docker = 0;
	for (size_t i = 0; nk_caps_default[i]; i++)
		docker |= CAP(nk_cap_from_name(nk_caps_default[i]));
	compile(DEFAULT_JSON, docker, 0, &prog);
	assert_int_equal(prog.has_notify, 0);
	assert_int_equal(prog.warning_count, 0);
	run_probes(&prog, &o);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0);
	assert_int_equal(o.err[P_GETPID], 0);
	assert_int_equal(o.err[P_FORK], 0);
	assert_int_equal(o.err[P_PERSONALITY_QUERY], 0);
	for (size_t i = 0; i < NK_ARRAY_SIZE(refused_by_default); i++)
		if (o.err[refused_by_default[i]] != EPERM)
			fail_msg("probe %d: errno %d, expected EPERM", refused_by_default[i], o.err[refused_by_default[i]]);
	assert_int_equal(o.err[P_CLONE3], ENOSYS);
	/* As in Docker: chroot with CAP_SYS_CHROOT (the default set has it) and ptrace stay allowed. */
	assert_int_equal(o.err[P_CHROOT], ENOENT);
	assert_int_equal(o.err[P_PTRACE], ESRCH);
	if (int80_works()) {
		/* No sub-architecture listed: the i386 ABI answers ENOSYS, like a kernel without it. */
		assert_int_equal(o.err[P_I386_GETPID], ENOSYS);
		assert_int_equal(o.err[P_I386_MOUNT], ENOSYS);
	}
	/* x32 (this kernel may not even have it): the filter itself refuses the x32 bit. */
	assert_int_equal(eval(&prog, 0, SYS_getpid | X32_BIT, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(eval(&prog, AUDIT_ARCH_I386, 20, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(eval(&prog, 0, SYS_getpid, 0), SECCOMP_RET_ALLOW);
	nk_seccomp_prog_free(&prog);
}

static void strict_refuses_all_of_them(void **state)
{
	(void)state;
	struct nk_seccomp_prog prog;
	struct outcome o;
	compile(STRICT_JSON, ~0ull, 0, &prog); /* even with every capability */
	run_probes(&prog, &o);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0);
	assert_int_equal(o.err[P_GETPID], 0);
	assert_int_equal(o.err[P_FORK], 0);
	for (size_t i = 0; i < NK_ARRAY_SIZE(refused_by_default); i++)
		if (o.err[refused_by_default[i]] != EPERM)
			fail_msg("probe %d: errno %d, expected EPERM", refused_by_default[i], o.err[refused_by_default[i]]);
	assert_int_equal(o.err[P_CHROOT], EPERM);
	assert_int_equal(o.err[P_PTRACE], EPERM);
	assert_int_equal(o.err[P_PERSONALITY_QUERY], EPERM);
	assert_int_equal(o.err[P_CLONE3], ENOSYS);
	if (int80_works())
		assert_int_equal(o.err[P_I386_CHROOT], ENOSYS);
	nk_seccomp_prog_free(&prog);
}

/* busybox and coreutils run under strict: the allowlist is enough for simple programs. */
static void strict_runs_shell_and_coreutils(void **state)
{
	(void)state;
	static const char *const cmds[][4] = {
	    {"/bin/busybox", "sh", "-c", "x=$(echo hi | busybox cat); [ \"$x\" = hi ] && busybox ls / | busybox grep -qx etc && busybox wc -l /etc/passwd && busybox sleep 0"},
	    {"/bin/sh", "-c", "ls -la / && cat /etc/passwd | wc -l && id && date && touch -c /nonexistent-nook", NULL},
	};
	struct nk_seccomp_prog prog;
	compile(STRICT_JSON, 0, 0, &prog);
	for (size_t i = 0; i < NK_ARRAY_SIZE(cmds); i++) {
		if (access(cmds[i][0], X_OK) != 0) {
			fprintf(stderr, "skip: %s is not installed\n", cmds[i][0]);
			continue;
		}
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct nk_err err;
			int null = open("/dev/null", O_WRONLY), listener;
			dup2(null, 1);
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || nk_seccomp_install(&prog, &listener, &err) < 0)
				_exit(100);
			execv(cmds[i][0], (char *const *)cmds[i]);
			raw_exit(127);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("%s %s: status 0x%x under strict", cmds[i][0], cmds[i][1], st);
	}
	nk_seccomp_prog_free(&prog);
}

static void includes_and_excludes_follow_caps(void **state)
{
	(void)state;
	struct nk_seccomp_prog none, admin, chroot_only;
	compile(DEFAULT_JSON, 0, 0, &none);
	compile(DEFAULT_JSON, CAP(CAP_SYS_ADMIN_BIT), 0, &admin);
	compile(DEFAULT_JSON, CAP(CAP_SYS_CHROOT_BIT), 0, &chroot_only);
	assert_int_equal(eval(&none, 0, SYS_mount, 0), RET_ERRNO(EPERM));
	assert_int_equal(eval(&admin, 0, SYS_mount, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, SYS_clone3, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(eval(&admin, 0, SYS_clone3, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, SYS_clone, SIGCHLD), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, SYS_clone, CLONE_NEWUSER | SIGCHLD), RET_ERRNO(EPERM));
	assert_int_equal(eval(&none, 0, SYS_clone, CLONE_NEWNET), RET_ERRNO(EPERM));
	assert_int_equal(eval(&admin, 0, SYS_clone, CLONE_NEWUSER | SIGCHLD), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, SYS_chroot, 0), RET_ERRNO(EPERM));
	assert_int_equal(eval(&chroot_only, 0, SYS_chroot, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, SYS_personality, 8), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, SYS_personality, 6), RET_ERRNO(EPERM));
	assert_int_equal(eval(&none, 0, SYS_socket, 40 /* AF_VSOCK */), RET_ERRNO(EPERM));
	assert_int_equal(eval(&none, 0, SYS_socket, 2 /* AF_INET */), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, 452 /* fchmodat2, newer than some libseccomp */, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, 462 /* mseal: nook's own table */, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&none, 0, 999, 0), RET_ERRNO(EPERM));
	nk_seccomp_prog_free(&none);
	nk_seccomp_prog_free(&admin);
	nk_seccomp_prog_free(&chroot_only);
}

static int compile_text(const char *json, uint64_t caps, unsigned flags, struct nk_seccomp_prog *prog,
			struct nk_err *err)
{
	nk_err_clear(err);
	return nk_seccomp_compile(json, strlen(json), "test.json", caps, flags, prog, err);
}

/* An i386 sub-architecture the profile lists gets the same rules; a killing default kills. */
static void listed_sub_architectures_and_killing_default(void **state)
{
	(void)state;
	struct nk_err err;
	struct nk_seccomp_prog prog;
	struct outcome o;
	const char *with_i386 = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
				"\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], \"syscalls\": [{\"names\": [\"getpid\", \"write\", "
				"\"exit_group\", \"clone\", \"wait4\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
	if (compile_text(with_i386, 0, 0, &prog, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(eval(&prog, AUDIT_ARCH_I386, 20, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&prog, AUDIT_ARCH_I386, 21, 0), RET_ERRNO(EPERM));
	assert_int_equal(eval(&prog, 0, SYS_getpid | X32_BIT, 0), SECCOMP_RET_ALLOW);
	if (int80_works()) {
		run_probes(&prog, &o);
		assert_int_equal(o.err[P_I386_GETPID], 0);
		assert_int_equal(o.err[P_I386_MOUNT], EPERM);
	}
	nk_seccomp_prog_free(&prog);

	const char *killing = "{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\", \"syscalls\": [{\"names\": [\"getpid\", "
			      "\"write\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
	if (compile_text(killing, 0, 0, &prog, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(eval(&prog, AUDIT_ARCH_I386, 20, 0), SECCOMP_RET_KILL_PROCESS);
	if (int80_works()) {
		pid_t pid = fork();
		if (pid == 0) {
			int listener;
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || nk_seccomp_install(&prog, &listener, &err) < 0)
				_exit(100);
#if defined(__x86_64__)
			int80(20, 0, 0, 0);
#endif
			syscall(SYS_exit_group, 0);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSYS);
	}
	nk_seccomp_prog_free(&prog);
}

static void malformed_profiles_name_file_and_key(void **state)
{
	(void)state;
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [", "test.json: 1:50: invalid JSON: unexpected end"},
	    {"{\n\"defaultAction\": \"SCMP_ACT_ERRNO\",\n  x\n}", "test.json: 3:3: invalid JSON"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\"} {}", "test.json: 1:37: invalid JSON: unexpected character"},
	    {"[]", "test.json: expected a JSON object"},
	    {"{}", "test.json: defaultAction: missing"},
	    {"{\"defaultAction\": 5}", "test.json: defaultAction: expected a string, found int"},
	    {"{\"defaultAction\": \"SCMP_ACT_FOO\"}", "test.json: defaultAction: unknown action SCMP_ACT_FOO"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"sycalls\": []}", "test.json: unknown key \"sycalls\""},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}", "defaultErrnoRet: 5000 is out of range"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}", "defaultErrnoRet: only SCMP_ACT_ERRNO"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": {}}", "test.json: syscalls: expected an array, found object"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_FOO\"}]}",
	     "test.json: syscalls[0].action: unknown action SCMP_ACT_FOO"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"getpid\"]}, {\"names\": [\"getpid\", "
	     "\"no_such_call\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "test.json: syscalls[0].action: missing"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"getpid\", \"no_such_call\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "test.json: syscalls[0].names[1]: unknown syscall \"no_such_call\""},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": \"getpid\", \"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "test.json: syscalls[0].names: expected an array, found string"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [7], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "test.json: syscalls[0].names[0]: expected a string, found int"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "test.json: syscalls[0]: no syscall names"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"includes\": {\"caps\": [\"CAP_FLY\"]}}]}",
	     "test.json: syscalls[0].includes.caps[0]: unknown capability CAP_FLY"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"excludes\": {\"arches\": [\"vax\"]}}]}",
	     "test.json: syscalls[0].excludes.arches[0]: unknown architecture vax"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"includes\": {\"minKernel\": \"four\"}}]}",
	     "test.json: syscalls[0].includes.minKernel: expected a kernel version"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"errnoRet\": 1}]}",
	     "test.json: syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	     "test.json: syscalls[0].args[0].index: 6 is out of range"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	     "test.json: syscalls[0].args[0].value: expected a non-negative integer, found -1"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}",
	     "test.json: syscalls[0].args[0].op: unknown operator SCMP_CMP_ABOUT"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
	     "\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\", \"mask\": 3}]}]}",
	     "test.json: syscalls[0].args[0]: unknown key \"mask\""},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{\"architecture\": \"SCMP_ARCH_Z80\"}]}",
	     "test.json: archMap[0].architecture: unknown architecture SCMP_ARCH_Z80"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"x86_64\"]}",
	     "test.json: architectures[0]: unknown architecture x86_64"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"flags\": [\"SECCOMP_FILTER_FLAG_FAST\"]}",
	     "test.json: flags[0]: unknown flag SECCOMP_FILTER_FLAG_FAST"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"write\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
	     "test.json: syscalls[0].names[0]: write cannot be SCMP_ACT_NOTIFY"},
	};
	for (size_t i = 0; i < NK_ARRAY_SIZE(cases); i++) {
		struct nk_err err;
		struct nk_seccomp_prog prog;
		int r = compile_text(cases[i].json, 0, 0, &prog, &err);
		if (r == 0)
			fail_msg("case %zu compiled, expected \"%s\"", i, cases[i].want);
		assert_int_equal(r, -EINVAL);
		assert_null(prog.filter);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err.msg, cases[i].want);
	}
	/* A file's messages carry its base name. */
	struct nk_err err = {0};
	struct nk_seccomp_prog prog;
	char path[] = "/tmp/nook-seccomp-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"defaultAction\": 1}", 20), 20);
	close(fd);
	assert_int_equal(nk_seccomp_compile_file(path, 0, 0, &prog, &err), -EINVAL);
	assert_non_null(strstr(err.msg, strrchr(path, '/') + 1));
	assert_non_null(strstr(err.msg, ": defaultAction: expected a string"));
	unlink(path);
	assert_true(nk_seccomp_compile_file("/nonexistent/x.json", 0, 0, &prog, &err) < 0);
}

static void unknown_names_and_other_arches(void **state)
{
	(void)state;
	struct nk_err err;
	struct nk_seccomp_prog prog;
	/* A name for another architecture's entry need not be known here. */
	const char *foreign = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"zz_s390_only\"], "
			      "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": [\"s390x\"]}}, {\"names\": "
			      "[\"getpid\", \"chown32\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
	assert_int_equal(compile_text(foreign, 0, 0, &prog, &err), 0);
	nk_seccomp_prog_free(&prog);
	/* Lenient: an unknown name in an allow rule is a warning (the call stays refused)... */
	const char *allow = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"getpid\", "
			    "\"zz_future_call\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
	assert_int_equal(compile_text(allow, 0, 0, &prog, &err), -EINVAL);
	assert_int_equal(compile_text(allow, 0, NK_SECCOMP_LENIENT_NAMES, &prog, &err), 0);
	assert_int_equal(prog.warning_count, 1);
	assert_non_null(strstr(prog.warnings, "test.json: syscalls[0].names[1]: unknown syscall \"zz_future_call\""));
	nk_seccomp_prog_free(&prog);
	/* ...but never a deny rule under an allowing default: it could not be enforced. */
	const char *deny = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"zz_future_call\"], "
			   "\"action\": \"SCMP_ACT_ERRNO\"}]}";
	assert_int_equal(compile_text(deny, 0, NK_SECCOMP_LENIENT_NAMES, &prog, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown syscall \"zz_future_call\""));
	/* A denylist profile: what it names is refused, the rest allowed, foreign ABIs refused. */
	const char *denylist = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"name\": \"mount\", "
			       "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}";
	assert_int_equal(compile_text(denylist, 0, 0, &prog, &err), 0);
	assert_int_equal(eval(&prog, 0, SYS_mount, 0), RET_ERRNO(EACCES));
	assert_int_equal(eval(&prog, 0, SYS_getpid, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(eval(&prog, AUDIT_ARCH_I386, 20, 0), RET_ERRNO(ENOSYS));
	nk_seccomp_prog_free(&prog);
}

static void syscall_names(void **state)
{
	(void)state;
	char buf[40];
	assert_string_equal(nk_seccomp_syscall_name(0, SYS_mount, buf, sizeof(buf)), "mount");
	assert_string_equal(nk_seccomp_syscall_name(AUDIT_ARCH_I386, 21, buf, sizeof(buf)), "mount");
	assert_string_equal(nk_seccomp_syscall_name(AUDIT_ARCH_X86_64, 462, buf, sizeof(buf)), "mseal");
	assert_string_equal(nk_seccomp_syscall_name(0, 99999, buf, sizeof(buf)), "syscall_99999");
	assert_int_equal(nk_seccomp_syscall_nr(0, "getpid"), SYS_getpid);
	assert_int_equal(nk_seccomp_syscall_nr(0, "mseal"), 462);
	assert_int_equal(nk_seccomp_syscall_nr(0, "no_such_call"), -1);
	assert_true(nk_seccomp_syscall_nr(0, "chown32") < -1); /* exists, on i386 only */
}

/* Teach: denied calls reach the monitor, which answers EPERM; ENOSYS rules and the listener
 * hand-over (write, read, close) are left alone. */
static void teach_mode_notifies(void **state)
{
	(void)state;
	struct nk_seccomp_prog prog;
	compile(DEFAULT_JSON, 0, NK_SECCOMP_TEACH, &prog);
	assert_int_equal(prog.has_notify, 1);
	assert_int_equal(eval(&prog, 0, SYS_mount, 0), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(eval(&prog, 0, SYS_clone3, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(eval(&prog, 0, SYS_getpid, 0), SECCOMP_RET_ALLOW);
	struct nk_err err;
	assert_int_equal(nk_seccomp_install(&prog, NULL, &err), -EINVAL);

	/* Hand-over calls a profile does not mention keep its own answer instead of notifying... */
	struct nk_seccomp_prog quiet;
	const char *no_write = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"getpid\"], "
			       "\"action\": \"SCMP_ACT_ALLOW\"}]}";
	assert_int_equal(compile_text(no_write, 0, NK_SECCOMP_TEACH, &quiet, &err), 0);
	assert_int_equal(eval(&quiet, 0, SYS_write, 1), RET_ERRNO(EPERM));
	assert_int_equal(eval(&quiet, 0, SYS_mount, 0), SECCOMP_RET_USER_NOTIF);
	nk_seccomp_prog_free(&quiet);
	/* ...and one allowed only for some arguments cannot be exempted: refused, not a hang. */
	const char *cond_read = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
				"\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 8, \"op\": "
				"\"SCMP_CMP_EQ\"}]}]}";
	assert_int_equal(compile_text(cond_read, 0, 0, &quiet, &err), 0);
	nk_seccomp_prog_free(&quiet);
	assert_int_equal(compile_text(cond_read, 0, NK_SECCOMP_TEACH, &quiet, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "test.json: teach mode: read has only argument-conditional rules"));

	int up[2], down[2];
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int listener = -1, res[3];
		char ack;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || nk_seccomp_install(&prog, &listener, &err) < 0)
			_exit(100);
		/* The hand-over: say which fd, wait until the monitor took it, close ours. */
		if (write(up[1], &listener, sizeof(listener)) != sizeof(listener) || read(down[0], &ack, 1) != 1)
			raw_exit(101);
		close(listener);
		res[0] = probe(P_MOUNT);
		res[1] = probe(P_CLONE3);
		res[2] = probe(P_GETPID);
		raw_exit(write(up[1], res, sizeof(res)) == sizeof(res) ? 0 : 102);
	}
	int child_fd;
	assert_int_equal(read(up[0], &child_fd, sizeof(child_fd)), sizeof(child_fd));
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	int listener = (int)syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
	assert_true(listener >= 0);
	close(pidfd);
	assert_int_equal(write(down[1], "k", 1), 1);

	struct pollfd pfd = {.fd = listener, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	struct nk_seccomp_event ev;
	assert_int_equal(nk_seccomp_notify_answer(listener, EPERM, &ev, &err), 0);
	assert_string_equal(ev.name, "mount");
	assert_int_equal(ev.nr, SYS_mount);
	assert_int_equal(ev.pid, (uint32_t)pid);
	assert_int_equal(ev.arch, AUDIT_ARCH_X86_64);
	assert_string_equal((const char *)(uintptr_t)ev.args[2], "tmpfs"); /* same address space after fork */

	int res[3];
	assert_int_equal(read(up[0], res, sizeof(res)), sizeof(res));
	assert_int_equal(res[0], EPERM);
	assert_int_equal(res[1], ENOSYS);
	assert_int_equal(res[2], 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(listener);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	nk_seccomp_prog_free(&prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(default_refuses_what_docker_refuses),
	    cmocka_unit_test(strict_refuses_all_of_them),
	    cmocka_unit_test(strict_runs_shell_and_coreutils),
	    cmocka_unit_test(includes_and_excludes_follow_caps),
	    cmocka_unit_test(listed_sub_architectures_and_killing_default),
	    cmocka_unit_test(malformed_profiles_name_file_and_key),
	    cmocka_unit_test(unknown_names_and_other_arches),
	    cmocka_unit_test(syscall_names),
	    cmocka_unit_test(teach_mode_notifies),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
