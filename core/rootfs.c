/* The container's mount tree: overlay root, spec mounts, /dev, masked paths, pivot_root. */
#include "rootfs.h"
#include "rootfs-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

/* Resolve a path as if rootfd were "/": an image's symlinks can never point a mount
 * outside the container's root. */
int nk_root_open(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Create every directory of path below rootfd (safely), returning an O_PATH fd to it. */
int nk_root_mkdir(int rootfd, const char *path)
{
	char buf[PATH_MAX];
	if (nk_fmt(buf, sizeof(buf), "%s", path) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		int fd = nk_root_open(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		if (fd == -ENOENT) {
			/* Create the last component inside its (safely resolved) parent. */
			char *slash = strrchr(buf, '/');
			*slash = '\0';
			int parent = nk_root_open(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, 0);
			*slash = '/';
			if (parent < 0)
				return parent;
			int r = mkdirat(parent, slash + 1, 0755);
			int e = errno;
			close(parent);
			if (r < 0 && e != EEXIST)
				return -e;
			fd = nk_root_open(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		}
		if (fd < 0)
			return fd;
		*p = saved;
		if (saved == '\0')
			return fd;
		close(fd);
	}
}

/* A mount target for a file: parents created, the file itself created empty if missing. */
int nk_root_mkfile(int rootfd, const char *path)
{
	int fd = nk_root_open(rootfd, path, O_PATH, 0);
	if (fd >= 0 || fd != -ENOENT)
		return fd;
	char parent[PATH_MAX];
	if (nk_fmt(parent, sizeof(parent), "%s", path) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int pfd = nk_root_mkdir(rootfd, parent);
		if (pfd < 0)
			return pfd;
		close(pfd);
	}
	fd = nk_root_open(rootfd, path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return fd;
	close(fd);
	return nk_root_open(rootfd, path, O_PATH, 0);
}

void nk_root_fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

static int mount_root(const struct nk_paths *paths, const struct nk_spec *spec, struct nk_err *err)
{
	if (spec->rootfs_lower && spec->rootfs_upper && spec->rootfs_work) {
		char opts[3 * PATH_MAX + 64];
		if (nk_fmt(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", spec->rootfs_lower,
			   spec->rootfs_upper, spec->rootfs_work) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "overlay options too long");
		if (mount("overlay", spec->root_path, "overlay", MS_NODEV, opts) < 0)
			return nk_err_set(err, errno, "cannot mount the overlay root on %s (lower %s)",
					  spec->root_path, spec->rootfs_lower);
	} else if (mount(spec->root_path, spec->root_path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return nk_err_set(err, errno, "cannot bind the root %s", spec->root_path);
	}
	(void)paths;
	return 0;
}

/* Make the mount at path (inside rootfd) read-only, keeping its other flags. */
int nk_root_remount_readonly(int rootfd, const char *path, unsigned long flags)
{
	return nk_root_remount(rootfd, path, flags, 1);
}

/* Remount a bind mount with nosuid/nodev/noexec from flags, and read-only if asked. */
int nk_root_remount(int rootfd, const char *path, unsigned long flags, int readonly)
{
	nk_autoclose int fd = nk_root_open(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return fd;
	char target[64];
	nk_root_fd_path(fd, target, sizeof(target));
	unsigned long keep = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | (readonly ? MS_RDONLY : 0) | keep, NULL) < 0)
		return -errno;
	return 0;
}

static int do_mount(int rootfd, const struct nk_mount *m, const struct nk_spec *spec, struct nk_err *err)
{
	char target[64];
	int is_file = 0;
	if (m->bind) {
		struct stat st;
		if (stat(m->source, &st) < 0)
			return nk_err_set(err, errno, "cannot bind %s", m->source);
		is_file = !S_ISDIR(st.st_mode);
	}
	nk_autoclose int fd = is_file ? nk_root_mkfile(rootfd, m->destination)
				      : nk_root_mkdir(rootfd, m->destination);
	if (fd < 0)
		return nk_err_set(err, -fd, "cannot create mount point %s", m->destination);
	nk_root_fd_path(fd, target, sizeof(target));
	if (m->bind) {
		unsigned long f = MS_BIND | (m->recursive ? MS_REC : 0);
		if (mount(m->source, target, NULL, f, NULL) < 0)
			return nk_err_set(err, errno, "cannot bind %s on %s", m->source, m->destination);
		/* A bind mount takes ro/nosuid/... only through a remount of the new mount. */
		if (m->readonly || (m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC))) {
			int r = nk_root_remount(rootfd, m->destination, m->flags, m->readonly);
			if (r < 0)
				return nk_err_set(err, -r, "cannot make %s read-only", m->destination);
		}
		return 0;
	}
	if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"))
		return nk_root_mount_cgroup(rootfd, m, spec, err);
	unsigned long flags = m->flags & ~(MS_BIND | MS_REC);
	/* tmpcopyup: keep a handle on what is there now, to copy it into the new tmpfs. */
	nk_autoclose int below = m->copyup ? nk_root_open(rootfd, m->destination, O_RDONLY | O_DIRECTORY, 0) : -1;
	if (m->copyup && below < 0)
		return nk_err_set(err, -below, "cannot open %s to copy it up", m->destination);
	unsigned long first = m->copyup ? flags & ~MS_RDONLY : flags; /* read-only after the copy */
	if (mount(m->source, target, m->type, first, m->data && *m->data ? m->data : NULL) < 0)
		return nk_err_set(err, errno, "cannot mount %s on %s", m->type, m->destination);
	if (m->copyup) {
		nk_autoclose int top = nk_root_open(rootfd, m->destination, O_RDONLY | O_DIRECTORY, 0);
		int r = top < 0 ? top : nk_root_copy_tree(below, top);
		if (r < 0)
			return nk_err_set(err, -r, "cannot copy %s into its tmpfs", m->destination);
	}
	if (m->copyup && (flags & MS_RDONLY) &&
	    mount(NULL, target, NULL, MS_REMOUNT | flags, m->data && *m->data ? m->data : NULL) < 0)
		return nk_err_set(err, errno, "cannot make %s read-only", m->destination);
	return 0;
}

/* /dev holds only what a program needs; the devices come from the host's numbers. */
static int populate_dev(int rootfd, const char *console, struct nk_err *err)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} devices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
		       {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	static const struct {
		const char *target, *name;
	} links[] = {{"pts/ptmx", "ptmx"},       {"/proc/self/fd", "fd"},
		     {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		     {"/proc/self/fd/2", "stderr"}};
	nk_autoclose int dev = nk_root_open(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
	if (dev < 0)
		return nk_err_set(err, -dev, "cannot open /dev in the container");
	for (size_t i = 0; i < NK_ARRAY_SIZE(devices); i++) {
		if (mknodat(dev, devices[i].name, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) < 0 &&
		    errno != EEXIST)
			return nk_err_set(err, errno, "cannot create /dev/%s", devices[i].name);
		/* The umask would otherwise leave them unwritable for non-root users. */
		if (fchmodat(dev, devices[i].name, 0666, 0) < 0)
			return nk_err_set(err, errno, "cannot chmod /dev/%s", devices[i].name);
	}
	for (size_t i = 0; i < NK_ARRAY_SIZE(links); i++)
		if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot create /dev/%s", links[i].name);
	if (console) {
		int fd = openat(dev, "console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			return nk_err_set(err, errno, "cannot create /dev/console");
		close(fd);
		/* By path: a descriptor from before the clone names the parent namespace's
		 * mount, which cannot be bound here. */
		nk_autoclose int target = nk_root_open(rootfd, "/dev/console", O_PATH, 0);
		char dst[64];
		nk_root_fd_path(target, dst, sizeof(dst));
		if (target < 0 || mount(console, dst, NULL, MS_BIND, NULL) < 0)
			return nk_err_set(err, errno, "cannot bind the console on /dev/console");
	}
	return 0;
}

static int mask_paths(int rootfd, char **paths, struct nk_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		nk_autoclose int fd = nk_root_open(rootfd, paths[i], O_PATH, 0);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return nk_err_set(err, -fd, "cannot mask %s", paths[i]);
		struct stat st;
		char target[64];
		nk_root_fd_path(fd, target, sizeof(target));
		if (fstat(fd, &st) < 0)
			return nk_err_set(err, errno, "cannot mask %s", paths[i]);
		int r = S_ISDIR(st.st_mode)
			    ? mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
			    : mount("/dev/null", target, NULL, MS_BIND, NULL);
		if (r < 0)
			return nk_err_set(err, errno, "cannot mask %s", paths[i]);
	}
	return 0;
}

static int readonly_paths(int rootfd, char **paths, struct nk_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		nk_autoclose int fd = nk_root_open(rootfd, paths[i], O_PATH, 0);
		if (fd == -ENOENT)
			continue;
		char target[64];
		nk_root_fd_path(fd, target, sizeof(target));
		if (fd < 0 || mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return nk_err_set(err, fd < 0 ? -fd : errno, "cannot bind %s", paths[i]);
		int r = nk_root_remount_readonly(rootfd, paths[i], MS_NOSUID | MS_NODEV | MS_NOEXEC);
		if (r < 0)
			return nk_err_set(err, -r, "cannot make %s read-only", paths[i]);
	}
	return 0;
}

/* On the host image, nook's own state would be visible (and writable through the
 * overlay); cover it so a sandbox cannot tamper with other instances. */
static int hide_nook_state(int rootfd, const struct nk_paths *paths, struct nk_err *err)
{
	const char *const dirs[] = {paths->root, paths->run};
	for (size_t i = 0; i < NK_ARRAY_SIZE(dirs); i++) {
		nk_autoclose int fd = nk_root_open(rootfd, dirs[i], O_PATH | O_DIRECTORY, 0);
		if (fd == -ENOENT)
			continue;
		char target[64];
		nk_root_fd_path(fd, target, sizeof(target));
		if (fd < 0 || mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=755") < 0)
			return nk_err_set(err, fd < 0 ? -fd : errno, "cannot hide %s", dirs[i]);
	}
	return 0;
}

static int enter_root(const char *root, struct nk_err *err)
{
	if (chdir(root) < 0)
		return nk_err_set(err, errno, "cannot enter %s", root);
	/* pivot_root(".", ".") stacks the old root under the new one; detach it at once. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return nk_err_set(err, errno, "pivot_root into %s failed", root);
	if (umount2(".", MNT_DETACH) < 0)
		return nk_err_set(err, errno, "cannot detach the old root");
	if (chdir("/") < 0)
		return nk_err_set(err, errno, "cannot chdir to the new root");
	return 0;
}

int nk_rootfs_prepare(const struct nk_paths *paths, const struct nk_spec *spec, const char *console,
		    struct nk_err *err)
{
	/* Nothing mounted here may propagate back to the host, nor host mounts in here. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nk_err_set(err, errno, "cannot make the mount tree private");
	int r = mount_root(paths, spec, err);
	if (r < 0)
		return r;
	nk_autoclose int rootfd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return nk_err_set(err, errno, "cannot open the root %s", spec->root_path);
	for (size_t i = 0; i < spec->mount_count; i++) {
		if ((r = do_mount(rootfd, &spec->mounts[i], spec, err)) < 0)
			return r;
		if (!strcmp(spec->mounts[i].destination, "/dev") && (r = populate_dev(rootfd, console, err)) < 0)
			return r;
	}
	if ((r = nk_root_make_devices(rootfd, spec, err)) < 0 || (r = nk_root_write_sysctls(rootfd, spec, err)) < 0)
		return r;
	if (spec->rootfs_lower && !strcmp(spec->rootfs_lower, "/") && (r = hide_nook_state(rootfd, paths, err)) < 0)
		return r;
	if ((r = mask_paths(rootfd, spec->masked_paths, err)) < 0)
		return r;
	if ((r = readonly_paths(rootfd, spec->readonly_paths, err)) < 0)
		return r;
	if (spec->root_readonly && (r = nk_root_remount_readonly(rootfd, "/", MS_NODEV)) < 0)
		return nk_err_set(err, -r, "cannot make the root read-only");
	return 0;
}

/* For a root on ramfs, which pivot_root refuses: move it over / and chroot. The old tree
 * stays underneath, which is why pivot_root is the default. */
static int move_root(const char *root, struct nk_err *err)
{
	if (chdir(root) < 0)
		return nk_err_set(err, errno, "cannot enter %s", root);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return nk_err_set(err, errno, "cannot move %s over /", root);
	if (chroot(".") < 0 || chdir("/") < 0)
		return nk_err_set(err, errno, "cannot chroot into %s", root);
	return 0;
}

int nk_rootfs_enter(const struct nk_spec *spec, struct nk_err *err)
{
	return spec->no_pivot ? move_root(spec->root_path, err) : enter_root(spec->root_path, err);
}
