/* nook's initramfs for a fetched kernel: static busybox, the virtio modules the guest
 * needs (with their dependencies) and nook's own /init, as an uncompressed cpio. */
#ifndef NOOK_VM_INITRAMFS_H
#define NOOK_VM_INITRAMFS_H

#include <stddef.h>

#include "err.h"
#include "vm-kernel.h"

/* Modules /init loads, when the kernel has them as modules (built-in ones are skipped). */
extern const char *const nk_initramfs_modules[];
extern const size_t nk_initramfs_module_count;

/* Where the cached initramfs of k lives (its name carries the layout's version, so an
 * older nook's cache is not reused). */
int nk_initramfs_path(const struct nk_kernel *k, char *out, size_t size) NK_MUST_CHECK;

/* Write the initramfs for the modules tree moddir (lib/modules/VERSION) to out_path
 * (atomically: temp file, rename). busybox NULL: the host's static busybox. */
int nk_initramfs_build(const char *moddir, const char *version, const char *busybox, const char *out_path,
		       struct nk_err *err) NK_MUST_CHECK;

/* The cached initramfs of k, built first when missing; its path into out. */
int nk_initramfs_ensure(const struct nk_kernel *k, char *out, size_t size, struct nk_err *err) NK_MUST_CHECK;

/* The kernel command line for a guest booted with nook's initramfs (root disk, console,
 * reboot/panic behaviour), without the command after "--". */
#define NK_INITRAMFS_CMDLINE "console=ttyS0 quiet reboot=k panic=-1 root=/dev/vda rootfstype=ext4 rw"

#endif
