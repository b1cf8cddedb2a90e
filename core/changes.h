/* What an instance did to its root file system: the overlay's upper layer read as a list
 * of changes (diff), files copied in or out (cp), and the result kept as an image (commit). */
#ifndef NOOK_CHANGES_H
#define NOOK_CHANGES_H

#include "err.h"
#include "paths.h"

/* kind is 'A' (added), 'C' (changed) or 'D' (deleted); path is absolute in the container. */
typedef void (*nk_change_fn)(char kind, const char *path, void *opaque);

int nk_changes_list(const struct nk_paths *paths, const char *name, nk_change_fn fn, void *opaque,
		    struct nk_err *err) NK_MUST_CHECK;

/* Copy PATH inside the instance to host_path (to_host), or host_path into PATH. A running
 * instance is reached through its root; a stopped one through its layers. Paths inside
 * never resolve outside the instance's root. */
int nk_changes_copy(const struct nk_paths *paths, const char *name, const char *path, const char *host_path,
		    int to_host, struct nk_err *err) NK_MUST_CHECK;

/* A new image NAME: the instance's image with its changes applied. */
int nk_changes_commit(const struct nk_paths *paths, const char *name, const char *image,
		      struct nk_err *err) NK_MUST_CHECK;

#endif
