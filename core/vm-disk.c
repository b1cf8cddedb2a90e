/* Root disks for VMs: sized from the rootfs, written by mkfs.ext4 -d (e2fsprogs), sparse. */
#include "vm-disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm/virtio-blk.h"
#include "core/vm/vmm.h"
#include "host-tool.h"
#include "util.h"

#define MIB (1ull << 20)

static int walk(int dfd, dev_t dev, const char *path, int depth, uint64_t *bytes, struct nk_err *err)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return nk_err_set(err, errno, "cannot read %s", path);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		*bytes += (uint64_t)st.st_blocks * 512 + 256; /* 256: ext4's inode size */
		if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
			if (depth > 256) {
				r = nk_err_msg(err, ELOOP, "%s is nested too deeply", path);
				break;
			}
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				r = walk(sub, dev, path, depth + 1, bytes, err);
		}
	}
	closedir(d);
	return r;
}

int nk_vm_disk_rootfs_bytes(const char *rootfs, uint64_t *bytes, struct nk_err *err)
{
	int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return nk_err_set(err, e, "cannot read the image's rootfs %s", rootfs);
	}
	*bytes = 0;
	return walk(fd, st.st_dev, rootfs, 0, bytes, err);
}

int nk_vm_disk_size(const char *rootfs, uint64_t requested, uint64_t *size, struct nk_err *err)
{
	uint64_t used;
	int r = nk_vm_disk_rootfs_bytes(rootfs, &used, err);
	if (r < 0)
		return r;
	if (requested > NK_VM_DISK_MAX)
		return nk_err_msg(err, EINVAL, "--disk-size is at most 1T");
	/* ext4's own metadata (journal, inode tables, group descriptors) takes a share. */
	uint64_t need = used + used / 8 + 16 * MIB;
	if (requested && requested < need)
		return nk_err_msg(err, ENOSPC, "--disk-size %llu MiB is too small for the image's %llu MiB of files "
				  "(give at least %llu MiB)", (unsigned long long)(requested / MIB),
				  (unsigned long long)(used / MIB), (unsigned long long)((need + MIB - 1) / MIB));
	uint64_t s = requested ? requested : used + NK_VM_DISK_HEADROOM;
	if (s < NK_VM_DISK_MIN)
		s = NK_VM_DISK_MIN;
	*size = (s + MIB - 1) & ~(MIB - 1);
	return 0;
}

int nk_vm_disk_make(const char *rootfs, const char *path, uint64_t size, struct nk_err *err)
{
	char tmp[4096];
	if (nk_fmt(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot create %s", tmp);
	/* A hole of the whole size: blocks are allocated only as the guest writes. */
	int r = ftruncate(fd, (off_t)size) < 0 ? nk_err_set(err, errno, "cannot size %s", tmp) : 0;
	close(fd);
	struct nk_tool_result res;
	const char *argv[] = {"mkfs.ext4", "-q", "-F", "-L", "nook-root", "-d", rootfs, tmp, NULL};
	if (r == 0 && (r = nk_tool_run(argv, NULL, &res, err)) < 0)
		nk_err_prefix(err, "making the root disk (install e2fsprogs)");
	else if (r == 0 && res.exit_code != 0)
		r = nk_err_msg(err, EIO, "mkfs.ext4 -d %s failed (exit %d): %s", rootfs, res.exit_code,
			       nk_tool_last_line(&res));
	if (r == 0 && rename(tmp, path) < 0)
		r = nk_err_set(err, errno, "cannot move the root disk to %s", path);
	if (r < 0)
		unlink(tmp);
	return r;
}

int nk_vm_disk_ensure(const struct nk_paths *paths, const char *rootfs, const char *path, uint64_t requested,
		      int *made, struct nk_err *err)
{
	*made = 0;
	if (access(path, F_OK) == 0)
		return 0;
	uint64_t size;
	int r = nk_vm_disk_size(rootfs, requested, &size, err);
	if (r == 0 && (r = nk_vm_disk_make_cached(paths, rootfs, path, size, err)) == 0)
		*made = 1;
	return r;
}

int nk_vm_disk_attach(struct nk_vm *vm, const char *path, struct nk_virtio_blk **blk, int *fd, struct nk_err *err)
{
	*blk = NULL;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return nk_err_set(err, errno, "cannot open the root disk %s", path);
	struct nk_virtio_blk_cfg cfg = {.fd = *fd, .serial = "nook-root"};
	int r = nk_virtio_blk_create(&cfg, blk, err);
	if (r == 0 && (r = nk_vm_attach_virtio(vm, "virtio-blk", nk_virtio_blk_dev(*blk), NULL, NULL, err)) < 0) {
		nk_virtio_blk_destroy(*blk);
		*blk = NULL;
	}
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}
