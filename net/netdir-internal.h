/* Where network state lives under NOOK_ROOT/net, and the flock that guards it. */
#ifndef NOOK_NET_NETDIR_INTERNAL_H
#define NOOK_NET_NETDIR_INTERNAL_H

#include <stddef.h>

#include "core/err.h"

/* NOOK_ROOT/net[/network[/file]]; network and file may be NULL. */
int nk_netdir_path(const char *root, const char *network, const char *file, char *out, size_t size,
		   struct nk_err *err) NK_MUST_CHECK;
/* Open (creating) and flock(LOCK_EX) a lock file; returns the fd. Retries when the file
 * was replaced while we waited, so a lock is never held on an unlinked inode. */
int nk_netdir_lock(const char *path, struct nk_err *err) NK_MUST_CHECK;

#endif
