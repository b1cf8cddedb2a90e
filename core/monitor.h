/* The per-instance monitor: owns the console, serves the control socket, reaps, cleans up. */
#ifndef NOOK_MONITOR_H
#define NOOK_MONITOR_H

#include <sys/types.h>

#include "err.h"
#include "paths.h"

/* Fork a detached monitor for instance `name` (its own session, reparented away from
 * the caller). client_fd receives the monitor's end of a connected control socket, on
 * which NK_CTL_STARTED or NK_CTL_ERROR arrives first; the caller may keep it as an
 * attached client (attach_flags) or close it. */
int nk_monitor_launch(const struct nk_paths *paths, const char *name, unsigned attach_flags,
		      int *client_fd, struct nk_err *err) NK_MUST_CHECK;

/* The hidden `nook monitor NAME FLAGS` entry: serve the instance until it ends.
 * client_fd is the launcher's connection (NK_MONITOR_FD after the exec). */
int nk_monitor_main(const struct nk_paths *paths, const char *name, int client_fd, unsigned flags);
#define NK_MONITOR_FD 3
#define NK_MONITOR_EXIT_FAILED 125

/* Console log limits: the current file is rotated to .1 when it passes this size. */
#define NK_CONSOLE_LOG_MAX (1024 * 1024)

#endif
