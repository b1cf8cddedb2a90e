/* An instance's state.json: read, written atomically, guarded by a per-instance lock. */
#ifndef NOOK_STATE_H
#define NOOK_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "paths.h"
#include "timeline.h"

enum nk_status { NK_CREATED, NK_RUNNING, NK_PAUSED, NK_STOPPED };

struct nk_state {
	enum nk_status status;
	pid_t monitor_pid;
	uint64_t monitor_start;  /* start time, so a reused pid is not mistaken for ours */
	pid_t init_pid;          /* in the host's pid namespace */
	uint64_t init_start;
	int64_t created_at, started_at, finished_at; /* wall-clock seconds */
	int exit_code;           /* valid when stopped after a start */
	uint64_t oom_kills;      /* processes the kernel's OOM killer took during the last run */
	char exit_reason[32];    /* "exited", "signaled", "killed", "oom", "monitor-lost", "failed" */
	char ip[16];             /* IPv4 address on its network, "" when none */
	char host_if[16];        /* the veth's host end, for traffic counters */
	struct nk_timeline timeline; /* the last start's phases */
	int ephemeral;           /* an --rm instance: writes skip the fsync */
	char error[1024];        /* why the last start failed, if it did */
};

const char *nk_status_name(enum nk_status s);

int nk_state_read(const struct nk_paths *paths, const char *name, struct nk_state *st,
		  struct nk_err *err) NK_MUST_CHECK;
int nk_state_write(const struct nk_paths *paths, const char *name, const struct nk_state *st,
		   struct nk_err *err) NK_MUST_CHECK;
/* Serialise / parse, exposed for tests. */
char *nk_state_to_json(const struct nk_state *st);
int nk_state_from_json(const char *json, struct nk_state *st, struct nk_err *err) NK_MUST_CHECK;

/* Exclusive lock on the instance (flock on its lock file); returns the fd to close. */
int nk_state_lock(const struct nk_paths *paths, const char *name, struct nk_err *err) NK_MUST_CHECK;

#endif
