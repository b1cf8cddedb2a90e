/* A cpio "newc" archive writer: what the Linux kernel unpacks as an initramfs. */
#ifndef NOOK_CPIO_H
#define NOOK_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Writes to a caller-owned fd. Entries carry uid/gid 0 and mtime 0, so the same input
 * gives the same bytes (a cache can be compared). */
struct nk_cpio {
	int fd;
	uint32_t next_ino;
	uint64_t offset; /* bytes written so far */
};

void nk_cpio_init(struct nk_cpio *w, int fd);

/* path is relative ("bin/busybox"), without a leading '/'. mode carries the permission
 * bits only; the type comes from the function. */
int nk_cpio_add_dir(struct nk_cpio *w, const char *path, mode_t mode, struct nk_err *err) NK_MUST_CHECK;
int nk_cpio_add_file(struct nk_cpio *w, const char *path, mode_t mode, const void *data, size_t len,
		     struct nk_err *err) NK_MUST_CHECK;
/* A regular file copied from the host (streamed, any size). */
int nk_cpio_add_host_file(struct nk_cpio *w, const char *path, mode_t mode, const char *host_path,
			  struct nk_err *err) NK_MUST_CHECK;
int nk_cpio_add_symlink(struct nk_cpio *w, const char *path, const char *target,
			struct nk_err *err) NK_MUST_CHECK;
/* A character device node (e.g. dev/console, 5:1). */
int nk_cpio_add_chardev(struct nk_cpio *w, const char *path, mode_t mode, unsigned major, unsigned minor,
			struct nk_err *err) NK_MUST_CHECK;
/* The TRAILER!!! entry, padded to a 512-byte boundary. */
int nk_cpio_finish(struct nk_cpio *w, struct nk_err *err) NK_MUST_CHECK;

/* One entry read back from a newc archive in memory (for tests and checks). */
struct nk_cpio_entry {
	const char *name;   /* points into the archive; name_len bytes, NUL included */
	size_t name_len;
	uint32_t mode, uid, gid, nlink, mtime, dev_major, dev_minor, rdev_major, rdev_minor, ino;
	const uint8_t *data;
	size_t size;
};

/* Parse the entry at *offset and move *offset past it. Returns 1 for an entry, 0 at the
 * trailer, -EINVAL for a malformed archive (bad magic, sizes past the end). */
int nk_cpio_next(const uint8_t *buf, size_t len, size_t *offset, struct nk_cpio_entry *e);

#endif
