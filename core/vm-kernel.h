/* Guest kernels kept under NOOK_ROOT/kernels/VERSION/: Debian's cloud kernel fetched as a
 * package with apt-get and unpacked there (never installed into the host's /boot). */
#ifndef NOOK_VM_KERNEL_H
#define NOOK_VM_KERNEL_H

#include <limits.h>
#include <stddef.h>

#include "err.h"
#include "paths.h"

/* The metapackage that always depends on the current cloud kernel. */
#define NK_KERNEL_PACKAGE "linux-image-cloud-amd64"

struct nk_kernel {
	char version[128];      /* "6.1.0-56-cloud-amd64" (uname -r in the guest) */
	char dir[PATH_MAX];     /* NOOK_ROOT/kernels/VERSION */
	char vmlinuz[PATH_MAX]; /* dir/vmlinuz: the bzImage */
	char modules[PATH_MAX]; /* dir/modules: the package's lib/modules/VERSION */
	char package[192];      /* "linux-image-6.1.0-56-cloud-amd64 6.1.192-2" */
};

/* Every kernel fetched so far, newest version first (malloc'd array). */
int nk_kernel_list(const struct nk_paths *paths, struct nk_kernel **out, size_t *n,
		   struct nk_err *err) NK_MUST_CHECK;
/* One kernel: version NULL means the newest. -ENOENT when there is none. */
int nk_kernel_find(const struct nk_paths *paths, const char *version, struct nk_kernel *out,
		   struct nk_err *err) NK_MUST_CHECK;
/* Download package (NULL: NK_KERNEL_PACKAGE; a metapackage is followed to the kernel it
 * depends on) with `apt-get download` and unpack it with `dpkg-deb -x` into a private
 * directory, then move vmlinuz, config and the modules tree into place. *fresh says
 * whether it was new (0: that version was already there, nothing changed). */
int nk_kernel_fetch(const struct nk_paths *paths, const char *package, struct nk_kernel *out, int *fresh,
		    struct nk_err *err) NK_MUST_CHECK;
/* What the kernel's build config says it cannot do in nook's VMM today (it finds
 * virtio-mmio devices only through ACPI, or ignores the MP table), as one human line in
 * out; "" when nothing is known to be missing. 0, or -ENOENT without a config file. */
int nk_kernel_vmm_gaps(const struct nk_kernel *k, char *out, size_t size);
int nk_kernel_remove(const struct nk_paths *paths, const char *version, struct nk_err *err) NK_MUST_CHECK;

#endif
