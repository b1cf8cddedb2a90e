/* Entering a running container from outside (nook exec, drills, the OCI runtime's exec):
 * its namespaces, its cgroup, a terminal of its own devpts, then the process. */
#ifndef NOOK_EXEC_ENTER_H
#define NOOK_EXEC_ENTER_H

#include <sys/types.h>

#include "cgroup.h"
#include "err.h"
#include "process.h"
#include "spec.h"

/* Joined in this order: the mount namespace last, since the others are opened through the
 * host's /proc. */
#define NK_EXEC_NS_COUNT 6
struct nk_exec_ns {
	const char *file; /* under /proc/PID/ns */
	int flag;         /* CLONE_NEW* */
};
extern const struct nk_exec_ns nk_exec_ns[NK_EXEC_NS_COUNT];

/* A PTY of the container's own devpts (through /proc/PID/root), or with fallback of the
 * host's when it has none. */
int nk_exec_open_terminal(pid_t pid, int fallback, int *master, int *slave, struct nk_err *err) NK_MUST_CHECK;

struct nk_exec_child {
	struct nk_spec *spec;                  /* the process to run */
	const struct nk_seccomp_prog *seccomp; /* NULL: none */
	const int *ns_fds;                     /* NK_EXEC_NS_COUNT descriptors, -1 where not joined */
	struct nk_cgroup *cg;
	int slave;                             /* a terminal for 0-2, or -1 */
	const int *stdio;                      /* without a terminal: the three fds; NULL keeps 0-2 */
	int report_fd;                         /* gets the process's host pid (int32), or -1 */
	int detach;                            /* leave once it runs (a subreaper above adopts it) */
	int die_with_parent;                   /* SIGKILL the process when this child dies */
	/* Seccomp listener handover, as in struct nk_launch (report_fd is the keep_fd). */
	int (*handoff)(int keep_fd, int listener_fd);
};

/* In a fresh child of the caller: join the cgroup and the namespaces, fork the process (a
 * pid namespace applies to children only), report its pid, then leave or wait for it and
 * exit with its status. Never returns. */
void nk_exec_child_run(const struct nk_exec_child *c) __attribute__((noreturn));

#endif
