/* `nook compare`: the same workload as a container and as a VM, measured side by side; a side
 * the host cannot run carries the reason instead of numbers. */
#ifndef NOOK_COMPARE_H
#define NOOK_COMPARE_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "paths.h"
#include "timeline.h"

struct nk_compare_side {
	int ran;                   /* measured; else reason says why not */
	char reason[1024];
	double startup_ms;
	struct nk_timeline timeline;
	long monitor_rss_kib;      /* -1 unknown */
	long long memory_current;  /* the cgroup's usage in bytes; -1 unknown */
	char kernel[128];          /* uname -r inside */
	long processes, mounts, net_ifs; /* what the workload sees; -1 unknown */
	int kmsg_readable;         /* the host's kernel log: 1, 0, -1 unknown */
	char ns_shared[128];       /* namespaces shared with the host, space separated ("" none) */
	int seccomp_mode, seccomp_filters;
	char output[1024];         /* the workload's own output */
};

struct nk_compare_report {
	char image[128];
	char host_kernel[128];
	int host_cpus;
	struct nk_compare_side container, vm;
};

/* VmRSS of a process, in KiB (-1 when it cannot be read). */
long nk_compare_rss_kib(pid_t pid);

/* cmd: NULL-terminated or NULL for none. */
int nk_compare_run(const struct nk_paths *paths, const char *image, char **cmd, struct nk_compare_report *rep,
		   struct nk_err *err) NK_MUST_CHECK;

char *nk_compare_to_json(const struct nk_compare_report *rep);

#endif
