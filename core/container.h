/* Start a container: clone into new namespaces, join its cgroup, build its root, run init. */
#ifndef NOOK_CONTAINER_H
#define NOOK_CONTAINER_H

#include <sys/types.h>

#include "cgroup.h"
#include "err.h"
#include "paths.h"
#include "spec.h"
#include "timeline.h"

struct nk_seccomp_prog;

/* The descriptors the container's process gets as 0, 1, 2 (and the console, with -t). */
struct nk_container_io {
	int console;              /* PTY slave, or -1 */
	char console_path[64];    /* its /dev/pts path, bound onto /dev/console */
	int in, out, errout;      /* used when console is -1 */
};

/* Called in the monitor between the clone and releasing the child, with the child's pid
 * (network wiring goes here). A failure aborts the start. */
struct nk_container_hook {
	int (*prepare)(void *opaque, pid_t child, struct nk_err *err);
	void *opaque;
};

/* The OCI runtime's model (docs/oci.md): the command itself is the container's PID 1, and
 * it waits, fully set up, until `start` opens the exec FIFO; hooks run on the way. */
struct nk_container_oci {
	int fifo_fd;              /* O_PATH descriptor of the exec FIFO, inherited by the child */
	/* The state JSON given to hooks on stdin (malloc'd); called in the child too. */
	char *(*state)(void *opaque, pid_t pid, const char *status);
	/* In the caller, once the child is in its cgroup and before it builds its root: the
	 * prestart and createRuntime hooks. A failure aborts the create. */
	int (*created)(void *opaque, pid_t pid, struct nk_err *err);
	void *opaque;
};

struct nk_container_opts {
	struct nk_container_io io;
	struct nk_container_hook hook;
	const struct nk_seccomp_prog *seccomp; /* compiled by the caller; NULL: no filter */
	const struct nk_container_oci *oci;    /* NULL: nook's model (its own init, command started now) */
};

struct nk_container {
	pid_t init_pid;           /* the container's init, in the monitor's pid namespace */
	int sync_fd;              /* init reports the command's exit status here */
	int seccomp_listener;     /* the filter's notification fd (teach mode), or -1 */
	struct nk_timeline timeline;
};

/* Returns once the command has been exec'd (or failed to be: then err says why, and
 * nothing is left running). The caller owns cg's removal and c->seccomp_listener. */
int nk_container_start(const struct nk_paths *paths, const struct nk_spec *spec,
		       const struct nk_container_opts *opts, struct nk_cgroup *cg, struct nk_container *c,
		       struct nk_err *err) NK_MUST_CHECK;

/* Join the namespaces a bundle names by path (joined, not created): the pid namespace
 * alone (in the creator: it applies to children only), or all the others (in the child). */
int nk_container_join_paths(const struct nk_spec *spec, int pid_namespace, struct nk_err *err) NK_MUST_CHECK;

/* After init has gone: its report of the command's wait status, if it sent one. */
int nk_container_exit_report(struct nk_container *c, int *wstatus);

#endif
