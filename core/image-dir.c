/* Copy a directory tree into an image: modes, owners, times, symlinks, devices kept. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image-internal.h"
#include "util.h"

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, struct nk_err *err)
{
	nk_autoclose int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return nk_err_set(err, errno, "cannot read %s", name);
	nk_autoclose int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return nk_err_set(err, errno, "cannot create %s", name);
	off_t left = st->st_size;
	while (left > 0) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return nk_err_set(err, n < 0 ? errno : EIO, "cannot copy %s", name);
		left -= n;
	}
	return 0;
}

static void copy_meta(int ddir, const char *name, const struct stat *st)
{
	if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		/* An unprivileged import keeps the importer's ownership. */
	}
	if (!S_ISLNK(st->st_mode))
		fchmodat(ddir, name, st->st_mode & 07777, 0);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int copy_dir(int sdir, int ddir, dev_t dev, struct nk_err *err);

static int copy_entry(int sdir, int ddir, const char *name, dev_t dev, struct nk_err *err)
{
	struct stat st;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return nk_err_set(err, errno, "cannot stat %s", name);
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(ddir, name, 0700) < 0)
			return nk_err_set(err, errno, "cannot create %s", name);
		/* Another file system below (a mount point): keep the empty directory only. */
		if (st.st_dev == dev) {
			nk_autoclose int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			nk_autoclose int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || d < 0)
				return nk_err_set(err, errno, "cannot open %s", name);
			r = copy_dir(s, d, dev, err);
		}
	} else if (S_ISREG(st.st_mode)) {
		r = copy_file(sdir, ddir, name, &st, err);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return nk_err_set(err, errno, "cannot read link %s", name);
		target[n] = '\0';
		if (symlinkat(target, ddir, name) < 0)
			return nk_err_set(err, errno, "cannot create link %s", name);
	} else if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0) {
		return 0; /* devices and sockets are skipped where mknod is refused */
	}
	if (r == 0)
		copy_meta(ddir, name, &st);
	return r < 0 ? nk_err_prefix(err, "%s", name) : 0;
}

static int copy_dir(int sdir, int ddir, dev_t dev, struct nk_err *err)
{
	int fd = dup(sdir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return nk_err_set(err, errno, "cannot list a directory");
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = copy_entry(sdir, ddir, de->d_name, dev, err);
	}
	closedir(d);
	return r;
}

int nk_image_copy_tree(const char *source, const char *dest, struct nk_err *err)
{
	nk_autoclose int s = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0)
		return nk_err_set(err, errno, "cannot open %s", source);
	nk_autoclose int d = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return nk_err_set(err, errno, "cannot open %s", dest);
	struct stat st;
	if (fstat(s, &st) < 0)
		return nk_err_set(err, errno, "cannot stat %s", source);
	int r = copy_dir(s, d, st.st_dev, err);
	if (r == 0)
		fchmod(d, st.st_mode & 07777);
	return r;
}

int nk_image_copy_file(const char *source, const char *dest_dir, const char *name, struct nk_err *err)
{
	struct stat st;
	nk_autoclose int in = open(source, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return nk_err_set(err, errno, "cannot read %s", source);
	nk_autoclose int d = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return nk_err_set(err, errno, "cannot open %s", dest_dir);
	nk_autoclose int out = openat(d, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return nk_err_set(err, errno, "cannot create %s/%s", dest_dir, name);
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return nk_err_set(err, n < 0 ? errno : EIO, "cannot copy %s", source);
		left -= n;
	}
	copy_meta(d, name, &st);
	return 0;
}
