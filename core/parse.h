/* Parsers for what users type: names, sizes, volumes, environment entries, signals. */
#ifndef NOOK_PARSE_H
#define NOOK_PARSE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define NK_NAME_MAX 63

/* [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}; what names an instance, an image or a network. */
int nk_name_check(const char *name, const char *what, struct nk_err *err) NK_MUST_CHECK;
/* A fresh "adjective-noun-NNNN" style name. */
void nk_name_generate(char *out, size_t size);

/* "512", "256k", "256M", "1G", "1.5g" -> bytes. Rejects negative, empty, garbage, overflow. */
int nk_size_parse(const char *s, uint64_t *bytes, struct nk_err *err) NK_MUST_CHECK;

/* -v HOST:DEST[:ro|rw]: HOST absolute and existing is checked by the caller. */
struct nk_volume {
	char source[PATH_MAX];
	char dest[PATH_MAX];
	int readonly;
};
int nk_volume_parse(const char *spec, struct nk_volume *vol, struct nk_err *err) NK_MUST_CHECK;

/* -e K=V (or K alone: take the value from the caller's environment). */
int nk_env_check(const char *entry, struct nk_err *err) NK_MUST_CHECK;

/* "TERM", "SIGTERM", "15" -> signal number. */
int nk_signal_parse(const char *s, int *sig, struct nk_err *err) NK_MUST_CHECK;
const char *nk_signal_name(int sig);

#endif
