/* Small helpers shared by the engine: cleanup attributes, files, directories, processes. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void nk_freep(void *p)
{
	free(*(void **)p);
}

void nk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

int nk_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int nk_read_file(const char *path, char **out, size_t *len, struct nk_err *err)
{
	nk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open %s", path);
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	if (!buf)
		return nk_err_set(err, ENOMEM, "reading %s", path);
	for (;;) {
		if (used + 1 >= cap) {
			char *n = realloc(buf, cap * 2);
			if (!n) {
				free(buf);
				return nk_err_set(err, ENOMEM, "reading %s", path);
			}
			buf = n;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + used, cap - used - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return nk_err_set(err, e, "cannot read %s", path);
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	*out = buf;
	if (len)
		*len = used;
	return 0;
}

int nk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t nk_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, int durable,
			 struct nk_err *err)
{
	char tmp[4096];
	if (nk_fmt(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid()) < 0)
		return nk_err_set(err, ENAMETOOLONG, "path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot create %s", tmp);
	int r = nk_write_all(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return nk_err_set(err, -r, "cannot write %s", path);
	}
	return 0;
}

int nk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct nk_err *err)
{
	return write_replace(path, data, len, mode, 1, err);
}

int nk_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
			  struct nk_err *err)
{
	return write_replace(path, data, len, mode, 0, err);
}

int nk_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	if (w < 0)
		return -e;
	return 0;
}

int nk_mkdir_p(const char *path, mode_t mode, struct nk_err *err)
{
	char buf[4096];
	if (nk_fmt(buf, sizeof(buf), "%s", path) < 0)
		return nk_err_set(err, ENAMETOOLONG, "path too long: %s", path);
	/* Almost always there already, or only the last part is missing: one call then. */
	if (mkdir(buf, mode) == 0 || errno == EEXIST)
		return 0;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot create directory %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return nk_err_set(err, errno, "cannot create directory %s", buf);
	return 0;
}

static int rm_tree_at(int dirfd, const char *name, dev_t dev, struct nk_err *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : nk_err_set(err, errno, "cannot stat %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return nk_err_set(err, errno, "cannot remove %s", name);
		return 0;
	}
	if (st.st_dev != dev)
		return nk_err_msg(err, EBUSY, "refusing to remove %s: it is a mount point", name);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open %s", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return nk_err_set(err, errno, "cannot read %s", name);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = rm_tree_at(fd, de->d_name, dev, err);
	}
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = nk_err_set(err, errno, "cannot remove directory %s", name);
	return r;
}

int nk_rm_rf(const char *path, struct nk_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : nk_err_set(err, errno, "cannot stat %s", path);
	return rm_tree_at(AT_FDCWD, path, st.st_dev, err);
}

/* Start time of a live process; 0 for none, and for a zombie: it has exited even if no
 * one has reaped it yet (an orphaned monitor's new parent may never do so). */
uint64_t nk_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	/* p is at the space before field 3 (state); walk to the one before field 22. */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

int nk_proc_alive(pid_t pid, uint64_t start_time)
{
	if (pid <= 0)
		return 0;
	uint64_t now = nk_proc_start_time(pid);
	return now != 0 && now == start_time;
}

uint64_t nk_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t nk_wall_time_s(void)
{
	return (int64_t)time(NULL);
}

void nk_time_iso(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void nk_close_fds_from(int from)
{
	if (syscall(SYS_close_range, (unsigned)from, ~0u, 0) == 0)
		return;
	for (int fd = from; fd < 65536; fd++)
		close(fd);
}

void nk_proc_comm(pid_t pid, char *buf, size_t size)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	buf[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int nk_pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}
