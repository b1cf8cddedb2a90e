/* syscalls: try the calls a sandbox profile is meant to refuse, each in its own forked child,
 * and print one JSON object {"mount":"EPERM","chroot":"ok",...,"i386:mount":"ENOSYS"}.
 *   syscalls [NAME...]   only the named tests (default: all of them)
 * An outcome is "ok", an errno name, or "killed(SIGSYS)" when the child died of a signal.
 * Every call is harmless whatever the outcome: the arguments are chosen so that a call that is
 * allowed fails (EINVAL, ENOENT, EFAULT, ENODEV...) or does nothing lasting, and each runs in
 * a child that exits right after, so namespaces, chroot or personality never outlive it.
 * "i386:*" are the same calls through `int $0x80` with the i386 numbers (x86_64 only);
 * "i386:getpid" is the control that tells whether the kernel has the i386 ABI at all. */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define BAD_MAGIC2 0x0badf00d /* never LINUX_REBOOT_MAGIC2 or any of its alternatives */
#define NO_SUCH_PATH "/nonexistent-nook-probe"

/* --- native calls: each returns the syscall's result, -1 with errno set on failure ---------- */

/* An existing mount point target, a file system type nobody has: ENODEV once permitted. */
static long t_mount(void) { return mount("none", "/", "nook-probe-nofs", 0, NULL); }
/* Not a mount point: EINVAL once permitted (the capability is checked first). */
static long t_umount2(void) { return umount2("/proc/self/status", 0); }
static long t_unshare(void) { return unshare(CLONE_NEWUSER); }

static long t_setns(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return syscall(SYS_setns, fd, 0); /* our own namespace: nothing changes */
}

static long t_keyctl(void) { return syscall(SYS_keyctl, 9999, 0, 0, 0, 0); }         /* EOPNOTSUPP */
static long t_add_key(void)                                                             /* EINVAL */
{
	return syscall(SYS_add_key, "user", "nook-probe", NULL, 0, KEY_SPEC_THREAD_KEYRING);
}

static long t_ptrace_pid1(void)
{
	if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) < 0)
		return -1;
	/* Attached: take the SIGSTOP and let it go, so pid 1 runs on. */
	int st;
	waitpid(1, &st, __WALL);
	ptrace(PTRACE_DETACH, 1, NULL, NULL);
	return 0;
}

static long t_ptrace_child(void)
{
	pid_t c = fork();
	if (c < 0)
		return -1;
	if (c == 0) {
		for (;;)
			pause();
	}
	long r = ptrace(PTRACE_ATTACH, c, NULL, NULL);
	int e = errno, st;
	if (r == 0)
		waitpid(c, &st, __WALL);
	kill(c, SIGKILL);
	waitpid(c, &st, __WALL);
	errno = e;
	return r;
}

/* Flags with a foreign architecture: EINVAL once the capability check is passed. */
static long t_kexec_load(void) { return syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead8000UL); }
static long t_init_module(void) { return syscall(SYS_init_module, NULL, 0UL, ""); }
static long t_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long t_delete_module(void) { return syscall(SYS_delete_module, "nook_probe_nomod", O_NONBLOCK); }

static long t_reboot(void)
{
	/* A wrong second magic: EINVAL when permitted, and CAD_OFF in case it ever got through. */
	return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, BAD_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
}

static long t_open_by_handle_at(void)
{
	struct file_handle fh = {.handle_bytes = 0, .handle_type = 0}; /* EINVAL once permitted */
	return syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
}

static long t_bpf(void) { return syscall(SYS_bpf, 9999, NULL, 0); }                    /* EINVAL */
static long t_perf_event_open(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); } /* EFAULT */
static long t_userfaultfd(void) { return syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | 0x40000000); }
static long t_pers_query(void) { return personality(0xffffffff); }
static long t_pers_linux32(void) { return personality(PER_LINUX32); }
static long t_pers_norandom(void) { return personality(ADDR_NO_RANDOMIZE); }
static long t_pers_bsd(void) { return personality(PER_BSD); }
static long t_setuid(void) { return setuid(getuid()); }                  /* who we are already */
static long t_prctl(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); } /* a query */
static long t_socket_inet(void) { return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }
/* AF_VSOCK reaches the host: EAFNOSUPPORT when the kernel has no vsock, else a socket. */
static long t_socket_vsock(void) { return socket(40, SOCK_STREAM | SOCK_CLOEXEC, 0); }

static long t_clock_settime(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	return clock_settime(CLOCK_REALTIME, &ts); /* the time it already is */
}

static long t_settimeofday(void) { return syscall(SYS_settimeofday, NULL, NULL); }
static long t_swapon(void) { return syscall(SYS_swapon, NO_SUCH_PATH, 0); }
static long t_pivot_root(void) { return syscall(SYS_pivot_root, NO_SUCH_PATH "-new", NO_SUCH_PATH "-old"); }
static long t_chroot(void) { return chroot("/"); }
/* A path that does not exist rather than NULL (which would switch accounting off): ENOENT. */
static long t_acct(void) { return acct(NO_SUCH_PATH); }
static long t_quotactl(void) { return quotactl(QCMD(Q_GETQUOTA, USRQUOTA), NO_SUCH_PATH, 0, NULL); }
static long t_clone3(void) { return syscall(SYS_clone3, NULL, 64); } /* EFAULT once permitted */

static long t_chown(void)
{
	static const char *const dirs[] = {"/tmp", "/run", "/"};
	char path[64];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/nook-probe-chown-%d", strcmp(dirs[i], "/") ? dirs[i] : "",
			 (int)getpid());
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			continue;
		close(fd);
		long r = chown(path, 4321, 4321);
		int e = errno;
		unlink(path);
		errno = e;
		return r;
	}
	return -1;
}

static long t_write_root(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/nook-probe-write-%d", (int)getpid());
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(path);
	return 0;
}

/* --- the same through the i386 ABI ------------------------------------------------------- */

#if defined(__x86_64__)
/* Pointers passed here must fit in 32 bits: only NULL, small integers and static strings
 * (a static, non-PIE binary keeps them below 4 GiB). */
static long int80(long nr, long a, long b, long c, long d, long e)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	int r = (int)ret;
	if (r < 0 && r > -4096) {
		errno = -r;
		return -1;
	}
	return r;
}

static long i_getpid(void) { return int80(20, 0, 0, 0, 0, 0); }
static long i_mount(void) { return int80(21, 0, 0, 0, 0, 0); }           /* EFAULT */
static long i_umount2(void) { return int80(52, 0, 0, 0, 0, 0); }         /* EFAULT */
static long i_unshare(void) { return int80(310, CLONE_NEWUSER, 0, 0, 0, 0); }
static long i_setns(void) { return int80(346, -1, 0, 0, 0, 0); }         /* EBADF */
static long i_keyctl(void) { return int80(288, 9999, 0, 0, 0, 0); }      /* EOPNOTSUPP */
static long i_add_key(void) { return int80(286, 0, 0, 0, 0, 0); }        /* EFAULT */
static long i_ptrace(void) { return int80(26, PTRACE_ATTACH, 0x3ffffff0, 0, 0, 0); } /* ESRCH */
static long i_kexec_load(void) { return int80(283, 0, 0, 0, (long)0xdead8000UL, 0); }
static long i_init_module(void) { return int80(128, 0, 0, 0, 0, 0); }
static long i_finit_module(void) { return int80(350, -1, 0, 0, 0, 0); }
static long i_delete_module(void) { return int80(129, 0, 0, 0, 0, 0); }
static long i_reboot(void)
{
	return int80(88, (int)LINUX_REBOOT_MAGIC1, BAD_MAGIC2, (int)LINUX_REBOOT_CMD_CAD_OFF, 0, 0);
}
static long i_open_by_handle_at(void) { return int80(342, AT_FDCWD, 0, 0, 0, 0); }
static long i_bpf(void) { return int80(357, 9999, 0, 0, 0, 0); }
static long i_perf_event_open(void) { return int80(336, 0, 0, -1, -1, 0); }
static long i_userfaultfd(void) { return int80(374, UFFD_USER_MODE_ONLY | 0x40000000, 0, 0, 0, 0); }
static long i_personality(void) { return int80(136, (long)0xffffffffUL, 0, 0, 0, 0); }
static long i_clock_settime(void) { return int80(264, CLOCK_REALTIME, 0, 0, 0, 0); } /* EFAULT */
static long i_settimeofday(void) { return int80(79, 0, 0, 0, 0, 0); }
static long i_swapon(void) { return int80(87, 0, 0, 0, 0, 0); }
static long i_pivot_root(void) { return int80(217, 0, 0, 0, 0, 0); }
static long i_chroot(void) { return int80(61, 0, 0, 0, 0, 0); }          /* EFAULT */
static long i_acct(void) { return int80(51, 1, 0, 0, 0, 0); }            /* EFAULT, never NULL */
static long i_quotactl(void) { return int80(131, (long)QCMD(Q_GETQUOTA, USRQUOTA), 0, 0, 0, 0); }
static long i_clone3(void) { return int80(435, 0, 64, 0, 0, 0); }        /* EFAULT */
#endif

struct test {
	const char *name;
	long (*fn)(void);
};

static const struct test tests[] = {
	{"mount", t_mount},
	{"umount2", t_umount2},
	{"unshare", t_unshare},
	{"setns", t_setns},
	{"keyctl", t_keyctl},
	{"add_key", t_add_key},
	{"ptrace", t_ptrace_pid1},
	{"ptrace:child", t_ptrace_child},
	{"kexec_load", t_kexec_load},
	{"init_module", t_init_module},
	{"finit_module", t_finit_module},
	{"delete_module", t_delete_module},
	{"reboot", t_reboot},
	{"open_by_handle_at", t_open_by_handle_at},
	{"bpf", t_bpf},
	{"perf_event_open", t_perf_event_open},
	{"userfaultfd", t_userfaultfd},
	{"personality", t_pers_query},
	{"personality:PER_LINUX32", t_pers_linux32},
	{"personality:ADDR_NO_RANDOMIZE", t_pers_norandom},
	{"personality:PER_BSD", t_pers_bsd},
	{"clock_settime", t_clock_settime},
	{"settimeofday", t_settimeofday},
	{"swapon", t_swapon},
	{"pivot_root", t_pivot_root},
	{"chroot", t_chroot},
	{"acct", t_acct},
	{"quotactl", t_quotactl},
	{"clone3", t_clone3},
	{"setuid", t_setuid},
	{"prctl", t_prctl},
	{"socket:inet", t_socket_inet},
	{"socket:vsock", t_socket_vsock},
	{"chown", t_chown},
	{"write:/", t_write_root},
#if defined(__x86_64__)
	{"i386:getpid", i_getpid},
	{"i386:mount", i_mount},
	{"i386:umount2", i_umount2},
	{"i386:unshare", i_unshare},
	{"i386:setns", i_setns},
	{"i386:keyctl", i_keyctl},
	{"i386:add_key", i_add_key},
	{"i386:ptrace", i_ptrace},
	{"i386:kexec_load", i_kexec_load},
	{"i386:init_module", i_init_module},
	{"i386:finit_module", i_finit_module},
	{"i386:delete_module", i_delete_module},
	{"i386:reboot", i_reboot},
	{"i386:open_by_handle_at", i_open_by_handle_at},
	{"i386:bpf", i_bpf},
	{"i386:perf_event_open", i_perf_event_open},
	{"i386:userfaultfd", i_userfaultfd},
	{"i386:personality", i_personality},
	{"i386:clock_settime", i_clock_settime},
	{"i386:settimeofday", i_settimeofday},
	{"i386:swapon", i_swapon},
	{"i386:pivot_root", i_pivot_root},
	{"i386:chroot", i_chroot},
	{"i386:acct", i_acct},
	{"i386:quotactl", i_quotactl},
	{"i386:clone3", i_clone3},
#endif
};

/* Run one test in a child; the outcome as text in buf. */
static const char *run(const struct test *t, char *buf, size_t size)
{
	fflush(stdout);
	pid_t c = fork();
	if (c < 0) {
		snprintf(buf, size, "fork:%s", strerrorname_np(errno));
		return buf;
	}
	if (c == 0) {
		alarm(5);
		errno = 0;
		long r = t->fn();
		int e = r < 0 ? errno : 0;
		_exit(r >= 0 ? 0 : (e > 0 && e < 255 ? e : 255));
	}
	int st;
	while (waitpid(c, &st, 0) < 0) {
		if (errno != EINTR) {
			snprintf(buf, size, "wait:%s", strerrorname_np(errno));
			return buf;
		}
	}
	if (WIFSIGNALED(st)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(st));
		if (abbrev)
			snprintf(buf, size, "killed(SIG%s)", abbrev);
		else
			snprintf(buf, size, "killed(%d)", WTERMSIG(st));
		return buf;
	}
	int code = WEXITSTATUS(st);
	if (code == 0)
		return "ok";
	const char *n = code == 255 ? NULL : strerrorname_np(code);
	snprintf(buf, size, "%s", n ? n : "EUNKNOWN");
	return buf;
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char buf[64];
	const char *sep = "";
	putchar('{');
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!wanted(tests[i].name, argc, argv))
			continue;
		const char *out = run(&tests[i], buf, sizeof(buf));
		printf("%s\"%s\":\"%s\"", sep, tests[i].name, out);
		sep = ",";
	}
	puts("}");
	return 0;
}
