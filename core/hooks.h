/* OCI hooks: programs run at points of a container's life, given its state on stdin. */
#ifndef NOOK_HOOKS_H
#define NOOK_HOOKS_H

#include "err.h"
#include "spec.h"

/* "prestart", "createRuntime", ... */
const char *nk_hook_kind_name(enum nk_hook_kind kind);

/* Run each hook of the list in order, state_json on its stdin; stops at the first one that
 * fails (non-zero exit, signal, or past its timeout: then it is killed). */
int nk_hooks_run(const struct nk_hook_list *hooks, enum nk_hook_kind kind, const char *state_json,
		 struct nk_err *err) NK_MUST_CHECK;

#endif
