/* nook as an OCI runtime: the runc command-line contract (create/start/state/kill/delete/exec
 * ...) over nook's engine, for podman, containerd and CRI-O. docs/oci.md describes it. */
#ifndef NOOK_OCI_H
#define NOOK_OCI_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "paths.h"

#define NK_OCI_VERSION "1.0.2"
#define NK_OCI_DEFAULT_ROOT "/run/nook-runtime"
#define NK_OCI_ID_MAX 128

struct nk_oci {
	char root[PATH_MAX];            /* --root: one directory per container */
	const struct nk_paths *paths;   /* the seccomp cache lives under NOOK_ROOT */
};

/* What the runtime records for a container (root/ID/state.json). */
struct nk_oci_state {
	char id[NK_OCI_ID_MAX + 1];
	pid_t pid;                      /* the container's process, in the host's pid namespace */
	uint64_t pid_start;             /* its start time, so a reused pid is not mistaken for it */
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	int64_t created;                /* wall-clock seconds */
	char cgroup[256];               /* the group's path below the cgroup root */
	char status[16];                /* computed on read: created, running, paused, stopped */
	char *annotations;              /* the bundle's annotations as JSON text (malloc'd), or NULL */
};

struct nk_oci_create_opts {
	const char *bundle;             /* directory with config.json */
	const char *pid_file;           /* NULL: none */
	const char *console_socket;     /* a unix socket that gets the PTY master (process.terminal) */
	int no_pivot;                   /* move the root with MS_MOVE + chroot (for a ramfs root) */
	int preserve_fds;               /* descriptors 3..3+N-1 pass into the container */
};

struct nk_oci_exec_opts {
	const char *process_file;       /* --process: a process object as JSON; NULL: args */
	char **args;                    /* used without process_file */
	int tty, detach;
	const char *console_socket;
	const char *pid_file;
	const char *cwd;                /* --cwd, overrides */
	const char **env;               /* --env K=V, added */
	size_t env_count;
};

int nk_oci_init(struct nk_oci *rt, const char *root, const struct nk_paths *paths, struct nk_err *err) NK_MUST_CHECK;
/* An id the runtime accepts as a directory name: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 128. */
int nk_oci_check_id(const char *id, struct nk_err *err) NK_MUST_CHECK;

/* -ENOENT (with "container ID does not exist") when there is none. status is filled. */
int nk_oci_state_read(const struct nk_oci *rt, const char *id, struct nk_oci_state *st,
		      struct nk_err *err) NK_MUST_CHECK;
void nk_oci_state_free(struct nk_oci_state *st);
/* The OCI state document (malloc'd). */
char *nk_oci_state_json(const struct nk_oci_state *st);
/* Every container under the root, sorted by id; free each and the array. */
int nk_oci_list(const struct nk_oci *rt, struct nk_oci_state **out, size_t *count, struct nk_err *err) NK_MUST_CHECK;

int nk_oci_create(const struct nk_oci *rt, const char *id, const struct nk_oci_create_opts *opts,
		  struct nk_err *err) NK_MUST_CHECK;
int nk_oci_start(const struct nk_oci *rt, const char *id, struct nk_err *err) NK_MUST_CHECK;
int nk_oci_kill(const struct nk_oci *rt, const char *id, int sig, int all, struct nk_err *err) NK_MUST_CHECK;
int nk_oci_delete(const struct nk_oci *rt, const char *id, int force, struct nk_err *err) NK_MUST_CHECK;
int nk_oci_pause(const struct nk_oci *rt, const char *id, int pause, struct nk_err *err) NK_MUST_CHECK;
/* The container's processes (host pids), malloc'd. */
int nk_oci_pids(const struct nk_oci *rt, const char *id, pid_t **pids, size_t *count, struct nk_err *err) NK_MUST_CHECK;
/* Without detach, *exit_code is the process's; with it, 0 once it runs. */
int nk_oci_exec(const struct nk_oci *rt, const char *id, const struct nk_oci_exec_opts *opts, int *exit_code,
		struct nk_err *err) NK_MUST_CHECK;

/* The OCI features document (malloc'd JSON). */
char *nk_oci_features_json(void);

/* Internal, shared by the oci-*.c files. */
int nk_oci_path(const struct nk_oci *rt, const char *id, const char *file, char *out, size_t size) NK_MUST_CHECK;
int nk_oci_state_write(const struct nk_oci *rt, const struct nk_oci_state *st, struct nk_err *err) NK_MUST_CHECK;
/* Exclusive lock on one container's directory; the fd to close. */
int nk_oci_lock(const struct nk_oci *rt, const char *id, struct nk_err *err) NK_MUST_CHECK;
/* Send fd over the unix socket at path (SCM_RIGHTS), as runc's --console-socket does. */
int nk_oci_send_console(const char *socket_path, int fd, struct nk_err *err) NK_MUST_CHECK;
/* Write "PID" to path atomically. */
int nk_oci_write_pid_file(const char *path, pid_t pid, struct nk_err *err) NK_MUST_CHECK;

#endif
