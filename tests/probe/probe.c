/* probe: run inside a sandbox, report facts as one JSON object on stdout, so tests
 * assert on what the kernel says rather than on busybox's output format.
 *   fds (open fds > 2 and their targets)   caps (/proc/self/status Cap* + NoNewPrivs)
 *   tiocsti [TEXT] (TIOCSTI into fd 0 and /dev/tty)   ns (inodes in /proc/self/ns)
 *   pid (pid, ppid, comm)   zombies (pids in state Z)   ifaces (links, up/loopback)
 *   write PATH   read PATH (size, max 4 KiB)   mknod PATH (char 1:3)   mount [DIR] (tmpfs)
 *   getfd PID (pidfd_getfd every descriptor of PID, then list what this process holds)
 * Outcomes are "ok" or an errno name ("EROFS"), never a localised message. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define UNUSED __attribute__((unused))

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "EUNKNOWN";
}

static int fail(void)
{
	printf("{\"error\":\"%s\"}\n", errname(errno));
	return 1;
}

static const char *outcome(int r)
{
	return r < 0 ? errname(errno) : "ok";
}

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void kv_str(const char *sep, const char *key, const char *val)
{
	fputs(sep, stdout);
	json_str(key);
	putchar(':');
	json_str(val);
}

static int list_fds(const char *first)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return fail();
	const char *sep = "";
	printf("{%s\"fds\":{", first);
	for (struct dirent *e; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int fd = atoi(e->d_name);
		if (fd <= 2 || fd == dirfd(d))
			continue;
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		kv_str(sep, e->d_name, target);
		sep = ",";
	}
	closedir(d);
	printf("}}\n");
	return 0;
}

static int cmd_fds(UNUSED const char *arg)
{
	return list_fds("");
}

/* Take every descriptor another process holds, as a process allowed to ptrace it can. */
static int cmd_getfd(const char *pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, atoi(pid), 0), e = pidfd < 0 ? errno : 0;
	for (int fd = 0; pidfd >= 0 && fd < 1024; fd++)
		if (syscall(SYS_pidfd_getfd, pidfd, fd, 0) < 0 && errno != EBADF)
			e = errno;
	if (pidfd >= 0)
		close(pidfd);
	char first[64];
	snprintf(first, sizeof(first), "\"pidfd_getfd\":\"%s\",", e ? errname(e) : "ok");
	return list_fds(first);
}

static int cmd_caps(UNUSED const char *arg)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return fail();
	char line[256];
	const char *sep = "";
	putchar('{');
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon || (strncmp(line, "Cap", 3) && strncmp(line, "NoNewPrivs", 10) &&
			       strncmp(line, "Seccomp:", 8)))
			continue;
		*colon = '\0';
		char *val = colon + 1 + strspn(colon + 1, " \t");
		val[strcspn(val, "\n")] = '\0';
		kv_str(sep, line, val);
		sep = ",";
	}
	fclose(f);
	printf(",\"prctl_no_new_privs\":%d}\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	return 0;
}

/* Push text into a terminal's input queue, one byte per ioctl, as an attacker would. */
static const char *push(int fd, const char *text)
{
	for (const char *p = text; *p; p++)
		if (ioctl(fd, TIOCSTI, p) < 0)
			return errname(errno);
	return "ok";
}

static int cmd_tiocsti(const char *arg)
{
	const char *text = arg ? arg : "x";
	printf("{\"ttyname0\":\"%s\"", ttyname(0) ? ttyname(0) : "");
	kv_str(",", "stdin", push(0, text));
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	kv_str(",", "dev_tty", fd < 0 ? errname(errno) : push(fd, text));
	if (fd >= 0)
		close(fd);
	printf("}\n");
	return 0;
}

static int cmd_ns(UNUSED const char *arg)
{
	DIR *d = opendir("/proc/self/ns");
	if (!d)
		return fail();
	const char *sep = "";
	putchar('{');
	struct stat st;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		printf("%s\"%s\":%llu", sep, e->d_name, (unsigned long long)st.st_ino);
		sep = ",";
	}
	closedir(d);
	printf("}\n");
	return 0;
}

static int cmd_pid(UNUSED const char *arg)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)getppid());
	FILE *f = fopen(path, "r");
	if (f && fgets(comm, sizeof(comm), f))
		comm[strcspn(comm, "\n")] = '\0';
	if (f)
		fclose(f);
	printf("{\"pid\":%d,\"ppid\":%d", (int)getpid(), (int)getppid());
	kv_str(",", "ppid_comm", comm);
	printf("}\n");
	return 0;
}

static int cmd_zombies(UNUSED const char *arg)
{
	DIR *d = opendir("/proc");
	if (!d)
		return fail();
	const char *sep = "";
	printf("{\"zombies\":[");
	for (struct dirent *e; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && rp[2] == 'Z') {
			printf("%s%s", sep, e->d_name);
			sep = ",";
		}
	}
	closedir(d);
	printf("]}\n");
	return 0;
}

static int cmd_ifaces(UNUSED const char *arg)
{
	struct if_nameindex *ifs = if_nameindex();
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!ifs || s < 0)
		return fail();
	const char *sep = "";
	putchar('{');
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		struct ifreq r = {0};
		snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", i->if_name);
		int ok = ioctl(s, SIOCGIFFLAGS, &r) == 0;
		printf("%s", sep);
		json_str(i->if_name);
		printf(":{\"up\":%s,\"loopback\":%s}", ok && (r.ifr_flags & IFF_UP) ? "true" : "false",
		       ok && (r.ifr_flags & IFF_LOOPBACK) ? "true" : "false");
		sep = ",";
	}
	printf("}\n");
	if_freenameindex(ifs);
	close(s);
	return 0;
}

static int cmd_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = fd < 0 ? -1 : write(fd, "probe\n", 6) == 6 ? 0 : -1;
	if (fd >= 0 && close(fd) < 0)
		r = -1;
	printf("{\"write\":\"%s\"}\n", outcome(r));
	return 0;
}

static int cmd_read(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	printf("{\"read\":\"%s\",\"size\":%zd}\n", outcome(n < 0 ? -1 : 0), n < 0 ? 0 : n);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int cmd_mknod(const char *path)
{
	return printf("{\"mknod\":\"%s\"}\n", outcome(mknod(path, S_IFCHR | 0600, makedev(1, 3)))) < 0;
}

static int cmd_mount(const char *dir)
{
	int r = mount("tmpfs", dir ? dir : "/mnt", "tmpfs", 0, "size=1m");
	return printf("{\"mount\":\"%s\"}\n", outcome(r)) < 0;
}

static const struct {
	const char *name;
	int (*run)(const char *arg);
	int needs_arg;
} commands[] = {
    {"fds", cmd_fds, 0},         {"caps", cmd_caps, 0},       {"tiocsti", cmd_tiocsti, 0},
    {"ns", cmd_ns, 0},           {"pid", cmd_pid, 0},         {"zombies", cmd_zombies, 0},
    {"ifaces", cmd_ifaces, 0},   {"write", cmd_write, 1},     {"read", cmd_read, 1},
    {"mknod", cmd_mknod, 1},     {"mount", cmd_mount, 0},     {"getfd", cmd_getfd, 1},
};

int main(int argc, char **argv)
{
	const char *arg = argc > 2 ? argv[2] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name) && (arg || !commands[i].needs_arg))
			return commands[i].run(arg);
	fprintf(stderr, "usage: probe fds|caps|tiocsti [TEXT]|ns|pid|zombies|ifaces|"
			"write PATH|read PATH|mknod PATH|mount [DIR]|getfd PID\n");
	return 2;
}
