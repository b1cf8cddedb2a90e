/* Read an instance's console log: all, the last N lines, or following as it grows. */
#ifndef NOOK_LOGS_H
#define NOOK_LOGS_H

#include <stddef.h>

#include "err.h"
#include "paths.h"

typedef int (*nk_logs_sink)(const char *buf, size_t len, void *opaque);

/* tail < 0: everything. follow: keep going until the instance is no longer running. */
int nk_logs_read(const struct nk_paths *paths, const char *name, long tail, int follow,
		 nk_logs_sink sink, void *opaque, struct nk_err *err) NK_MUST_CHECK;

/* The same for another of the instance's append-only files ("events.log"). */
int nk_logs_read_file(const struct nk_paths *paths, const char *name, const char *file, long tail,
		      int follow, nk_logs_sink sink, void *opaque, struct nk_err *err) NK_MUST_CHECK;

/* Append one line to instances/NAME/events.log (the caller formats it). */
int nk_events_append(const struct nk_paths *paths, const char *name, const char *line);

#endif
