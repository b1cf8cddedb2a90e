/* Compiled seccomp filters cached by content: compiling Docker's default profile costs ~2 ms,
 * loading its BPF from NOOK_ROOT/cache/seccomp costs microseconds. */
#ifndef NOOK_SECCOMP_CACHE_H
#define NOOK_SECCOMP_CACHE_H

#include <stdint.h>

#include "err.h"
#include "paths.h"
#include "seccomp.h"

/* The filter for the JSON file at json_path, compiled for caps and flags: from the cache
 * when an identical compile was done before, else compiled (errors name the file) and
 * stored. Free with nk_seccomp_prog_free. */
int nk_seccomp_cached(const struct nk_paths *paths, const char *json_path, uint64_t caps, unsigned flags,
		      struct nk_seccomp_prog *out, struct nk_err *err) NK_MUST_CHECK;

#endif
