/* Parts of the container's tree that OCI bundles ask for: a cgroup mount showing the
 * container's own group, extra device nodes, sysctls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "rootfs-internal.h"
#include "util.h"

#define HOST_CGROUP "/sys/fs/cgroup"

static int bind_at(int rootfd, const char *source, const char *dest, int readonly, struct nk_err *err)
{
	nk_autoclose int fd = nk_root_mkdir(rootfd, dest);
	if (fd < 0)
		return nk_err_set(err, -fd, "cannot create mount point %s", dest);
	char target[64];
	nk_root_fd_path(fd, target, sizeof(target));
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return nk_err_set(err, errno, "cannot bind %s on %s", source, dest);
	int r = nk_root_remount(rootfd, dest, MS_NOSUID | MS_NODEV | MS_NOEXEC, readonly);
	return r < 0 ? nk_err_set(err, -r, "cannot remount %s", dest) : 0;
}

/* cgroup v1: a tmpfs with one directory per hierarchy, each the container's group in it
 * (the co-mounted names, cpu -> cpu,cpuacct, as symlinks like on the host). */
static int mount_v1(int rootfd, const struct nk_mount *m, const char *relpath, struct nk_err *err)
{
	nk_autoclose int fd = nk_root_mkdir(rootfd, m->destination);
	if (fd < 0)
		return nk_err_set(err, -fd, "cannot create mount point %s", m->destination);
	char target[64];
	nk_root_fd_path(fd, target, sizeof(target));
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k") < 0)
		return nk_err_set(err, errno, "cannot mount a tmpfs on %s", m->destination);
	DIR *d = opendir(HOST_CGROUP);
	if (!d)
		return nk_err_set(err, errno, "cannot read %s", HOST_CGROUP);
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		char host[PATH_MAX], group[PATH_MAX], dest[PATH_MAX], link[256];
		if (e->d_name[0] == '.' || nk_fmt(host, sizeof(host), HOST_CGROUP "/%s", e->d_name) < 0 ||
		    nk_fmt(dest, sizeof(dest), "%s/%s", m->destination, e->d_name) < 0)
			continue;
		ssize_t n = readlink(host, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			nk_autoclose int dir = nk_root_open(rootfd, m->destination, O_PATH | O_DIRECTORY, 0);
			if (dir >= 0 && symlinkat(link, dir, e->d_name) < 0 && errno != EEXIST)
				r = nk_err_set(err, errno, "cannot create %s", dest);
			continue;
		}
		struct stat st;
		/* Hierarchies the container has no group in (unified with only hugetlb, say) stay out. */
		if (nk_fmt(group, sizeof(group), "%s/%s", host, relpath) < 0 || stat(group, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		r = bind_at(rootfd, group, dest, 0, err);
	}
	closedir(d);
	if (r == 0 && m->readonly && (r = nk_root_remount(rootfd, m->destination, MS_NOSUID | MS_NODEV | MS_NOEXEC, 1)) < 0)
		return nk_err_set(err, -r, "cannot make %s read-only", m->destination);
	return r;
}

int nk_root_mount_cgroup(int rootfd, const struct nk_mount *m, const struct nk_spec *spec, struct nk_err *err)
{
	const char *relpath = spec->cgroups_path ? spec->cgroups_path : "";
	while (*relpath == '/')
		relpath++;
	struct statfs fs;
	if (statfs(HOST_CGROUP, &fs) < 0)
		return nk_err_set(err, errno, "cannot read %s", HOST_CGROUP);
	if (fs.f_type != CGROUP2_SUPER_MAGIC)
		return mount_v1(rootfd, m, relpath, err);
	/* cgroup v2: the group's directory is the whole tree the container sees. */
	char group[PATH_MAX];
	if (nk_fmt(group, sizeof(group), HOST_CGROUP "/%s", relpath) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	return bind_at(rootfd, group, m->destination, m->readonly, err);
}

int nk_root_make_devices(int rootfd, const struct nk_spec *spec, struct nk_err *err)
{
	for (size_t i = 0; i < spec->device_count; i++) {
		const struct nk_device *d = &spec->devices[i];
		char parent[PATH_MAX];
		if (nk_fmt(parent, sizeof(parent), "%s", d->path) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "device path too long");
		char *slash = strrchr(parent, '/');
		*slash = '\0';
		nk_autoclose int dir = nk_root_mkdir(rootfd, parent);
		if (dir < 0)
			return nk_err_set(err, -dir, "cannot create %s", parent);
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		const char *name = slash + 1;
		unlinkat(dir, name, 0);
		if (mknodat(dir, name, type | d->mode, makedev((unsigned)d->major, (unsigned)d->minor)) < 0)
			return nk_err_set(err, errno, "cannot create device %s", d->path);
		if (fchmodat(dir, name, d->mode, 0) < 0 || fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return nk_err_set(err, errno, "cannot set the owner and mode of %s", d->path);
	}
	return 0;
}

int nk_root_write_sysctls(int rootfd, const struct nk_spec *spec, struct nk_err *err)
{
	for (size_t i = 0; spec->sysctl && spec->sysctl[i]; i += 2) {
		char path[PATH_MAX];
		if (nk_fmt(path, sizeof(path), "/proc/sys/%s", spec->sysctl[i]) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "sysctl name too long");
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		nk_autoclose int fd = nk_root_open(rootfd, path, O_WRONLY, 0);
		const char *v = spec->sysctl[i + 1];
		if (fd < 0)
			return nk_err_set(err, -fd, "cannot set sysctl %s (is /proc mounted in the container?)", spec->sysctl[i]);
		if (write(fd, v, strlen(v)) < 0)
			return nk_err_set(err, errno, "cannot set sysctl %s to '%s'", spec->sysctl[i], v);
	}
	return 0;
}

static int copy_file(int from_dir, int to_dir, const char *name, const struct stat *st)
{
	nk_autoclose int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	nk_autoclose int out = in < 0 ? -1 : openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (in < 0 || out < 0)
		return -errno;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (nk_write_all(out, buf, (size_t)n) < 0)
			return -errno;
	return n < 0 ? -errno : 0;
}

int nk_root_copy_tree(int from_dir, int to_dir)
{
	int dup_fd = fcntl(from_dir, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		const char *name = e->d_name;
		struct stat st;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to_dir, name, st.st_mode & 07777) < 0) {
				r = -errno;
				break;
			}
			int a = openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int b = openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = a < 0 || b < 0 ? -errno : nk_root_copy_tree(a, b);
			if (a >= 0)
				close(a);
			if (b >= 0)
				close(b);
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file(from_dir, to_dir, name, &st);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from_dir, name, target, sizeof(target) - 1);
			if (n < 0 || (target[n] = '\0', symlinkat(target, to_dir, name) < 0))
				r = -errno;
		} else if (mknodat(to_dir, name, st.st_mode, st.st_rdev) < 0) {
			r = -errno;
		}
		if (r == 0 && fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		if (r == 0 && !S_ISLNK(st.st_mode) && fchmodat(to_dir, name, st.st_mode & 07777, 0) < 0)
			r = -errno;
	}
	closedir(d);
	/* The tmpfs's own root takes the directory's mode and owner too. */
	struct stat top;
	if (r == 0 && fstat(from_dir, &top) == 0 && (fchown(to_dir, top.st_uid, top.st_gid) < 0 || fchmod(to_dir, top.st_mode & 07777) < 0))
		r = -errno;
	return r;
}
