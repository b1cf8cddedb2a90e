/* Sandbox profiles: named bundles of seccomp, capabilities, mounts and defaults (docs/profiles.md). */
#ifndef NOOK_PROFILE_H
#define NOOK_PROFILE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "seccomp.h"

#define NK_PROFILE_SUFFIX ".profile"

enum nk_profile_mount_type {
	NK_PROFILE_MOUNT_TMPFS,
	NK_PROFILE_MOUNT_BIND,
};

/* One `mount =` line, in file order (parents' first). Paths may hold $PWD and $HOME: expand them
 * with nk_profile_expand when the container is planned. */
struct nk_profile_mount {
	enum nk_profile_mount_type type;
	char *source;  /* bind: host path; NULL for tmpfs */
	char *dest;    /* path in the container */
	int readonly;
	char *options; /* tmpfs only: "size=64M,mode=1777,nr_inodes=4096" as written, or NULL */
};

struct nk_profile {
	char name[64];               /* "default"; the file name without .profile */
	char path[PATH_MAX];         /* the file loaded */
	char *description;           /* NULL when none */
	char *seccomp;               /* a file in <profiles dir>/seccomp/ or an absolute path; NULL: none */
	char seccomp_dir[PATH_MAX];  /* profiles dir of the file that named it, searched first */
	int seccomp_notify;          /* teach: denied calls go to the monitor (NK_SECCOMP_TEACH) */
	int seccomp_learn;           /* learn: every call the filter notifies is let through and recorded */
	uint64_t cap_base;           /* `capabilities` (default: docker-default), before add/drop */
	uint64_t cap_add, cap_drop;  /* bit n = capability n; use nk_profile_caps() */
	int readonly_root;
	char **masked_paths;         /* added to the engine's defaults */
	size_t masked_count;
	char **readonly_paths;       /* added to the engine's defaults */
	size_t readonly_count;
	struct nk_profile_mount *mounts;
	size_t mount_count;
	char *memory, *cpus, *pids;  /* resource defaults as written ("512M", "1.5", "256"/"max"); NULL: unset */
	char *network;               /* "none", "bridge", "host" or a network name; NULL: the caller's default */
	char **env;                  /* "K=V" (or "K": take it from the caller's environment) */
	size_t env_count;
};

/* Find NAME.profile in the first of search_dirs (NULL-terminated: NOOK_ROOT/profiles first, then
 * the installed profiles dir) that has it, parse it with its `inherit` chain, check every value.
 * A name containing '/' is a path to a profile file. Errors name file:line. On error *out is
 * empty (nk_profile_free is still safe). */
int nk_profile_load(const char *name, const char *const *search_dirs, struct nk_profile *out,
		    struct nk_err *err) NK_MUST_CHECK;
/* The same from text in memory; `origin` names it in messages; `inherit` looks in search_dirs
 * (NULL: inherit is refused). */
int nk_profile_parse(const char *text, size_t len, const char *origin, const char *const *search_dirs,
		     struct nk_profile *out, struct nk_err *err) NK_MUST_CHECK;
void nk_profile_free(struct nk_profile *p);

/* The capability set: (capabilities minus cap-drop) plus cap-add. */
uint64_t nk_profile_caps(const struct nk_profile *p);

/* Where p->seccomp lives: its profile's dir, then search_dirs, each + "/seccomp/". Requires
 * p->seccomp; -ENOENT with a message when no such file exists. */
int nk_profile_seccomp_path(const struct nk_profile *p, const char *const *search_dirs, char *out, size_t size,
			    struct nk_err *err) NK_MUST_CHECK;
/* Resolve and compile p->seccomp for capabilities `caps` (normally nk_profile_caps(p)), in teach
 * mode when the profile asks. Returns 1 and leaves *prog empty when the profile has no seccomp. */
int nk_profile_compile_seccomp(const struct nk_profile *p, const char *const *search_dirs, uint64_t caps,
			       unsigned extra_flags, struct nk_seccomp_prog *prog, struct nk_err *err) NK_MUST_CHECK;

/* Replace $PWD / ${PWD} / $HOME / ${HOME} in a mount path; any other '$' is an error. */
int nk_profile_expand(const char *in, const char *pwd, const char *home, char *out, size_t size,
		      struct nk_err *err) NK_MUST_CHECK;

/* Each profile once, by name, sorted; a user's profile hides an installed one of the same name.
 * `p` is NULL and `problem` says why when the file does not load. A non-zero return from fn
 * stops the walk and is returned. */
typedef int (*nk_profile_list_fn)(const char *name, const char *path, const struct nk_profile *p,
				  const char *problem, void *ctx);
int nk_profile_list(const char *const *search_dirs, nk_profile_list_fn fn, void *ctx, struct nk_err *err);

struct nk_paths;
/* Write NOOK_ROOT/profiles/NAME.profile and seccomp/NAME.json: the system calls INSTANCE made
 * under the learn profile, allowed, everything else refused. out gets the profile's path. */
int nk_profile_generate(const struct nk_paths *paths, const char *name, const char *instance, char *out,
			size_t size, struct nk_err *err) NK_MUST_CHECK;

#endif
