/* Background work for the dashboard: each slow thing (start, stop, delete, a log being
 * followed, a ':' command) runs in a child process that reports over a pipe, so the
 * loop never waits on it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "tui/dash.h"

/* A child starts from the dashboard's memory: give it back ordinary signals and stdio
 * that cannot scribble on the screen. */
void dash_child_reset(struct nk_dash *d)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGWINCH, SIGTSTP, SIGCHLD, SIGPIPE, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
}

struct dash_job *dash_job_spawn(struct nk_dash *d, const struct dash_job_ops *ops, const char *name,
				const char *verb, const char *arg)
{
	int slot = -1;
	for (int i = 0; i < DASH_MAX_JOBS; i++)
		if (!d->jobs[i]) {
			slot = i;
			break;
		}
	if (slot < 0) {
		dash_msg(d, 1, "too many things running at once; wait for some to finish");
		return NULL;
	}
	struct dash_job *j = calloc(1, sizeof(*j));
	int p[2];
	if (!j || pipe2(p, O_CLOEXEC) < 0) {
		dash_msg(d, 1, "cannot start background work: %s", strerror(errno ? errno : ENOMEM));
		free(j);
		return NULL;
	}
	j->ops = ops;
	j->fd = p[0];
	snprintf(j->name, sizeof(j->name), "%s", name ? name : "");
	snprintf(j->verb, sizeof(j->verb), "%s", verb ? verb : "");
	snprintf(j->arg, sizeof(j->arg), "%s", arg ? arg : "");
	fflush(stdout);
	fflush(stderr);
	j->pid = fork();
	if (j->pid < 0) {
		dash_msg(d, 1, "cannot fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(j);
		return NULL;
	}
	if (j->pid == 0) {
		dash_child_reset(d);
		/* Followers (a log, the events feed) are for this screen only: end with it, even
		 * if it crashes. Actions carry on to their end. */
		if (ops->quiet)
			prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* A dashboard that quits first must not take the child's result with it. */
		signal(SIGPIPE, SIG_IGN);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, STDIN_FILENO);
		dup2(ops->capture_stdio ? p[1] : null, STDOUT_FILENO);
		dup2(ops->capture_stdio ? p[1] : null, STDERR_FILENO);
		if (ops->capture_stdio)
			setvbuf(stdout, NULL, _IOLBF, 0);
		int rc = ops->run(d, j, p[1]);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	close(p[1]);
	fcntl(j->fd, F_SETFL, O_NONBLOCK);
	d->jobs[slot] = j;
	dash_jobs_mark_rows(d);
	dash_update_tick(d);
	d->dirty |= DIRTY_BODY | DIRTY_MSG;
	return j;
}

static void job_free(struct nk_dash *d, int slot)
{
	struct dash_job *j = d->jobs[slot];
	nk_closep(&j->fd);
	free(j->out);
	free(j);
	d->jobs[slot] = NULL;
	dash_jobs_mark_rows(d);
	dash_update_tick(d);
	d->dirty |= DIRTY_BODY | DIRTY_MSG;
}

/* Which rows show a spinner: those a job with a verb acts on. */
void dash_jobs_mark_rows(struct nk_dash *d)
{
	for (size_t i = 0; i < d->nrows; i++)
		d->rows[i]->busy = 0;
	for (int i = 0; i < DASH_MAX_JOBS; i++) {
		struct dash_job *j = d->jobs[i];
		struct dash_row *r = j && j->name[0] && j->verb[0] ? dash_row_find(d, j->name) : NULL;
		if (r) {
			r->busy++;
			snprintf(r->busy_verb, sizeof(r->busy_verb), "%s", j->verb);
		}
	}
}

/* Finished when both its output ended and it was reaped, in either order. */
static void maybe_done(struct nk_dash *d, int slot)
{
	struct dash_job *j = d->jobs[slot];
	if (!j || j->fd >= 0 || !j->reaped)
		return;
	if (j->ops->done)
		j->ops->done(d, j, j->status);
	/* done may have replaced the slot's job (a pager closing it, say). */
	if (d->jobs[slot] == j)
		job_free(d, slot);
}

void dash_job_read(struct nk_dash *d, struct dash_job *j)
{
	char buf[16384];
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(j->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN: more later */
		if (n == 0) {
			nk_closep(&j->fd);
			break;
		}
		if (j->ops->data)
			j->ops->data(d, j, buf, (size_t)n);
		else if (j->out_len + (size_t)n < 1 << 20) {
			if (j->out_len + (size_t)n + 1 > j->out_cap) {
				size_t cap = (j->out_len + (size_t)n + 1) * 2;
				char *o = realloc(j->out, cap);
				if (!o)
					continue;
				j->out = o;
				j->out_cap = cap;
			}
			memcpy(j->out + j->out_len, buf, (size_t)n);
			j->out_len += (size_t)n;
			j->out[j->out_len] = '\0';
		}
	}
	for (int i = 0; i < DASH_MAX_JOBS; i++)
		if (d->jobs[i] == j)
			maybe_done(d, i);
}

void dash_jobs_reap(struct nk_dash *d)
{
	/* By pid, never waitpid(-1): an attach or exec child is waited for elsewhere. */
	for (int i = 0; i < DASH_MAX_JOBS; i++) {
		struct dash_job *j = d->jobs[i];
		if (!j || j->reaped)
			continue;
		int status;
		pid_t p = waitpid(j->pid, &status, WNOHANG);
		if (p == j->pid) {
			j->reaped = 1;
			j->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			if (j->fd >= 0)
				dash_job_read(d, j);
			else
				maybe_done(d, i);
		}
	}
}

/* Stop a job whose result nobody wants any more (a log no longer shown). */
void dash_jobs_kill(struct nk_dash *d, struct dash_job *j)
{
	for (int i = 0; i < DASH_MAX_JOBS; i++) {
		if (d->jobs[i] != j)
			continue;
		if (!j->reaped) {
			kill(j->pid, SIGTERM);
			while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		job_free(d, i);
		return;
	}
}

int dash_jobs_active(const struct nk_dash *d)
{
	int n = 0;
	for (int i = 0; i < DASH_MAX_JOBS; i++)
		if (d->jobs[i] && !d->jobs[i]->ops->quiet)
			n++;
	return n;
}

void dash_jobs_summary(const struct nk_dash *d, char *buf, size_t size)
{
	size_t used = 0;
	int shown = 0, more = 0;
	buf[0] = '\0';
	for (int i = 0; i < DASH_MAX_JOBS; i++) {
		const struct dash_job *j = d->jobs[i];
		if (!j || j->ops->quiet)
			continue;
		if (shown >= 4) {
			more++;
			continue;
		}
		int w = j->verb[0] ? snprintf(buf + used, size - used, "%s%s %s", shown ? ", " : "", j->verb,
					      j->name[0] ? j->name : j->arg)
				   : snprintf(buf + used, size - used, "%s%s%s%s", shown ? ", " : "", j->arg,
					      j->name[0] ? " in " : "", j->name);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
		shown++;
	}
	if (more && used < size)
		snprintf(buf + used, size - used, " and %d more", more);
}
