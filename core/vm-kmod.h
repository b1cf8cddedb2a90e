/* Kernel modules of an unpacked kernel package: which file is which module, what it
 * depends on (the .modinfo "depends=" of each .ko), and the order to load a set in. */
#ifndef NOOK_VM_KMOD_H
#define NOOK_VM_KMOD_H

#include <stddef.h>

#include "err.h"

#define NK_KMOD_NAME_MAX 64

struct nk_kmod {
	char name[NK_KMOD_NAME_MAX]; /* "virtio_blk" ('-' read as '_', as the kernel does) */
	char *relpath;               /* "kernel/drivers/block/virtio_blk.ko" (.xz/.zst/.gz kept) */
};

/* The .ko files found under a modules tree (lib/modules/VERSION). */
struct nk_kmod_index {
	char dir[4096];
	struct nk_kmod *mods;
	size_t count;
	char **builtin; /* names from modules.builtin; NULL-terminated */
};

int nk_kmod_index_load(const char *moddir, struct nk_kmod_index *idx, struct nk_err *err) NK_MUST_CHECK;
void nk_kmod_index_free(struct nk_kmod_index *idx);

const struct nk_kmod *nk_kmod_find(const struct nk_kmod_index *idx, const char *name);
int nk_kmod_is_builtin(const struct nk_kmod_index *idx, const char *name);

/* A module's contents, decompressed when the file is .ko.xz, .ko.zst or .ko.gz. */
int nk_kmod_read(const struct nk_kmod_index *idx, const struct nk_kmod *m, char **data, size_t *len,
		 struct nk_err *err) NK_MUST_CHECK;

/* The "depends=" list of a module image (ELF .modinfo), comma-separated, into out. */
int nk_kmod_depends(const char *data, size_t len, char *out, size_t size, struct nk_err *err) NK_MUST_CHECK;

/* Resolve wanted (module names; built-in ones are skipped) with their dependencies into
 * load order: *order gets indexes into idx->mods, dependencies before their users.
 * A wanted name that is neither a module nor built in fails unless it is in optional. */
int nk_kmod_resolve(const struct nk_kmod_index *idx, const char *const *wanted, size_t n_wanted,
		    const char *const *optional, size_t n_optional, size_t **order, size_t *n_order,
		    struct nk_err *err) NK_MUST_CHECK;

#endif
