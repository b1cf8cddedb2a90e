/* The container's mount tree: overlay root, spec mounts, /dev, masked paths, pivot_root. */
#ifndef NOOK_ROOTFS_H
#define NOOK_ROOTFS_H

#include "err.h"
#include "paths.h"
#include "spec.h"

/* Run inside the new mount namespace, as the container's init, before dropping privileges:
 * build the whole tree under spec->root_path. console is the host path of the PTY slave to
 * expose as /dev/console, or NULL. */
int nk_rootfs_prepare(const struct nk_paths *paths, const struct nk_spec *spec, const char *console,
		    struct nk_err *err) NK_MUST_CHECK;

/* Then pivot into it: on return the process's root is the container's root and nothing
 * of the host's mount table is reachable. */
int nk_rootfs_enter(const struct nk_spec *spec, struct nk_err *err) NK_MUST_CHECK;

#endif
