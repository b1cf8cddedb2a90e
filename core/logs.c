/* Read an instance's console log: all, the last N lines, or following as it grows. */
#include "logs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"
#include "util.h"

/* The rotated file, then the current one, as one buffer. */
static int read_both(const char *cur, char **out, size_t *len, struct nk_err *err)
{
	char old[PATH_MAX + 4];
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	struct nk_err ignored;
	if (nk_fmt(old, sizeof(old), "%s.1", cur) == 0 && nk_read_file(old, &a, &la, &ignored) < 0)
		a = NULL, la = 0;
	if (nk_read_file(cur, &b, &lb, &ignored) < 0)
		b = NULL, lb = 0;
	char *all = malloc(la + lb + 1);
	if (!all) {
		free(a);
		free(b);
		return nk_err_set(err, ENOMEM, "reading the log");
	}
	if (la)
		memcpy(all, a, la);
	if (lb)
		memcpy(all + la, b, lb);
	all[la + lb] = '\0';
	free(a);
	free(b);
	*out = all;
	*len = la + lb;
	return 0;
}

static size_t tail_offset(const char *buf, size_t len, long lines)
{
	if (lines < 0)
		return 0;
	size_t i = len;
	/* A final newline ends the last line; it does not start another. */
	if (i > 0 && buf[i - 1] == '\n')
		i--;
	long seen = 0;
	while (i > 0) {
		if (buf[i - 1] == '\n' && ++seen == lines)
			return i;
		i--;
	}
	return lines == 0 ? len : 0;
}

static int still_running(const struct nk_paths *paths, const char *name)
{
	struct nk_instance_info info;
	struct nk_err ignored;
	return nk_inst_get(paths, name, &info, &ignored) == 0 &&
	       (info.state.status == NK_RUNNING || info.state.status == NK_PAUSED);
}

int nk_logs_read(const struct nk_paths *paths, const char *name, long tail, int follow,
		 nk_logs_sink sink, void *opaque, struct nk_err *err)
{
	return nk_logs_read_file(paths, name, "console.log", tail, follow, sink, opaque, err);
}

int nk_events_append(const struct nk_paths *paths, const char *name, const char *line)
{
	char path[PATH_MAX];
	if (nk_path_instance(paths, name, "events.log", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	int r = n > 0 && (size_t)n < sizeof(buf) ? nk_write_all(fd, buf, (size_t)n) : -E2BIG;
	close(fd);
	return r;
}

int nk_logs_read_file(const struct nk_paths *paths, const char *name, const char *file, long tail,
		      int follow, nk_logs_sink sink, void *opaque, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	char path[PATH_MAX];
	if (nk_path_instance(paths, name, file, path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	nk_autofree char *all = NULL;
	size_t len = 0;
	if ((r = read_both(path, &all, &len, err)) < 0)
		return r;
	size_t off = tail_offset(all, len, tail);
	if (len > off && sink(all + off, len - off, opaque) < 0)
		return 0;
	if (!follow)
		return 0;
	/* Follow by position in the current file; a rotation shows as a new inode. */
	struct stat st;
	ino_t ino = stat(path, &st) == 0 ? st.st_ino : 0;
	off_t pos = stat(path, &st) == 0 ? st.st_size : 0;
	for (;;) {
		int running = still_running(paths, name);
		if (stat(path, &st) == 0) {
			if (st.st_ino != ino) {
				ino = st.st_ino;
				pos = 0;
			}
			if (st.st_size > pos) {
				int fd = open(path, O_RDONLY | O_CLOEXEC);
				char buf[16384];
				ssize_t n;
				while (fd >= 0 && (n = pread(fd, buf, sizeof(buf), pos)) > 0) {
					pos += n;
					if (sink(buf, (size_t)n, opaque) < 0) {
						close(fd);
						return 0;
					}
				}
				if (fd >= 0)
					close(fd);
			}
		}
		if (!running)
			return 0;
		usleep(100000);
	}
}
