/* What isolates a running instance, as the kernel reports it: its namespaces against the
 * host's, capabilities, no_new_privs, seccomp, its configured limits and its mounts. */
#ifndef NOOK_ISOLATION_H
#define NOOK_ISOLATION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "paths.h"
#include "resources.h"

enum { NK_NS_CGROUP, NK_NS_IPC, NK_NS_MNT, NK_NS_NET, NK_NS_PID, NK_NS_TIME, NK_NS_USER, NK_NS_UTS,
       NK_NS_COUNT };

struct nk_ns_fact {
	const char *name;     /* "net", as in /proc/PID/ns */
	uint64_t inode;       /* the instance's; 0 when unknown */
	uint64_t host_inode;  /* the host's (PID 1's, else the monitor's); 0 when unknown */
};

struct nk_mount_fact {
	char target[256];   /* where, as the instance sees it */
	char fstype[32];
	char source[128];
	char options[160];  /* per-mount options: ro/rw, nosuid, ... */
};

struct nk_isolation {
	pid_t pid;             /* the process described: the instance's command, else its init */
	char comm[32];
	struct nk_ns_fact ns[NK_NS_COUNT];
	int have_caps;
	uint64_t cap_eff, cap_prm, cap_inh, cap_bnd, cap_amb;
	int no_new_privs;      /* -1 when the kernel does not say */
	int seccomp_mode;      /* 0 off, 1 strict, 2 filter; -1 unknown */
	int seccomp_filters;   /* filters installed; -1 unknown */
	uid_t uid;             /* real uid as the host sees it */
	struct nk_limits limits; /* as configured in config.json */
	char cgroup[256];      /* the instance's cgroup, below each hierarchy */
	struct nk_mount_fact *mounts; /* malloc'd */
	size_t mount_count;
};

/* Read the facts of a running (or paused) instance. */
int nk_isolation_read(const struct nk_paths *paths, const char *name, struct nk_isolation *iso,
		      struct nk_err *err) NK_MUST_CHECK;
void nk_isolation_free(struct nk_isolation *iso);

#endif
