/* Shared by the parts of the container's mount tree (rootfs.c, rootfs-extra.c). */
#ifndef NOOK_ROOTFS_INTERNAL_H
#define NOOK_ROOTFS_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "spec.h"

/* Open path as if rootfd were "/" (openat2 RESOLVE_IN_ROOT): -errno on failure. */
int nk_root_open(int rootfd, const char *path, int flags, mode_t mode);
/* mkdir -p below rootfd; an O_PATH fd to the directory. */
int nk_root_mkdir(int rootfd, const char *path);
/* A file mount target, created empty (with its parents) if missing; an O_PATH fd. */
int nk_root_mkfile(int rootfd, const char *path);
/* "/proc/self/fd/N": how a mount call names a resolved descriptor. */
void nk_root_fd_path(int fd, char *buf, size_t size);
int nk_root_remount_readonly(int rootfd, const char *path, unsigned long flags);
int nk_root_remount(int rootfd, const char *path, unsigned long flags, int readonly);

/* Copy a directory's contents (files, directories, links, nodes; modes and owners) into
 * another, for tmpcopyup. -errno. */
int nk_root_copy_tree(int from_dir, int to_dir) NK_MUST_CHECK;

/* A "cgroup" mount: the container's own group(s), never the host's whole tree. */
int nk_root_mount_cgroup(int rootfd, const struct nk_mount *m, const struct nk_spec *spec,
			 struct nk_err *err) NK_MUST_CHECK;
/* linux.devices: nodes made in the container's /dev. */
int nk_root_make_devices(int rootfd, const struct nk_spec *spec, struct nk_err *err) NK_MUST_CHECK;
/* linux.sysctl, written through the container's /proc (its own net namespace). */
int nk_root_write_sysctls(int rootfd, const struct nk_spec *spec, struct nk_err *err) NK_MUST_CHECK;

#endif
