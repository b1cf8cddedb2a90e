/* Tar extraction for image layers: every write resolved inside dest, OCI whiteouts applied. */
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image-oci-internal.h"
#include "util.h"
#include "archive-dl.h"

#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

struct xtr {
	int rootfd;         /* dest, the root every path is resolved in */
	const char *what;   /* the archive, for messages */
	struct nk_err *err;
	int as_root;        /* only root can give files their recorded owners */
	unsigned skipped_devices;
};

/* The fallback for kernels without openat2: walk one component at a time, following nothing. */
static int open_walk(int rootfd, const char *rel, int flags)
{
	char buf[PATH_MAX];
	if (nk_fmt(buf, sizeof(buf), "%s", rel) < 0)
		return -ENAMETOOLONG;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	if (!comp) {
		int fd = openat(rootfd, ".", flags | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "..")) {
			close(cur);
			return -EPERM;
		}
		int fd = openat(cur, comp, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(cur);
		if (fd < 0)
			return -e;
		cur = fd;
		comp = next;
	}
	return cur;
}

int nk_open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	if (!*rel)
		rel = ".";
	/* RESOLVE_IN_ROOT answers EAGAIN when a rename raced the lookup: retrying is the contract. */
	for (int tries = 0; tries < 16; tries++) {
		long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno == ENOSYS)
			return open_walk(rootfd, rel, flags);
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

/* Entry names become dest-relative: leading '/' and "." dropped; ".." is refused, not resolved. */
static int clean_path(const char *in, char *out, size_t size)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - s);
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EPERM;
		if (n + len + 2 > size)
			return -ENAMETOOLONG;
		if (n)
			out[n++] = '/';
		memcpy(out + n, s, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

static int remove_at(int dirfd, const char *name);

/* Takes fd. */
static int empty_dir(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = remove_at(dirfd(d), de->d_name);
	}
	closedir(d);
	return r;
}

/* rm -rf of one name in dirfd, never following a symlink. */
static int remove_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = empty_dir(fd);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

/* Open directory rel inside dest; with create, make missing levels the way tar would. */
static int open_dir(struct xtr *x, const char *rel, int create)
{
	int fd = nk_open_in_root(x->rootfd, rel, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT || !create)
		return fd;
	char buf[PATH_MAX];
	if (nk_fmt(buf, sizeof(buf), "%s", rel) < 0)
		return -ENAMETOOLONG;
	/* Each level is made in its resolved parent, so a symlinked level is followed in-root. */
	int prev = nk_open_in_root(x->rootfd, "", O_PATH | O_DIRECTORY);
	for (char *p = buf; prev >= 0; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = '\0';
		int d = nk_open_in_root(x->rootfd, buf, O_PATH | O_DIRECTORY);
		if (d == -ENOENT) {
			const char *slash = strrchr(buf, '/');
			if (mkdirat(prev, slash ? slash + 1 : buf, 0755) < 0 && errno != EEXIST)
				d = -errno;
			else
				d = nk_open_in_root(x->rootfd, buf, O_PATH | O_DIRECTORY);
		}
		close(prev);
		prev = d;
		*p = c;
		if (!c)
			break;
	}
	return prev;
}

static int whiteout(struct xtr *x, const char *parent, const char *leaf, const char *name)
{
	int r = 0;
	if (!strcmp(leaf, WH_OPAQUE)) {
		/* Opaque: drop what lower layers put in parent. Emptied when the marker is read, so
		 * this relies on writers (docker, buildkit, containerd) emitting the marker before
		 * the directory's own entries of this layer; later entries are kept. */
		int fd = nk_open_in_root(x->rootfd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
			return 0;
		r = fd < 0 ? fd : empty_dir(fd);
	} else if (!strncmp(leaf, WH_META, strlen(WH_META))) {
		return 0; /* aufs bookkeeping (.wh..wh.plnk and co.): nothing to apply */
	} else {
		const char *victim = leaf + strlen(WH_PREFIX);
		if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
			return nk_err_msg(x->err, EPERM, "refusing whiteout %s in %s: it names no file",
					  name, x->what);
		nk_autoclose int pfd = open_dir(x, parent, 0);
		if (pfd == -ENOENT || pfd == -ENOTDIR)
			return 0;
		r = pfd < 0 ? pfd : remove_at(pfd, victim);
	}
	if (r < 0)
		return nk_err_set(x->err, -r, "cannot apply whiteout %s from %s", name, x->what);
	return 0;
}

static void set_xattrs(int fd, struct archive_entry *e)
{
	const char *name;
	const void *val;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		/* trusted.* includes overlayfs's own redirect/opaque marks: an image must not steer
		 * the overlay this rootfs later sits under. File capabilities and user.* are data. */
		if (strncmp(name, "user.", 5) && strcmp(name, "security.capability"))
			continue;
		(void)fsetxattr(fd, name, val, size, 0);
	}
}

/* Owner, mode, xattrs, times, in that order: chown clears setuid bits and file capabilities.
 * Owners are best effort where the ids are not ours to give (a user namespace, not root). */
static int set_meta(struct xtr *x, int fd, int pfd, const char *leaf, struct archive_entry *e)
{
	uid_t uid = archive_entry_uid(e);
	gid_t gid = archive_entry_gid(e);
	if (x->as_root && (fd >= 0 ? fchown(fd, uid, gid)
				   : fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0 &&
	    errno != EPERM && errno != EINVAL)
		return -errno;
	mode_t mode = archive_entry_perm(e) & 07777;
	if (fd >= 0 ? fchmod(fd, mode) < 0
		    : archive_entry_filetype(e) != AE_IFLNK && fchmodat(pfd, leaf, mode, 0) < 0)
		return -errno;
	if (fd >= 0)
		set_xattrs(fd, e);
	struct timespec ts[2] = {
		{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
		{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
	};
	if ((fd >= 0 ? futimens(fd, ts) : utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW)) < 0)
		return -errno;
	return 0;
}

static int write_file(struct xtr *x, struct archive *a, int pfd, const char *leaf,
		      struct archive_entry *e, const char *name)
{
	nk_autoclose int fd =
		openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return nk_err_set(x->err, errno, "cannot create %s from %s", name, x->what);
	const void *buf;
	size_t size;
	la_int64_t off;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return nk_err_msg(x->err, EIO, "cannot read %s from %s: %s", name, x->what,
					  archive_error_string(a));
		while (size > 0) {
			ssize_t w = pwrite(fd, buf, size, off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return nk_err_set(x->err, errno, "cannot write %s from %s", name, x->what);
			buf = (const char *)buf + w;
			size -= (size_t)w;
			off += w;
		}
	}
	/* A sparse file may end in a hole that no data block covers. */
	if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
		return nk_err_set(x->err, errno, "cannot size %s from %s", name, x->what);
	int r = set_meta(x, fd, -1, NULL, e);
	return r < 0 ? nk_err_set(x->err, -r, "cannot set owner, mode or time of %s from %s", name, x->what) : 0;
}

static int make_dir(struct xtr *x, int pfd, const char *leaf, struct archive_entry *e)
{
	if (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)
		return -errno;
	nk_autoclose int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return set_meta(x, fd, -1, NULL, e);
}

/* The target is looked up inside dest like any path, so a link can only join files of dest. */
static int make_hardlink(struct xtr *x, int pfd, const char *leaf, const char *target,
			 const char *name)
{
	char path[PATH_MAX];
	int r = clean_path(target, path, sizeof(path));
	if (r < 0 || !*path)
		return nk_err_msg(x->err, EPERM,
				  "refusing hard link %s -> %s in %s: the target is outside the image; "
				  "the archive is malformed or hostile", name, target, x->what);
	char *slash = strrchr(path, '/');
	const char *tleaf = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	nk_autoclose int tfd = open_dir(x, slash ? path : "", 0);
	struct stat tst, st;
	if (tfd < 0 || fstatat(tfd, tleaf, &tst, AT_SYMLINK_NOFOLLOW) < 0)
		return nk_err_msg(x->err, ENOENT, "cannot extract hard link %s from %s: its target %s "
				  "is not in the image (it must come earlier in the archive)",
				  name, x->what, target);
	if (S_ISDIR(tst.st_mode))
		return nk_err_msg(x->err, EPERM, "refusing hard link %s in %s: target %s is a directory",
				  name, x->what, target);
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
			return 0;
		r = remove_at(pfd, leaf);
	}
	if (r < 0 || linkat(tfd, tleaf, pfd, leaf, 0) < 0)
		return nk_err_set(x->err, r < 0 ? -r : errno, "cannot extract hard link %s from %s",
				  name, x->what);
	return 0;
}

static int make_node(struct xtr *x, int pfd, const char *leaf, struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);
	if (mknodat(pfd, leaf, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) < 0) {
		/* Unprivileged or in a user namespace: an image's device nodes are rarely needed. */
		if (type != AE_IFIFO && (errno == EPERM || errno == EACCES)) {
			x->skipped_devices++;
			return 0;
		}
		return -errno;
	}
	return set_meta(x, -1, pfd, leaf, e);
}

static int extract_entry(struct xtr *x, struct archive *a, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	if (!name)
		name = archive_entry_pathname_utf8(e);
	if (!name)
		return nk_err_msg(x->err, EINVAL, "cannot read %s: an entry has no name", x->what);
	char path[PATH_MAX];
	int r = clean_path(name, path, sizeof(path));
	if (r == -EPERM)
		return nk_err_msg(x->err, EPERM, "refusing entry %s in %s: \"..\" would climb out of "
				  "the image; the archive is malformed or hostile", name, x->what);
	if (r < 0)
		return nk_err_msg(x->err, ENAMETOOLONG, "refusing entry in %s: name longer than %d "
				  "bytes", x->what, PATH_MAX);
	if (!*path)
		return 0; /* "./": dest itself, which the caller made */
	char *slash = strrchr(path, '/');
	const char *leaf = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	const char *parent = slash ? path : "";
	if (!strncmp(leaf, WH_PREFIX, strlen(WH_PREFIX)))
		return whiteout(x, parent, leaf, name);

	nk_autoclose int pfd = open_dir(x, parent, 1);
	if (pfd < 0)
		return nk_err_set(x->err, -pfd, "cannot extract %s from %s: cannot open or create its "
				  "directory", name, x->what);
	const char *hardlink = archive_entry_hardlink(e);
	if (hardlink)
		return make_hardlink(x, pfd, leaf, hardlink, name);
	mode_t type = archive_entry_filetype(e);
	struct stat st;
	/* Anything already there is replaced, except a directory by a directory (merged). */
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !(type == AE_IFDIR && S_ISDIR(st.st_mode)) && (r = remove_at(pfd, leaf)) < 0)
		return nk_err_set(x->err, -r, "cannot replace %s while extracting %s", name, x->what);
	const char *target;
	switch (type) {
	case AE_IFREG:
		return write_file(x, a, pfd, leaf, e, name);
	case AE_IFDIR:
		r = make_dir(x, pfd, leaf, e);
		break;
	case AE_IFLNK:
		/* Stored as-is: extraction never follows it, and later lookups stay in-root. */
		target = archive_entry_symlink(e);
		if (!target || !*target)
			return nk_err_msg(x->err, EINVAL, "refusing symlink %s in %s: it has no target",
					  name, x->what);
		r = symlinkat(target, pfd, leaf) < 0 ? -errno : set_meta(x, -1, pfd, leaf, e);
		break;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		r = make_node(x, pfd, leaf, e);
		break;
	default:
		return 0; /* sockets and unknown types carry nothing worth keeping */
	}
	if (r < 0)
		return nk_err_set(x->err, -r, "cannot extract %s from %s", name, x->what);
	return 0;
}

int nk_tar_extract_fd(int fd, const char *what, const char *dest, struct nk_err *err)
{
	struct xtr x = {.what = what, .err = err, .as_root = geteuid() == 0};
	nk_err_clear(err);
	int loaded = nk_archive_load(err);
	if (loaded < 0)
		return loaded;
	x.rootfd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (x.rootfd < 0)
		return nk_err_set(err, errno, "cannot open extraction directory %s", dest);
	struct archive *a = archive_read_new();
	if (!a) {
		close(x.rootfd);
		return nk_err_set(err, ENOMEM, "cannot extract %s", what);
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		r = nk_err_msg(err, EINVAL, "cannot read %s: %s; is it a tar archive (plain or "
			       "compressed)?", what, archive_error_string(a));
	while (r == 0) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		/* RETRY included: a damaged archive could otherwise keep us here forever. */
		if (ar < ARCHIVE_WARN || ar == ARCHIVE_RETRY)
			r = nk_err_msg(err, EINVAL, "cannot read %s: %s; is it a complete tar archive "
				       "(plain or compressed)?", what, archive_error_string(a));
		else
			r = extract_entry(&x, a, e);
	}
	archive_read_free(a);
	close(x.rootfd);
	if (r == 0 && x.skipped_devices)
		fprintf(stderr, "nook: warning: %s: skipped %u device node(s): not permitted to "
			"create them here\n", what, x.skipped_devices);
	return r;
}

int nk_tar_extract(const char *tar_path, const char *dest, struct nk_err *err)
{
	nk_autoclose int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open %s", tar_path);
	return nk_tar_extract_fd(fd, tar_path, dest, err);
}
