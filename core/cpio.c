/* cpio "newc" (SVR4, no CRC): 110-byte ASCII-hex headers, name and data padded to 4 bytes. */
#include "cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define NEWC_MAGIC "070701"
#define NEWC_HEADER 110

void nk_cpio_init(struct nk_cpio *w, int fd)
{
	w->fd = fd;
	w->next_ino = 1;
	w->offset = 0;
}

static int emit(struct nk_cpio *w, const void *buf, size_t len, struct nk_err *err)
{
	if (nk_write_all(w->fd, buf, len) < 0)
		return nk_err_set(err, errno, "cannot write the cpio archive");
	w->offset += len;
	return 0;
}

static int pad4(struct nk_cpio *w, struct nk_err *err)
{
	static const char zeros[4];
	size_t n = (4 - (w->offset & 3)) & 3;
	return n ? emit(w, zeros, n, err) : 0;
}

static int header(struct nk_cpio *w, const char *path, uint32_t mode, uint64_t size, unsigned rmajor,
		  unsigned rminor, struct nk_err *err)
{
	size_t name_len = strlen(path) + 1;
	if (size > UINT32_MAX)
		return nk_err_msg(err, EFBIG, "%s is too big for a cpio archive (4 GiB at most)", path);
	if (path[0] == '/' || name_len > 4096)
		return nk_err_msg(err, EINVAL, "bad cpio path '%s'", path);
	char h[NEWC_HEADER + 1];
	/* ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
	 * rdevminor, namesize, check */
	snprintf(h, sizeof(h), "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08zx%08x", NEWC_MAGIC,
		 w->next_ino++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (uint32_t)size, 0u, 0u, rmajor, rminor,
		 name_len, 0u);
	int r = emit(w, h, NEWC_HEADER, err);
	if (r == 0)
		r = emit(w, path, name_len, err);
	return r < 0 ? r : pad4(w, err);
}

int nk_cpio_add_dir(struct nk_cpio *w, const char *path, mode_t mode, struct nk_err *err)
{
	return header(w, path, S_IFDIR | (mode & 07777), 0, 0, 0, err);
}

int nk_cpio_add_file(struct nk_cpio *w, const char *path, mode_t mode, const void *data, size_t len,
		     struct nk_err *err)
{
	int r = header(w, path, S_IFREG | (mode & 07777), len, 0, 0, err);
	if (r == 0 && len)
		r = emit(w, data, len, err);
	return r < 0 ? r : pad4(w, err);
}

int nk_cpio_add_host_file(struct nk_cpio *w, const char *path, mode_t mode, const char *host_path,
			  struct nk_err *err)
{
	nk_autoclose int fd = open(host_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return nk_err_set(err, errno, "cannot read %s", host_path);
	if (!S_ISREG(st.st_mode))
		return nk_err_msg(err, EINVAL, "%s is not a regular file", host_path);
	int r = header(w, path, S_IFREG | (mode & 07777), (uint64_t)st.st_size, 0, 0, err);
	char buf[65536];
	for (off_t left = st.st_size; r == 0 && left > 0;) {
		ssize_t n = read(fd, buf, sizeof(buf) < (size_t)left ? sizeof(buf) : (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return nk_err_set(err, n < 0 ? errno : EIO, "cannot read %s (did it shrink?)", host_path);
		r = emit(w, buf, (size_t)n, err);
		left -= n;
	}
	return r < 0 ? r : pad4(w, err);
}

int nk_cpio_add_symlink(struct nk_cpio *w, const char *path, const char *target, struct nk_err *err)
{
	size_t len = strlen(target);
	int r = header(w, path, S_IFLNK | 0777, len, 0, 0, err);
	if (r == 0)
		r = emit(w, target, len, err);
	return r < 0 ? r : pad4(w, err);
}

int nk_cpio_add_chardev(struct nk_cpio *w, const char *path, mode_t mode, unsigned major, unsigned minor,
			struct nk_err *err)
{
	return header(w, path, S_IFCHR | (mode & 07777), 0, major, minor, err);
}

int nk_cpio_finish(struct nk_cpio *w, struct nk_err *err)
{
	w->next_ino = 0;
	int r = header(w, "TRAILER!!!", 0, 0, 0, 0, err);
	static const char zeros[512];
	size_t n = (512 - (w->offset & 511)) & 511;
	return r < 0 ? r : n ? emit(w, zeros, n, err) : 0;
}

static int hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

int nk_cpio_next(const uint8_t *buf, size_t len, size_t *offset, struct nk_cpio_entry *e)
{
	size_t off = *offset;
	if (off > len || len - off < NEWC_HEADER || memcmp(buf + off, NEWC_MAGIC, 6) != 0)
		return -EINVAL;
	uint32_t f[13];
	for (int i = 0; i < 13; i++)
		if (hex8(buf + off + 6 + 8 * i, &f[i]) < 0)
			return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->ino = f[0], e->mode = f[1], e->uid = f[2], e->gid = f[3], e->nlink = f[4], e->mtime = f[5];
	e->size = f[6], e->dev_major = f[7], e->dev_minor = f[8], e->rdev_major = f[9], e->rdev_minor = f[10];
	e->name_len = f[11];
	size_t name_at = off + NEWC_HEADER;
	if (e->name_len == 0 || e->name_len > len - name_at || buf[name_at + e->name_len - 1] != '\0')
		return -EINVAL;
	e->name = (const char *)buf + name_at;
	size_t data_at = align4(name_at + e->name_len);
	if (data_at > len || e->size > len - data_at)
		return -EINVAL;
	e->data = buf + data_at;
	*offset = align4(data_at + e->size);
	return strcmp(e->name, "TRAILER!!!") == 0 ? 0 : 1;
}
