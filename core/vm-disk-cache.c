/* VM root disks through a cache: mkfs.ext4 -d costs ~20 ms for a small image, a copy of
 * its result a few: each image's disk of a given size is made once and copied per instance. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vm-disk.h"

/* ".../images/NAME/rootfs" -> NAME */
static int image_name(const char *rootfs, char *out, size_t size)
{
	char buf[PATH_MAX];
	if (nk_fmt(buf, sizeof(buf), "%s", rootfs) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	slash = strrchr(buf, '/');
	return nk_fmt(out, size, "%s", slash ? slash + 1 : buf);
}

/* Copy only the data: holes stay holes, so a 256 MiB disk holding 10 MiB copies 10 MiB. */
static int copy_sparse(int in, int out, off_t size)
{
	if (ftruncate(out, size) < 0)
		return -errno;
	off_t pos = 0;
	for (;;) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		off_t off_in = data, off_out = data;
		while (off_in < hole) {
			ssize_t n = copy_file_range(in, &off_in, out, &off_out, (size_t)(hole - off_in), 0);
			if (n <= 0) {
				/* No copy_file_range between these files: plain reads and writes. */
				char buf[1 << 16];
				size_t want = (size_t)(hole - off_in) < sizeof(buf) ? (size_t)(hole - off_in) : sizeof(buf);
				ssize_t got = pread(in, buf, want, off_in);
				if (got <= 0 || pwrite(out, buf, (size_t)got, off_out) != got)
					return got < 0 ? -errno : -EIO;
				off_in += got;
				off_out += got;
			}
		}
		pos = hole;
	}
}

static int copy_disk(const char *from, const char *to, struct nk_err *err)
{
	char tmp[PATH_MAX];
	if (nk_fmt(tmp, sizeof(tmp), "%s.tmp-%d", to, (int)getpid()) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long: %s", to);
	nk_autoclose int in = open(from, O_RDONLY | O_CLOEXEC);
	nk_autoclose int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct stat st;
	if (in < 0 || out < 0 || fstat(in, &st) < 0) {
		int e = errno;
		if (out >= 0)
			unlink(tmp);
		return nk_err_set(err, e, "cannot copy the root disk %s", from);
	}
	int r = ioctl(out, FICLONE, in) == 0 ? 0 : copy_sparse(in, out, st.st_size);
	if (r == 0 && rename(tmp, to) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return nk_err_set(err, -r, "cannot copy the root disk to %s", to);
	}
	return 0;
}

int nk_vm_disk_make_cached(const struct nk_paths *paths, const char *rootfs, const char *path, uint64_t size,
			   struct nk_err *err)
{
	char name[256], dir[PATH_MAX], base[PATH_MAX];
	struct stat st;
	/* The rootfs's inode and change time name its content: a re-imported image gets others. */
	if (image_name(rootfs, name, sizeof(name)) < 0 || stat(rootfs, &st) < 0 ||
	    nk_fmt(dir, sizeof(dir), "%s/cache/disks", paths->root) < 0 ||
	    nk_fmt(base, sizeof(base), "%s/%s-%llx-%llx-%llu.ext4", dir, name, (unsigned long long)st.st_ino,
		   (unsigned long long)st.st_ctim.tv_sec, (unsigned long long)size) < 0)
		return nk_vm_disk_make(rootfs, path, size, err);
	int r = 0;
	if (access(base, F_OK) < 0 && ((r = nk_mkdir_p(dir, 0700, err)) < 0 || (r = nk_vm_disk_make(rootfs, base, size, err)) < 0))
		return r;
	return copy_disk(base, path, err);
}

void nk_vm_disk_forget_image(const struct nk_paths *paths, const char *image)
{
	char dir[PATH_MAX], prefix[300];
	if (nk_fmt(dir, sizeof(dir), "%s/cache/disks", paths->root) < 0 || nk_fmt(prefix, sizeof(prefix), "%s-", image) < 0)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		/* NAME-INO-CTIME-SIZE.ext4 exactly, or its .tmp-PID left by a mkfs that was
		 * killed: "web" must not take "web-2"'s disks. */
		unsigned long long ino, ctime, size;
		int end = 0;
		const char *rest = e->d_name + strlen(prefix);
		if (!strncmp(e->d_name, prefix, strlen(prefix)) &&
		    sscanf(rest, "%llx-%llx-%llu.ext4%n", &ino, &ctime, &size, &end) == 3 &&
		    (rest[end] == '\0' || !strncmp(rest + end, ".tmp-", 5)))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}
