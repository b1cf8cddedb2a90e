/* The runtime's commands on an existing container: start, kill, delete, pause/resume, ps. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "hooks.h"
#include "oci.h"
#include "spec.h"
#include "util.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The bundle's hooks of one kind, run with the state; for poststart/poststop, whose failure
 * is reported but changes nothing (the container already runs, or is already gone). */
static void run_late_hooks(const struct nk_oci_state *st, enum nk_hook_kind kind)
{
	char p[PATH_MAX];
	struct nk_spec spec;
	struct nk_err err = {0};
	if (nk_fmt(p, sizeof(p), "%s/config.json", st->bundle) < 0 || nk_spec_load_file(p, &spec, &err) < 0)
		return;
	if (spec.hooks[kind].n) {
		nk_autofree char *state = nk_oci_state_json(st);
		if (nk_hooks_run(&spec.hooks[kind], kind, state, &err) < 0)
			fprintf(stderr, "nook: warning: %s\n", err.msg);
	}
	nk_spec_free(&spec);
}

int nk_oci_start(const struct nk_oci *rt, const char *id, struct nk_err *err)
{
	struct nk_oci_state st;
	nk_autoclose int lock = nk_oci_lock(rt, id, err);
	if (lock < 0)
		return lock;
	nk_autoclose int fd = -1;
	int r = nk_oci_state_read(rt, id, &st, err);
	if (r < 0)
		return r;
	if (strcmp(st.status, "created")) {
		r = nk_err_msg(err, EINVAL, "cannot start container %s: it is %s, not created", id, st.status);
		goto out;
	}
	char fifo[PATH_MAX];
	if (nk_oci_path(rt, id, "exec.fifo", fifo, sizeof(fifo)) < 0) {
		r = nk_err_msg(err, ENAMETOOLONG, "path too long");
		goto out;
	}
	/* Non-blocking: if the process died while waiting, nobody would ever open the other end. */
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = nk_err_set(err, errno, "cannot open %s", fifo);
		goto out;
	}
	char byte = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) > 0 && read(fd, &byte, 1) == 1)
			break;
		if (!nk_proc_alive(st.pid, st.pid_start)) {
			r = nk_err_msg(err, ESRCH, "container %s died before it could start", id);
			goto out;
		}
	}
	unlink(fifo);
	snprintf(st.status, sizeof(st.status), "running");
	run_late_hooks(&st, NK_HOOK_POSTSTART);
out:
	nk_oci_state_free(&st);
	return r;
}

static int signal_all(const struct nk_oci_state *st, int sig, struct nk_err *err)
{
	struct nk_cgroup cg;
	pid_t *pids = NULL;
	size_t n = 0;
	int r = nk_cgroup_init_path(&cg, st->cgroup, err);
	if (r == 0)
		r = nk_cgroup_pids(&cg, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		kill(pids[i], sig);
	free(pids);
	return r;
}

int nk_oci_kill(const struct nk_oci *rt, const char *id, int sig, int all, struct nk_err *err)
{
	struct nk_oci_state st;
	int r = nk_oci_state_read(rt, id, &st, err);
	if (r < 0)
		return r;
	if (!strcmp(st.status, "stopped"))
		r = nk_err_msg(err, ESRCH, "container %s is not running", id);
	else if (all)
		r = signal_all(&st, sig, err);
	else if (kill(st.pid, sig) < 0)
		r = nk_err_set(err, errno, "cannot signal container %s", id);
	nk_oci_state_free(&st);
	return r;
}

/* SIGKILL everything in the group (thawing it, or a frozen process never dies) and wait
 * for the container's process to be gone. */
static void kill_and_wait(const struct nk_oci_state *st, struct nk_cgroup *cg)
{
	struct nk_err ignored;
	kill(st->pid, SIGKILL);
	cg->ops->kill_all(cg);
	(void)!cg->ops->freeze(cg, 0, &ignored);
	for (int i = 0; i < 500 && nk_proc_alive(st->pid, st->pid_start); i++)
		sleep_ms(10);
}

int nk_oci_delete(const struct nk_oci *rt, const char *id, int force, struct nk_err *err)
{
	char dir[PATH_MAX];
	struct nk_oci_state st;
	int r = nk_oci_check_id(id, err);
	if (r < 0 || nk_oci_path(rt, id, NULL, dir, sizeof(dir)) < 0)
		return r < 0 ? r : nk_err_msg(err, ENAMETOOLONG, "path too long");
	nk_autoclose int lock = nk_oci_lock(rt, id, err);
	if (lock < 0)
		return force && lock == -ENOENT ? 0 : lock;
	if ((r = nk_oci_state_read(rt, id, &st, err)) < 0) {
		/* A create that died before writing its state leaves only the directory. */
		struct nk_err ignored;
		if (r == -ENOENT && nk_rm_rf(dir, &ignored) == 0 && force)
			return 0;
		return r;
	}
	if (!force && (!strcmp(st.status, "running") || !strcmp(st.status, "paused"))) {
		r = nk_err_msg(err, EBUSY, "cannot delete container %s that is %s (stop it, or use --force)", id,
			       st.status);
		goto out;
	}
	struct nk_cgroup cg;
	if ((r = nk_cgroup_init_path(&cg, st.cgroup, err)) < 0)
		goto out;
	if (strcmp(st.status, "stopped"))
		kill_and_wait(&st, &cg);
	snprintf(st.status, sizeof(st.status), "stopped");
	if ((r = nk_cgroup_cleanup(&cg, err)) < 0)
		goto out;
	run_late_hooks(&st, NK_HOOK_POSTSTOP);
	r = nk_rm_rf(dir, err);
out:
	nk_oci_state_free(&st);
	return r;
}

int nk_oci_pause(const struct nk_oci *rt, const char *id, int pause, struct nk_err *err)
{
	struct nk_oci_state st;
	int r = nk_oci_state_read(rt, id, &st, err);
	if (r < 0)
		return r;
	const char *want = pause ? "running" : "paused";
	struct nk_cgroup cg;
	if (strcmp(st.status, want))
		r = nk_err_msg(err, EINVAL, "cannot %s container %s: it is %s", pause ? "pause" : "resume", id, st.status);
	else if ((r = nk_cgroup_init_path(&cg, st.cgroup, err)) == 0)
		r = cg.ops->freeze(&cg, pause, err);
	nk_oci_state_free(&st);
	return r;
}

int nk_oci_pids(const struct nk_oci *rt, const char *id, pid_t **pids, size_t *count, struct nk_err *err)
{
	struct nk_oci_state st;
	struct nk_cgroup cg;
	*pids = NULL;
	*count = 0;
	int r = nk_oci_state_read(rt, id, &st, err);
	if (r == 0 && strcmp(st.status, "stopped") && (r = nk_cgroup_init_path(&cg, st.cgroup, err)) == 0)
		r = nk_cgroup_pids(&cg, pids, count, err);
	nk_oci_state_free(&st);
	return r;
}
