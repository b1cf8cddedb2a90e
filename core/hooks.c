/* OCI hooks: fork, state on stdin, exec the hook's path with its args and env, wait. */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *const kind_names[NK_HOOK_KINDS] = {"prestart",       "createRuntime", "createContainer",
						      "startContainer", "poststart",     "poststop"};

const char *nk_hook_kind_name(enum nk_hook_kind kind)
{
	return kind >= 0 && kind < NK_HOOK_KINDS ? kind_names[kind] : "?";
}

/* Wait for pid, killing it once timeout_s (0: none) has passed. */
static int wait_hook(pid_t pid, int timeout_s, int *status, int *timed_out)
{
	uint64_t deadline = timeout_s ? nk_now_ns() + (uint64_t)timeout_s * 1000000000ull : 0;
	*timed_out = 0;
	for (;;) {
		pid_t r = waitpid(pid, status, deadline ? WNOHANG : 0);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (deadline && nk_now_ns() > deadline) {
			kill(pid, SIGKILL);
			*timed_out = 1;
			deadline = 0;
			continue;
		}
		if (deadline) {
			struct timespec ts = {0, 5 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

static int run_one(const struct nk_hook *h, enum nk_hook_kind kind, size_t index, const char *state,
		   struct nk_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nk_err_set(err, errno, "cannot run the %s hook %s", nk_hook_kind_name(kind), h->path);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return nk_err_set(err, errno, "cannot run the %s hook %s", nk_hook_kind_name(kind), h->path);
	}
	if (pid == 0) {
		dup2(p[0], 0);
		char *fallback[] = {h->path, NULL}, *no_env[] = {NULL};
		execve(h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : no_env);
		dprintf(2, "nook: cannot run the %s hook %s: %s\n", nk_hook_kind_name(kind), h->path, strerror(errno));
		_exit(127);
	}
	close(p[0]);
	/* A hook that does not read its stdin is allowed: ignore EPIPE. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	size_t len = strlen(state);
	(void)!write(p[1], state, len);
	close(p[1]);
	signal(SIGPIPE, old);
	int status = 0, timed_out = 0;
	int r = wait_hook(pid, h->timeout_s, &status, &timed_out);
	if (r < 0)
		return nk_err_set(err, -r, "waiting for the %s hook %s", nk_hook_kind_name(kind), h->path);
	if (timed_out)
		return nk_err_msg(err, ETIMEDOUT, "the %s hook %s (#%zu) did not finish within %d s", nk_hook_kind_name(kind),
				  h->path, index, h->timeout_s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return nk_err_msg(err, ECANCELED, "the %s hook %s (#%zu) failed with exit code %d",
				  nk_hook_kind_name(kind), h->path, index, WEXITSTATUS(status));
	return nk_err_msg(err, ECANCELED, "the %s hook %s (#%zu) was killed by signal %d", nk_hook_kind_name(kind),
			  h->path, index, WTERMSIG(status));
}

int nk_hooks_run(const struct nk_hook_list *hooks, enum nk_hook_kind kind, const char *state_json,
		 struct nk_err *err)
{
	for (size_t i = 0; i < hooks->n; i++) {
		int r = run_one(&hooks->v[i], kind, i, state_json ? state_json : "{}", err);
		if (r < 0)
			return r;
	}
	return 0;
}
