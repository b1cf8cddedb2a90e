/* Run another process inside a running container: same namespaces, cgroup, privileges. */
#ifndef NOOK_EXEC_H
#define NOOK_EXEC_H

#include <sys/types.h>

#include "err.h"
#include "paths.h"

struct nk_exec_opts {
	char **args;     /* NULL-terminated */
	int tty;         /* give the process a PTY of the container's own devpts */
	const char **env;  /* extra K=V entries */
	size_t env_count;
	const char *workdir;
	/* Load the instance's filter in teach mode and hand its listener to the caller
	 * (io->seccomp_listener): every denial then arrives as a notification to answer
	 * (nk_seccomp_feed_answer), as the image drill's command's do to its monitor. */
	int seccomp_feed;
};

/* The caller's ends of the process's stdio. The user's own terminal never goes into
 * the container (TIOCSTI could push keystrokes into it): everything is relayed. */
struct nk_exec_io {
	int master;          /* PTY master with tty, else -1 */
	int in, out, errout; /* pipes without tty; in is -1 unless interactive */
	int seccomp_listener; /* with opts->seccomp_feed and a filter; else -1 */
};

/* Start the process; *pid is a child of the caller that exits with the command's status. */
int nk_exec_start(const struct nk_paths *paths, const char *name, const struct nk_exec_opts *opts,
		  int interactive, struct nk_exec_io *io, pid_t *pid, struct nk_err *err) NK_MUST_CHECK;

#endif
