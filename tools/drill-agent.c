/* drill-agent: escape attempts run inside a sandbox by `nook drill`, one forked child each, with
 * harmless arguments; prints one line per attempt for core/drill-parse.c:
 *   SEQ<TAB>NAME<TAB>SYSCALL<TAB>RESULT<TAB>DETAIL
 * RESULT is "ok", an errno number ("e13"), a signal ("s9"), or "skip" (not run: named in
 * `--skip A,B`, where nothing would have stopped it short of the host's own limits).
 * `drill-agent idle` just waits, to keep a throwaway instance running while the drill is
 * exec'd into it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD_MAGIC2 0x0badf00d /* never a valid reboot magic: EINVAL even where permitted */

/* What an attempt tells its parent through a pipe: the call that decided it and a detail. */
struct verdict {
	char syscall[32];
	int err;          /* 0: the call succeeded */
	char detail[160];
};

static struct verdict *V;

static int fail(const char *sys, int e, const char *detail)
{
	snprintf(V->syscall, sizeof(V->syscall), "%s", sys);
	V->err = e;
	snprintf(V->detail, sizeof(V->detail), "%.159s", detail ? detail : "");
	return 0;
}

static const char *writable_dir(void)
{
	static const char *const dirs[] = {"/tmp", "/dev/shm", "/run", "/"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (access(dirs[i], W_OK) == 0)
			return dirs[i];
	return "/";
}

static int a_mount(void)
{
	const char *dir = writable_dir();
	if (mount("drill", dir, "tmpfs", 0, "size=64k") < 0)
		return fail("mount", errno, dir);
	umount2(dir, MNT_DETACH);
	return fail("mount", 0, dir);
}

static int a_userns(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return fail("unshare", errno, "CLONE_NEWUSER|CLONE_NEWNS");
	/* Root of its own user namespace: full capabilities, over nothing the host owns. */
	int r = mount("drill", "/", "tmpfs", 0, "size=64k");
	return fail("unshare", 0, r == 0 ? "then mounted a tmpfs inside it" : "then mount inside it refused");
}

static int a_procsys(void)
{
	/* Opened for writing, never written: a host-wide setting (not a namespaced one). */
	int fd = open("/proc/sys/kernel/panic_on_oops", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("openat", errno, "/proc/sys/kernel/panic_on_oops");
	close(fd);
	return fail("openat", 0, "/proc/sys/kernel/panic_on_oops opened for writing (nothing written)");
}

static int a_masked(void)
{
	/* The first of Docker's masked files this kernel has (not every kernel has /proc/kcore). */
	static const char *const files[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list"};
	int e = ENOENT;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = open(files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			if (e == ENOENT)
				continue;
			return fail("openat", e, files[i]);
		}
		struct stat st;
		char c, detail[96];
		int masked = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
		ssize_t n = read(fd, &c, 1);
		close(fd);
		snprintf(detail, sizeof(detail), "%s%s: %s", masked ? "masked: " : "", files[i],
			 masked ? "/dev/null bound over it" : n > 0 ? "readable" : "read 0 bytes");
		return fail("openat", 0, detail);
	}
	return fail("openat", e, "/proc/kcore, /proc/keys, /proc/timer_list");
}

static int a_kmsg(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail("openat", errno, "/dev/kmsg");
	close(fd);
	return fail("openat", 0, "/dev/kmsg: the host's kernel log is readable");
}

static int a_module(void)
{
	/* A bad descriptor: EBADF once the call is permitted, so nothing is ever loaded. */
	if (syscall(SYS_finit_module, -1, "", 0) < 0)
		return fail("finit_module", errno, "fd -1");
	return fail("finit_module", 0, "fd -1");
}

/* The host's first disk (major:minor from /sys/block), else 8:0. */
static dev_t host_disk(char *name, size_t size)
{
	static const char *const cand[] = {"vda", "sda", "nvme0n1", "xvda", "hda"};
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		char p[64];
		unsigned ma, mi;
		snprintf(p, sizeof(p), "/sys/block/%s/dev", cand[i]);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		int ok = fscanf(f, "%u:%u", &ma, &mi) == 2;
		fclose(f);
		if (ok) {
			snprintf(name, size, "%s %u:%u", cand[i], ma, mi);
			return makedev(ma, mi);
		}
	}
	snprintf(name, size, "sda 8:0");
	return makedev(8, 0);
}

static int a_mknod(void)
{
	char disk[48], path[64], detail[256];
	dev_t dev = host_disk(disk, sizeof(disk));
	static const char *const dirs[] = {"/dev", "/tmp", "/dev/shm", "/"};
	int e = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/.drill-disk-%d", strcmp(dirs[i], "/") ? dirs[i] : "", (int)getpid());
		if (mknod(path, S_IFBLK | 0600, dev) < 0) {
			if (!e || e == EROFS || e == EACCES || e == ENOENT)
				e = errno;
			continue;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int oe = errno;
		unlink(path);
		snprintf(detail, sizeof(detail), "mknod %s as %s worked; open: %s", disk, path, fd < 0 ? strerror(oe) : "ok");
		if (fd < 0)
			return fail("open", oe, detail);
		close(fd);
		return fail("open", 0, detail);
	}
	snprintf(detail, sizeof(detail), "block device %s", disk);
	return fail("mknod", e, detail);
}

static int a_ptrace(void)
{
	if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) < 0)
		return fail("ptrace", errno, "PTRACE_ATTACH to pid 1");
	int st;
	waitpid(1, &st, __WALL);
	ptrace(PTRACE_DETACH, 1, NULL, NULL);
	return fail("ptrace", 0, "attached to pid 1 (detached again)");
}

static int a_handle(void)
{
	struct file_handle fh = {.handle_bytes = 0, .handle_type = 0}; /* EINVAL once permitted */
	if (syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY) < 0)
		return fail("open_by_handle_at", errno, "empty handle");
	return fail("open_by_handle_at", 0, "empty handle");
}

static int a_reboot(void)
{
	if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, BAD_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL) < 0)
		return fail("reboot", errno, "wrong magic");
	return fail("reboot", 0, "wrong magic");
}

static int a_bpf(void)
{
	if (syscall(SYS_bpf, 9999, NULL, 0) < 0)
		return fail("bpf", errno, "unknown command");
	return fail("bpf", 0, "unknown command");
}

static int a_i386(void)
{
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "cc", "r8", "r9", "r10", "r11");
	if (ret < 0 && ret > -4096)
		return fail("i386:getpid", (int)-ret, "int $0x80");
	return fail("i386:getpid", 0, "int $0x80 reached the kernel's i386 entry");
#else
	return fail("i386:getpid", ENOSYS, "not an x86-64 build");
#endif
}

static int a_kill1(void)
{
	char comm[64] = "?", detail[160];
	FILE *f = fopen("/proc/1/comm", "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	/* Signal 0: the permission check only. */
	int r = kill(1, 0);
	snprintf(detail, sizeof(detail), "pid 1 here is %s, not the host's init", comm);
	return fail("kill", r < 0 ? errno : 0, detail);
}

static int a_hostname(void)
{
	char name[64] = "";
	gethostname(name, sizeof(name) - 1);
	if (sethostname(name, strlen(name)) < 0) /* the name it already has */
		return fail("sethostname", errno, name);
	return fail("sethostname", 0, name);
}

static int a_forkbomb(void)
{
	enum { MAX = 4096 };
	static pid_t kids[MAX];
	int n = 0, e = 0;
	for (; n < MAX; n++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			e = errno;
			break;
		}
		kids[n] = p;
	}
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	char detail[96];
	snprintf(detail, sizeof(detail), "%d processes created, then fork failed", n);
	if (!e)
		snprintf(detail, sizeof(detail), "%d processes created, no limit met (stopped there)", n);
	return fail("fork", e, detail);
}

static int a_memhog(void)
{
	enum { CHUNK = 1 << 20, MAXMB = 1024 };
	snprintf(V->syscall, sizeof(V->syscall), "mmap");
	for (int mb = 0; mb < MAXMB; mb++) {
		/* volatile: the compiler must not drop stores nobody reads. */
		volatile char *p = malloc(CHUNK);
		if (!p)
			return fail("mmap", ENOMEM, "malloc failed before any kill");
		for (size_t off = 0; off < CHUNK; off += 4096)
			p[off] = 1;
		/* Written before each chunk, so a SIGKILL leaves the last size behind. */
		snprintf(V->detail, sizeof(V->detail), "%d MiB touched", mb + 1);
	}
	return fail("mmap", 0, "1024 MiB touched, no limit met");
}

struct attempt {
	const char *name;
	int (*fn)(void);
};

static const struct attempt attempts[] = {
    {"mount", a_mount},           {"userns", a_userns},     {"proc-sys", a_procsys}, 
    {"masked", a_masked},           {"kmsg", a_kmsg},         {"module", a_module},    {"mknod-disk", a_mknod},
    {"ptrace", a_ptrace},         {"open-by-handle", a_handle}, {"reboot", a_reboot}, {"bpf", a_bpf},
    {"i386", a_i386},             {"kill-pid1", a_kill1},   {"hostname", a_hostname}, {"fork-bomb", a_forkbomb},
    {"memory-hog", a_memhog},
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "idle")) {
		for (;;)
			pause();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Shared with each child, so what a killed child wrote before the kill survives it. */
	V = mmap(NULL, sizeof(*V), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (V == MAP_FAILED)
		return 1;
	const char *skip = "";
	if (argc > 2 && !strcmp(argv[1], "--skip")) {
		skip = argv[2];
		argc -= 2;
		argv += 2;
	}
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		const struct attempt *a = &attempts[i];
		if (argc > 1 && strcmp(argv[1], a->name))
			continue;
		size_t len = strlen(a->name);
		int skipped = 0;
		for (const char *p = strstr(skip, a->name); p && !skipped; p = strstr(p + 1, a->name))
			skipped = (p == skip || p[-1] == ',') && (p[len] == ',' || p[len] == '\0');
		if (skipped) {
			printf("%zu\t%s\t-\tskip\tnot run: no limit would stop it short of the host's own\n", i + 1,
			       a->name);
			continue;
		}
		memset(V, 0, sizeof(*V));
		snprintf(V->syscall, sizeof(V->syscall), "?");
		V->err = EIO;
		pid_t c = fork();
		if (c == 0) {
			a->fn();
			_exit(0);
		}
		int st = 0;
		if (c < 0 || waitpid(c, &st, 0) < 0)
			V->err = errno;
		char result[16];
		if (c > 0 && WIFSIGNALED(st))
			snprintf(result, sizeof(result), "s%d", WTERMSIG(st));
		else if (V->err)
			snprintf(result, sizeof(result), "e%d", V->err);
		else
			snprintf(result, sizeof(result), "ok");
		V->detail[strcspn(V->detail, "\t\n")] = '\0';
		printf("%zu\t%s\t%s\t%s\t%s\n", i + 1, a->name, V->syscall, result, V->detail);
	}
	return 0;
}
