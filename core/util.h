/* Small helpers shared by the engine: cleanup attributes, files, directories, processes. */
#ifndef NOOK_UTIL_H
#define NOOK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

void nk_freep(void *p);
void nk_closep(int *fd);
#define nk_autofree __attribute__((cleanup(nk_freep)))
#define nk_autoclose __attribute__((cleanup(nk_closep)))

static inline void *nk_steal_ptr_(void **p)
{
	void *v = *p;
	*p = NULL;
	return v;
}
#define nk_steal_ptr(pp) nk_steal_ptr_((void **)(pp))

static inline int nk_steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#define NK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* snprintf that reports truncation as -ENAMETOOLONG instead of silently cutting. */
int nk_fmt(char *buf, size_t size, const char *fmt, ...) NK_PRINTF(3, 4) NK_MUST_CHECK;

/* Read a whole (small) file into a NUL-terminated malloc'd buffer. */
int nk_read_file(const char *path, char **out, size_t *len, struct nk_err *err) NK_MUST_CHECK;
/* Write a file atomically: temp file in the same directory, fsync, rename. */
int nk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct nk_err *err) NK_MUST_CHECK;
/* The same without the fsync: a crashed writer still never leaves a half file, but a
 * power loss may lose the update. For state that does not outlive a boot (--rm). */
int nk_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
			  struct nk_err *err) NK_MUST_CHECK;
/* Write a string to an existing file (sysfs/cgroupfs style): one write, no truncation games. */
int nk_write_str(const char *path, const char *s);

int nk_mkdir_p(const char *path, mode_t mode, struct nk_err *err) NK_MUST_CHECK;
/* Remove a tree without following symlinks or crossing mount points. */
int nk_rm_rf(const char *path, struct nk_err *err) NK_MUST_CHECK;

/* Write all of buf, retrying on EINTR and short writes. */
int nk_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes at off (pread, retrying on EINTR and short reads); -EIO at EOF. */
int nk_pread_exact(int fd, void *buf, size_t len, uint64_t off);
/* Read exactly len bytes unless EOF comes first; returns bytes read or -errno. */
ssize_t nk_read_full(int fd, void *buf, size_t len);

/* Process start time (field 22 of /proc/PID/stat), to recognise a pid that was reused. */
uint64_t nk_proc_start_time(pid_t pid);
/* A process's name (/proc/PID/comm) into buf; "" when it is gone. */
void nk_proc_comm(pid_t pid, char *buf, size_t size);
/* True when pid is alive and still the process that started at start_time. */
int nk_proc_alive(pid_t pid, uint64_t start_time);

uint64_t nk_now_ns(void);      /* CLOCK_MONOTONIC */
int64_t nk_wall_time_s(void);  /* CLOCK_REALTIME seconds */
void nk_time_iso(int64_t t, char *buf, size_t size);

/* Close every descriptor >= from, except those listed. */
void nk_close_fds_from(int from);

#endif
