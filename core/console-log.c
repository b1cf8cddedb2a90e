/* An instance's console log: append-only, size-capped, rotated to console.log.1. */
#include "console-log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int nk_console_log_open(struct nk_console_log *log, const char *path, size_t max)
{
	log->max = max;
	if (nk_fmt(log->path, sizeof(log->path), "%s", path) < 0)
		return -ENAMETOOLONG;
	log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log->fd < 0)
		return -errno;
	struct stat st;
	log->size = fstat(log->fd, &st) == 0 ? (size_t)st.st_size : 0;
	return 0;
}

static void rotate(struct nk_console_log *log)
{
	char old[PATH_MAX + 4];
	if (nk_fmt(old, sizeof(old), "%s.1", log->path) < 0)
		return;
	close(log->fd);
	rename(log->path, old);
	log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
	log->size = 0;
}

void nk_console_log_write(struct nk_console_log *log, const void *buf, size_t len)
{
	if (log->fd < 0)
		return;
	if (log->size + len > log->max)
		rotate(log);
	if (log->fd >= 0 && nk_write_all(log->fd, buf, len) == 0)
		log->size += len;
}

void nk_console_log_close(struct nk_console_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
}
