/* Change notification for the instance store: which instances appeared, went or changed
 * state, without re-reading every instance (inotify on NOOK_ROOT/instances). */
#ifndef NOOK_INST_WATCH_H
#define NOOK_INST_WATCH_H

#include <limits.h>
#include <stddef.h>

#include "err.h"
#include "paths.h"

struct nk_inst_watch_entry {
	int wd;
	char name[64];
};

struct nk_inst_watch {
	int fd;                            /* pollable: readable when something changed */
	int dir_wd;                        /* the instances directory itself */
	char dir[PATH_MAX];
	struct nk_inst_watch_entry *inst;  /* one per watched instance directory */
	size_t count, cap;
};

/* Watch the instances directory and every instance in it. */
int nk_inst_watch_open(const struct nk_paths *paths, struct nk_inst_watch *w, struct nk_err *err) NK_MUST_CHECK;

/* Called with the name of an instance that appeared, went away or had its state written,
 * or with NULL when events were lost and everything must be read again. */
typedef void (*nk_inst_watch_fn)(const char *name, void *opaque);
/* Drain what is pending without blocking; fn may be called several times per name. */
void nk_inst_watch_read(struct nk_inst_watch *w, nk_inst_watch_fn fn, void *opaque);
void nk_inst_watch_close(struct nk_inst_watch *w);

#endif
