/* Capabilities by name, and dropping a process to a chosen set. */
#ifndef NOOK_CAPS_H
#define NOOK_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Docker's default set: what a container keeps unless told otherwise. */
extern const char *const nk_caps_default[];

/* "CAP_SYS_ADMIN" or "SYS_ADMIN" (any case) -> bit number, or -1. */
int nk_cap_from_name(const char *name);
const char *nk_cap_name(int cap); /* "CAP_SYS_ADMIN"; NULL when unknown */
int nk_cap_last(void);            /* highest capability the running kernel knows */

/* The calling process's bounding set: what nook itself can hand on. */
uint64_t nk_caps_bounding(void);

/* Render a mask as "CAP_A,CAP_B" into buf. */
void nk_caps_format(uint64_t mask, char *buf, size_t size);

/* Cut the bounding set to `bounding`, clear ambient, set effective/permitted/inheritable.
 * Run in the container after every privileged set-up step. */
int nk_caps_apply(uint64_t bounding, uint64_t effective, uint64_t permitted, uint64_t inheritable,
		  struct nk_err *err) NK_MUST_CHECK;

/* Become uid/gid with these supplementary groups, keeping the permitted capabilities (the
 * effective ones are raised again), so that nk_caps_apply can still cut them afterwards. */
int nk_caps_set_ids(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t group_count,
		    struct nk_err *err) NK_MUST_CHECK;

/* Raise these ambient capabilities (each must be permitted and inheritable): how a process
 * that is not uid 0 keeps capabilities across exec. */
int nk_caps_raise_ambient(uint64_t ambient, struct nk_err *err) NK_MUST_CHECK;

#endif
