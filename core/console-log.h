/* An instance's console log: append-only, size-capped, rotated to console.log.1. */
#ifndef NOOK_CONSOLE_LOG_H
#define NOOK_CONSOLE_LOG_H

#include <limits.h>
#include <stddef.h>

struct nk_console_log {
	int fd;
	size_t size;     /* bytes in the current file */
	size_t max;      /* rotate when size would pass this */
	char path[PATH_MAX];
};

int nk_console_log_open(struct nk_console_log *log, const char *path, size_t max);
void nk_console_log_write(struct nk_console_log *log, const void *buf, size_t len);
void nk_console_log_close(struct nk_console_log *log);

#endif
