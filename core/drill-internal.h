/* What the two drills (a throwaway instance: drill.c; a running one: drill-live.c) share. */
#ifndef NOOK_DRILL_INTERNAL_H
#define NOOK_DRILL_INTERNAL_H

#include <stddef.h>

#include "drill.h"
#include "instance.h"

/* A growing, NUL-terminated text buffer. */
struct nk_drill_buf {
	char *data;
	size_t len;
};
int nk_drill_buf_add(struct nk_drill_buf *b, const char *data, size_t len);

/* Whether this kernel takes int $0x80 at all. */
int nk_drill_host_i386(void);

/* The drill inside info's running container. */
int nk_drill_live(const struct nk_paths *paths, const struct nk_drill_opts *opts,
		  const struct nk_instance_info *info, struct nk_drill_report *rep, struct nk_err *err) NK_MUST_CHECK;

#endif
