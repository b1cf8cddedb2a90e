/* The last steps before a sandboxed program runs: privileges dropped, then exec. */
#ifndef NOOK_PROCESS_H
#define NOOK_PROCESS_H

#include "err.h"
#include "spec.h"

/* Exit codes that follow the shell's and Docker's conventions. */
enum {
	NK_EXIT_NOOK_FAILED = 125,   /* nook itself could not do what was asked */
	NK_EXIT_CANNOT_EXEC = 126,   /* the command exists but cannot be executed */
	NK_EXIT_NOT_FOUND = 127,     /* the command was not found */
};

/* Drop capabilities to the spec's sets, set no_new_privs, chdir to cwd, close every
 * descriptor above 2, and exec args[0] looked up in the spec's PATH. Returns only on
 * failure, with -errno; the caller exits with nk_process_exit_code(). */
int nk_process_exec(const struct nk_spec *spec, struct nk_err *err) NK_MUST_CHECK;

int nk_process_exit_code(int negative_errno);

#endif
