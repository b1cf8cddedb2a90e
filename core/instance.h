/* Instances: create, start, stop, signal, remove, list, inspect; reconciled with reality. */
#ifndef NOOK_INSTANCE_H
#define NOOK_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "paths.h"
#include "spec.h"
#include "state.h"

struct nk_instance_info {
	char name[64];
	char image[128];
	char kind[16];       /* "container", "vm", or "oci" (made through the OCI runtime interface) */
	char cgroup[256];    /* the group's path when it is not nook's own naming (oci), else "" */
	char command[256];   /* args joined by spaces */
	int tty, interactive; /* created with -t / -i */
	struct nk_state state;
};

/* Validate everything, then create the instance in one atomic step. name_out gets the
 * (possibly generated) name. Bad input changes nothing on disk. */
int nk_inst_create(const struct nk_paths *paths, const struct nk_run_opts *opts, char *name_out,
		   size_t size, struct nk_err *err) NK_MUST_CHECK;

/* Start under a new monitor. With client_fd non-NULL the caller gets a control
 * connection already attached with attach_flags (no output can be missed). */
int nk_inst_start(const struct nk_paths *paths, const char *name, unsigned attach_flags,
		  int *client_fd, struct nk_err *err) NK_MUST_CHECK;

/* The same, also reporting how long each start-up phase took (timeline may be NULL). */
int nk_inst_start_timed(const struct nk_paths *paths, const char *name, unsigned attach_flags,
			int *client_fd, struct nk_timeline *timeline, struct nk_err *err) NK_MUST_CHECK;

/* SIGTERM, then SIGKILL after grace_s; returns when the instance has stopped. */
int nk_inst_stop(const struct nk_paths *paths, const char *name, int grace_s, struct nk_err *err) NK_MUST_CHECK;
int nk_inst_kill(const struct nk_paths *paths, const char *name, int sig, struct nk_err *err) NK_MUST_CHECK;
/* Freeze every process of the instance (cgroup freezer), or thaw them. */
int nk_inst_pause(const struct nk_paths *paths, const char *name, int paused, struct nk_err *err) NK_MUST_CHECK;
/* Remove a stopped instance (force: stop it first). Leaves nothing behind. */
int nk_inst_remove(const struct nk_paths *paths, const char *name, int force, struct nk_err *err) NK_MUST_CHECK;

/* Read an instance's facts, reconciling first (a dead monitor means stopped). */
int nk_inst_get(const struct nk_paths *paths, const char *name, struct nk_instance_info *info,
		struct nk_err *err) NK_MUST_CHECK;
typedef void (*nk_inst_visit_fn)(const struct nk_instance_info *info, void *opaque);
int nk_inst_list(const struct nk_paths *paths, nk_inst_visit_fn visit, void *opaque,
		 struct nk_err *err) NK_MUST_CHECK;

/* OCI runtime containers (inst-oci.c), under NOOK_OCI_ROOT or /run/nook-runtime. */
const char *nk_inst_oci_root(void);
/* The root's modification time (ns): it changes when a container is created or deleted. */
uint64_t nk_inst_oci_stamp(void);
int nk_inst_oci_get(const char *id, struct nk_instance_info *info, struct nk_err *err) NK_MUST_CHECK;
void nk_inst_oci_list(nk_inst_visit_fn visit, void *opaque);
/* nk_inst_get, falling back to an OCI runtime container of that id (for ls, stats, dashboard). */
int nk_inst_get_any(const struct nk_paths *paths, const char *name, struct nk_instance_info *info,
		    struct nk_err *err) NK_MUST_CHECK;

/* The inspect document (malloc'd JSON text): spec, state, paths. */
int nk_inst_inspect(const struct nk_paths *paths, const char *name, char **json,
		    struct nk_err *err) NK_MUST_CHECK;

/* A running VM's KVM counters as JSON text (malloc'd), from its monitor. */
int nk_inst_kvm_stats(const struct nk_paths *paths, const char *name, char **json, struct nk_err *err) NK_MUST_CHECK;

/* Connect to a running instance's monitor and attach with flags. */
int nk_inst_attach(const struct nk_paths *paths, const char *name, unsigned flags,
		   struct nk_err *err) NK_MUST_CHECK;

/* Check a monitor that died without cleaning up, and clean up after it. */
int nk_inst_reconcile(const struct nk_paths *paths, const char *name, struct nk_err *err) NK_MUST_CHECK;

#endif
