/* Where nook keeps its state: NOOK_ROOT (persistent) and NOOK_RUN (sockets, volatile). */
#ifndef NOOK_PATHS_H
#define NOOK_PATHS_H

#include <limits.h>
#include <stddef.h>

#include "err.h"

struct nk_paths {
	char root[PATH_MAX]; /* NOOK_ROOT, default /var/lib/nook */
	char run[PATH_MAX];  /* NOOK_RUN, default /run/nook */
	char user_profiles[PATH_MAX];      /* NOOK_ROOT/profiles: the user's, searched first */
	char installed_profiles[PATH_MAX]; /* NOOK_PROFILES, else found next to the binary */
};

/* "" for the default NOOK_ROOT, else "@" and 8 hex digits of a hash of the root: what keeps
 * host-wide names (cgroups, veths) of different roots apart. */
void nk_paths_scope(const struct nk_paths *paths, char *out, size_t size);

/* The profile search path, NULL-terminated, for nk_profile_load. */
void nk_paths_profile_dirs(const struct nk_paths *paths, const char *dirs[3]);

/* Read NOOK_ROOT / NOOK_RUN (made absolute) and create the directories nook needs. */
int nk_paths_init(struct nk_paths *paths, struct nk_err *err) NK_MUST_CHECK;

/* Path builders; each fails with -ENAMETOOLONG rather than truncating. */
int nk_path_instance(const struct nk_paths *paths, const char *name, const char *file, char *out,
		     size_t size) NK_MUST_CHECK;
int nk_path_image(const struct nk_paths *paths, const char *name, const char *file, char *out,
		  size_t size) NK_MUST_CHECK;
int nk_path_socket(const struct nk_paths *paths, const char *name, char *out, size_t size) NK_MUST_CHECK;

#endif
