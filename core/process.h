/* The last steps before a sandboxed program runs: privileges dropped, filter loaded, exec. */
#ifndef NOOK_PROCESS_H
#define NOOK_PROCESS_H

#include "err.h"
#include "spec.h"

struct nk_seccomp_prog;

/* Exit codes that follow the shell's and Docker's conventions. */
enum {
	NK_EXIT_NOOK_FAILED = 125,   /* nook itself could not do what was asked */
	NK_EXIT_CANNOT_EXEC = 126,   /* the command exists but cannot be executed */
	NK_EXIT_NOT_FOUND = 127,     /* the command was not found */
};

/* What a launch brings beyond the spec. */
struct nk_launch {
	const struct nk_seccomp_prog *seccomp; /* compiled in the parent; NULL: none */
	int report_fd;  /* -1, or a pipe that gets the monotonic time after caps and after seccomp */
	/* With a notifying filter: hand the listener fd over (to the monitor) before exec.
	 * Only read/write/close may run between install and exec (see seccomp.h). */
	int (*handoff)(int keep_fd, int listener_fd);
	int keep_fd;    /* one more descriptor to keep open until exec (the sync socket), or -1;
			 * handoff gets its number as it is after the other descriptors closed */
};

/* Drop capabilities to the spec's sets, set no_new_privs, chdir to cwd, close every
 * descriptor above 2 (but the launch's), load the seccomp filter last, and exec args[0]
 * looked up in the spec's PATH. Returns only on failure, with -errno; the caller exits
 * with nk_process_exit_code(). */
int nk_process_exec(const struct nk_spec *spec, const struct nk_launch *launch, struct nk_err *err) NK_MUST_CHECK;

int nk_process_exit_code(int negative_errno);

#endif
