/* Per-instance cgroups, behind one interface for cgroup v2 and the v1/hybrid layout. */
#ifndef NOOK_CGROUP_H
#define NOOK_CGROUP_H

#include <limits.h>
#include <sys/types.h>

#include "err.h"

struct nk_cgroup;

/* One backend per layout; chosen at run time by nk_cgroup_init. */
struct nk_cgroup_ops {
	const char *layout; /* "v2" or "v1" */
	int (*create)(struct nk_cgroup *cg, struct nk_err *err);
	int (*attach)(struct nk_cgroup *cg, pid_t pid, struct nk_err *err);
	/* SIGKILL everything left in the group. */
	int (*kill_all)(struct nk_cgroup *cg);
	/* Remove the group (after kill_all); a group already gone is not an error. */
	int (*destroy)(struct nk_cgroup *cg, struct nk_err *err);
};

struct nk_cgroup {
	const struct nk_cgroup_ops *ops;
	char mount[PATH_MAX];   /* /sys/fs/cgroup, or NOOK_CGROUP_ROOT for tests */
	char relpath[256];      /* "nook/NAME" below each hierarchy */
};

/* Detect the layout and name the instance's group; creates nothing. */
int nk_cgroup_init(struct nk_cgroup *cg, const char *instance, struct nk_err *err) NK_MUST_CHECK;

/* Kill what is left in the group and remove it; tolerant of a missing group. */
int nk_cgroup_cleanup(struct nk_cgroup *cg, struct nk_err *err) NK_MUST_CHECK;

extern const struct nk_cgroup_ops nk_cgroup_v1_ops;
extern const struct nk_cgroup_ops nk_cgroup_v2_ops;

#endif
