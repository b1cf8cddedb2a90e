/* The live feed of denied system calls (teach mode): the monitor answers each one EPERM
 * and records it in instances/NAME/events.log, for `nook events` and the dashboard. */
#ifndef NOOK_SECCOMP_FEED_H
#define NOOK_SECCOMP_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "paths.h"

/* The listener is readable: take one notification, answer EPERM, record it. The recorded
 * JSON line goes to line (for clients) too. Returns 0, or -errno when the listener is done. */
int nk_seccomp_feed_handle(int listener, const struct nk_paths *paths, const char *name, char *line,
			   size_t size);

/* The same answer, the line only into line ("" when the caller went away): for a feed
 * that is not the instance's own record (a drill in a running instance). */
int nk_seccomp_feed_answer(int listener, char *line, size_t size);

/* Learn mode: let the call through, and record each system call the first time it is seen
 * (seen: one bit per syscall number, kept by the caller) as kind "learned". */
int nk_seccomp_feed_learn(int listener, const struct nk_paths *paths, const char *name, uint8_t seen[128]);

/* Record a non-syscall event ("exit", "oom", ...) with a message. */
void nk_events_record(const struct nk_paths *paths, const char *name, const char *kind, const char *message);

#endif
