/* What an instance did to its root file system, read from the overlay's upper layer. */
#include "changes.h"

#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image-internal.h"
#include "instance.h"
#include "spec.h"
#include "util.h"

/* overlayfs marks a deletion with a 0:0 character device, and a directory whose lower
 * contents are hidden with the trusted.overlay.opaque xattr. */
static int is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int is_opaque(int dirfd, const char *name)
{
	char path[PATH_MAX + 32], v[4];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	ssize_t n = getxattr(path, "trusted.overlay.opaque", v, sizeof(v));
	return n > 0 && v[0] == 'y';
}

struct layers {
	char upper[PATH_MAX], lower[PATH_MAX];
	int host;
};

static int open_layers(const struct nk_paths *paths, const char *name, struct layers *l, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	char cfg[PATH_MAX];
	struct nk_spec spec;
	if ((r = nk_path_instance(paths, name, "config.json", cfg, sizeof(cfg))) < 0 ||
	    (r = nk_spec_load_file(cfg, &spec, err)) < 0)
		return r;
	if (!spec.rootfs_upper || !spec.rootfs_lower) {
		nk_spec_free(&spec);
		return nk_err_msg(err, ENOTSUP, "%s has no overlay layers (is it a VM?)", name);
	}
	snprintf(l->upper, sizeof(l->upper), "%s", spec.rootfs_upper);
	snprintf(l->lower, sizeof(l->lower), "%s", spec.rootfs_lower);
	l->host = !strcmp(spec.rootfs_lower, "/");
	nk_spec_free(&spec);
	return 0;
}

static int in_lower(const struct layers *l, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	if (nk_fmt(p, sizeof(p), "%s/%s", strcmp(l->lower, "/") ? l->lower : "", rel) < 0)
		return 0;
	return lstat(p, &st) == 0;
}

static void walk(const struct layers *l, int dirfd, const char *rel, nk_change_fn fn, void *opaque)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char path[PATH_MAX];
		if (nk_fmt(path, sizeof(path), "%s/%s", rel, de->d_name) < 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (is_whiteout(&st)) {
			fn('D', path, opaque);
			continue;
		}
		int existed = in_lower(l, path + 1);
		if (!S_ISDIR(st.st_mode)) {
			fn(existed ? 'C' : 'A', path, opaque);
			continue;
		}
		/* A directory only copied up to hold changes below it is not a change itself. */
		if (!existed)
			fn('A', path, opaque);
		else if (is_opaque(dirfd, de->d_name))
			fn('C', path, opaque);
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			walk(l, sub, path, fn, opaque);
	}
	closedir(d);
}

int nk_changes_list(const struct nk_paths *paths, const char *name, nk_change_fn fn, void *opaque,
		    struct nk_err *err)
{
	struct layers l;
	int r = open_layers(paths, name, &l, err);
	if (r < 0)
		return r;
	int fd = open(l.upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot read the changes of %s", name);
	walk(&l, fd, "", fn, opaque);
	return 0;
}

/* Resolve path as if root_fd were "/": the instance's symlinks never lead outside it. */
static int open_in(int root_fd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	while (*path == '/')
		path++;
	long fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int copy_out(int src_fd, const char *host_path, struct nk_err *err)
{
	struct stat st;
	char src[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", src_fd);
	if (fstat(src_fd, &st) < 0)
		return nk_err_set(err, errno, "cannot stat the source");
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(host_path, 0755) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot create %s", host_path);
		return nk_image_copy_tree(src, host_path, err);
	}
	char dir[PATH_MAX], *base;
	snprintf(dir, sizeof(dir), "%s", host_path);
	base = strrchr(dir, '/');
	const char *leaf = base ? base + 1 : dir;
	if (base)
		*base = '\0';
	unlink(host_path);
	return nk_image_copy_file(src, base ? (dir[0] ? dir : "/") : ".", leaf, err);
}

/* The root a copy works in: the live root of a running instance, else its upper layer
 * (falling back to the image for reads). */
static int instance_root(const struct nk_paths *paths, const char *name, const struct layers *l, int writing,
			 const char *path, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	char root[PATH_MAX];
	if (info.state.status == NK_RUNNING && info.state.init_pid > 0)
		snprintf(root, sizeof(root), "/proc/%d/root", (int)info.state.init_pid);
	else
		snprintf(root, sizeof(root), "%s", l->upper);
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot reach the root of %s", name);
	if (writing || info.state.status == NK_RUNNING)
		return fd;
	/* Stopped, reading: the upper layer has it (and it is not a deletion), or the image. */
	struct stat st;
	int probe = open_in(fd, path, O_PATH | O_NOFOLLOW);
	int in_upper = probe >= 0 && fstat(probe, &st) == 0 && !is_whiteout(&st);
	if (probe >= 0)
		close(probe);
	if (in_upper)
		return fd;
	close(fd);
	fd = open(l->lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? nk_err_set(err, errno, "cannot open the image of %s", name) : fd;
}

int nk_changes_copy(const struct nk_paths *paths, const char *name, const char *path, const char *host_path,
		    int to_host, struct nk_err *err)
{
	struct layers l;
	int r = open_layers(paths, name, &l, err);
	if (r < 0)
		return r;
	if (path[0] != '/')
		return nk_err_msg(err, EINVAL, "the path inside %s must be absolute: %s", name, path);
	nk_autoclose int root = instance_root(paths, name, &l, !to_host, path, err);
	if (root < 0)
		return root;
	if (to_host) {
		nk_autoclose int src = open_in(root, path, O_RDONLY | O_NOFOLLOW);
		if (src < 0)
			return nk_err_set(err, -src, "cannot read %s in %s", path, name);
		return copy_out(src, host_path, err);
	}
	/* Into the instance: the parent must exist there; the copy lands under it. */
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	const char *leaf = slash + 1;
	*slash = '\0';
	if (!*leaf)
		return nk_err_msg(err, EINVAL, "give a file name inside %s, not a directory: %s", name, path);
	nk_autoclose int dir = open_in(root, parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
	if (dir < 0 && !to_host && dir == -ENOENT) {
		/* Stopped: the parent may exist only in the image; make it in the upper layer. */
		char up[PATH_MAX];
		if (nk_fmt(up, sizeof(up), "%s%s", l.upper, parent) == 0 && nk_mkdir_p(up, 0755, err) == 0)
			dir = open_in(root, parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
	}
	if (dir < 0)
		return nk_err_set(err, -dir, "cannot reach %s in %s", parent[0] ? parent : "/", name);
	char target[64];
	snprintf(target, sizeof(target), "/proc/self/fd/%d", dir);
	struct stat st;
	if (stat(host_path, &st) < 0)
		return nk_err_set(err, errno, "cannot read %s", host_path);
	if (S_ISDIR(st.st_mode)) {
		char dest[PATH_MAX];
		snprintf(dest, sizeof(dest), "%s/%s", target, leaf);
		if (mkdirat(dir, leaf, 0755) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot create %s in %s", path, name);
		return nk_image_copy_tree(host_path, dest, err);
	}
	unlinkat(dir, leaf, 0);
	return nk_image_copy_file(host_path, target, leaf, err);
}

/* Put upper's changes on top of dest (a copy of the image). */
static int apply_upper(int upper_fd, const char *dest, struct nk_err *err)
{
	DIR *d = fdopendir(upper_fd);
	if (!d) {
		close(upper_fd);
		return nk_err_set(err, errno, "cannot read the upper layer");
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char target[PATH_MAX], src[PATH_MAX + 32];
		if (nk_fmt(target, sizeof(target), "%s/%s", dest, de->d_name) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "path too long");
		snprintf(src, sizeof(src), "/proc/self/fd/%d/%s", dirfd(d), de->d_name);
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		struct stat old;
		int exists = lstat(target, &old) == 0;
		if (is_whiteout(&st) || (exists && (!S_ISDIR(st.st_mode) || !S_ISDIR(old.st_mode) ||
						   is_opaque(dirfd(d), de->d_name)))) {
			if ((r = nk_rm_rf(target, err)) < 0)
				break;
			exists = 0;
			if (is_whiteout(&st))
				continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!exists && mkdir(target, st.st_mode & 07777) < 0)
				r = nk_err_set(err, errno, "cannot create %s", target);
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (r == 0 && sub >= 0)
				r = apply_upper(sub, target, err);
		} else {
			char tdir[PATH_MAX];
			snprintf(tdir, sizeof(tdir), "%s", dest);
			if (S_ISLNK(st.st_mode)) {
				char link[PATH_MAX];
				ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
				if (n >= 0) {
					link[n] = '\0';
					if (symlink(link, target) < 0)
						r = nk_err_set(err, errno, "cannot create %s", target);
				}
			} else {
				r = nk_image_copy_file(src, tdir, de->d_name, err);
			}
		}
	}
	closedir(d);
	return r;
}

int nk_changes_commit(const struct nk_paths *paths, const char *name, const char *image, struct nk_err *err)
{
	struct layers l;
	int r = open_layers(paths, name, &l, err);
	if (r < 0)
		return r;
	if (l.host)
		return nk_err_msg(err, ENOTSUP, "%s runs on the host image: committing it would copy the whole host; "
					    "take what you need with `nook cp %s:PATH HOSTPATH`", name, name);
	char tmp[PATH_MAX];
	char leaf[64];
	snprintf(leaf, sizeof(leaf), ".commit-%d", (int)getpid());
	if (nk_path_instance(paths, name, leaf, tmp, sizeof(tmp)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (mkdir(tmp, 0755) < 0)
		return nk_err_set(err, errno, "cannot create %s", tmp);
	r = nk_image_copy_tree(l.lower, tmp, err);
	int up = r == 0 ? open(l.upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (r == 0)
		r = up < 0 ? nk_err_set(err, errno, "cannot read %s", l.upper) : apply_upper(up, tmp, err);
	if (r == 0)
		r = nk_image_import(paths, image, tmp, err);
	struct nk_err ignored;
	(void)!nk_rm_rf(tmp, &ignored);
	return r;
}
