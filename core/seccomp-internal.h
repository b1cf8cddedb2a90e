/* The seccomp builder shared by core/seccomp-json.c (reads Docker's JSON) and
 * core/seccomp.c (builds the filter with libseccomp); nothing else includes it. */
#ifndef NOOK_SECCOMP_INTERNAL_H
#define NOOK_SECCOMP_INTERNAL_H

#include "seccomp.h"

#include <seccomp.h>

struct nk_seccomp_build {
	const char *origin;          /* file name, first in every message */
	unsigned flags;              /* NK_SECCOMP_* */
	uint32_t native;             /* SCMP_ARCH_* of this machine */
	uint32_t subs[3];            /* sub-ABIs of the native one the profile allows */
	size_t nsubs;
	uint32_t profile_default;    /* the default action as written */
	uint32_t default_action;     /* after teach mode */
	scmp_filter_ctx ctx, sub;    /* native ABI; sub-ABIs (merged in at the end) */
	unsigned handoff_ruled;      /* calls needed after install the profile has a rule for any args for */
	unsigned handoff_cond;       /* ... and those it has only argument-conditional rules for */
	struct nk_seccomp_prog *out;
	struct nk_err *err;
};

/* Start filters once origin, flags, native, subs, profile_default, out and err are set. */
int nk_seccomp_build_start(struct nk_seccomp_build *b);
/* One rule for one syscall name, as the profile wrote it (teach mode is applied here); `where`
 * names the JSON key in messages. cmps are ANDed, or each its own rule when `split`. */
int nk_seccomp_build_rule(struct nk_seccomp_build *b, const char *where, const char *name, uint32_t action,
			  const struct scmp_arg_cmp *cmps, size_t n, int split);
/* Merge the sub-ABIs in and export the BPF program into b->out. */
int nk_seccomp_build_finish(struct nk_seccomp_build *b);
void nk_seccomp_build_release(struct nk_seccomp_build *b);

#endif
