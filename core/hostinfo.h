/* What nook found on this host, for `nook info` (and the dashboard's header later). */
#ifndef NOOK_HOSTINFO_H
#define NOOK_HOSTINFO_H

#include <limits.h>

#include "err.h"
#include "paths.h"

struct nk_host_info {
	char kernel[128];        /* uname release */
	int cpus;
	unsigned long long memory_bytes;
	char cgroup_layout[8];   /* "v1" (including hybrid) or "v2" */
	int cgroup_hybrid;       /* v1 hierarchies beside a v2 mount */
	char cgroup_mount[PATH_MAX];
	char controllers[256];   /* space separated */
	int instances, running;
	char kvm[1100];           /* what /dev/kvm is: hardware virtualization, PVM, or missing */
};

int nk_host_info(const struct nk_paths *paths, struct nk_host_info *info, struct nk_err *err) NK_MUST_CHECK;

#endif
