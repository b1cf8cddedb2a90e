/* nk_err: an allocation-free error report filled by the engine, printed by front ends. */
#ifndef NOOK_ERR_H
#define NOOK_ERR_H

#include <stdarg.h>

#define NK_MUST_CHECK __attribute__((warn_unused_result))
#define NK_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* What failed, on what, and why; code is a positive errno value (0 when unset). */
struct nk_err {
	int code;
	char msg[1024];
};

/* Fill err with a message; appends strerror(code) when code > 0. Returns -code. */
int nk_err_set(struct nk_err *err, int code, const char *fmt, ...) NK_PRINTF(3, 4);

/* Like nk_err_set, but without the strerror suffix (for input errors). */
int nk_err_msg(struct nk_err *err, int code, const char *fmt, ...) NK_PRINTF(3, 4);

/* Prepend context: "starting web: <previous message>". Returns -err->code. */
int nk_err_prefix(struct nk_err *err, const char *fmt, ...) NK_PRINTF(2, 3);

void nk_err_clear(struct nk_err *err);

#endif
