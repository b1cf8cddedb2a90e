/* Error reports: format the message once, into the caller's fixed buffer. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

NK_PRINTF(4, 0)
static int vset(struct nk_err *err, int code, int with_errno, const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EINVAL;
	if (!err)
		return -code;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(code));
	err->code = code;
	return -code;
}

int nk_err_set(struct nk_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(err, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

int nk_err_msg(struct nk_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(err, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

int nk_err_prefix(struct nk_err *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	char prefix[256];
	char old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t plen = strnlen(prefix, sizeof(prefix) - 1);
	size_t room = sizeof(err->msg) - 1;
	size_t n = plen < room ? plen : room;
	memcpy(err->msg, prefix, n);
	if (n + 2 <= room) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
	}
	size_t olen = strnlen(old, sizeof(old) - 1);
	if (olen > room - n)
		olen = room - n;
	memcpy(err->msg + n, old, olen);
	err->msg[n + olen] = '\0';
	return -(err->code ? err->code : EINVAL);
}

void nk_err_clear(struct nk_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
