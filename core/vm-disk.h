/* A VM instance's root disk: the image's rootfs made into a sparse ext4 file in the
 * instance directory (mkfs.ext4 -d), kept across stop/start, gone with the instance. */
#ifndef NOOK_VM_DISK_H
#define NOOK_VM_DISK_H

#include <stdint.h>

#include "err.h"
#include "paths.h"

#define NK_VM_DISK_FILE "disk.ext4"
#define NK_VM_DISK_MIN (64ull << 20)
#define NK_VM_DISK_MAX (1ull << 40)
/* Room to write in, beyond what the rootfs holds, when no size is asked for. */
#define NK_VM_DISK_HEADROOM (256ull << 20)

/* Bytes the files under rootfs take (blocks allocated, plus an inode's worth each),
 * without following symlinks or crossing mount points. */
int nk_vm_disk_rootfs_bytes(const char *rootfs, uint64_t *bytes, struct nk_err *err) NK_MUST_CHECK;

/* The disk size for rootfs: requested (0: the rootfs + NK_VM_DISK_HEADROOM), at least
 * NK_VM_DISK_MIN, rounded up to 1 MiB. A requested size too small for the files fails. */
int nk_vm_disk_size(const char *rootfs, uint64_t requested, uint64_t *size, struct nk_err *err) NK_MUST_CHECK;

/* Make path (a sparse file of size bytes, ext4 holding a copy of rootfs), atomically:
 * built under a temporary name, renamed when complete. */
int nk_vm_disk_make(const char *rootfs, const char *path, uint64_t size, struct nk_err *err) NK_MUST_CHECK;

/* The same through a cache: the image's disk of that size is made once, under
 * NOOK_ROOT/cache/disks (named for the image, its rootfs's identity and the size), and each
 * instance gets a copy (a reflink where the file system can, else the data blocks only),
 * which costs a few milliseconds instead of a mkfs. The copies share the file system's UUID. */
int nk_vm_disk_make_cached(const struct nk_paths *paths, const char *rootfs, const char *path, uint64_t size,
			   struct nk_err *err) NK_MUST_CHECK;

/* Remove an image's cached disks (with the image). */
void nk_vm_disk_forget_image(const struct nk_paths *paths, const char *image);

/* The disk at path, made first (through the cache) when it does not exist yet; *made says which. */
int nk_vm_disk_ensure(const struct nk_paths *paths, const char *rootfs, const char *path, uint64_t requested,
		      int *made, struct nk_err *err) NK_MUST_CHECK;

struct nk_vm;
struct nk_virtio_blk;

/* The disk as a VM sees it: open, a virtio-blk device on it (serial "nook-root"), attached
 * to vm as the first disk (/dev/vda). The caller destroys *blk and closes *fd after the
 * VM is gone; on failure nothing is left open. */
int nk_vm_disk_attach(struct nk_vm *vm, const char *path, struct nk_virtio_blk **blk, int *fd,
		      struct nk_err *err) NK_MUST_CHECK;

#endif
