/* The last steps before a sandboxed program runs: privileges dropped, then exec. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "seccomp.h"
#include "util.h"

static const char *env_path(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], "PATH=", 5))
			return env[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* execvpe searches the caller's PATH; the container's own PATH is the one that counts. */
static int exec_in_path(char **args, char **env)
{
	const char *cmd = args[0];
	if (strchr(cmd, '/')) {
		execve(cmd, args, env);
		return -errno;
	}
	int result = -ENOENT;
	const char *p = env_path(env);
	while (*p) {
		size_t len = strcspn(p, ":");
		char full[4096];
		if (nk_fmt(full, sizeof(full), "%.*s/%s", (int)len, len ? p : ".", cmd) == 0) {
			execve(full, args, env);
			/* Keep searching past ENOENT, but remember a "found, not runnable". */
			if (errno != ENOENT && errno != ENOTDIR)
				result = -errno;
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return result;
}

static void report_time(int fd)
{
	if (fd >= 0) {
		uint64_t now = nk_now_ns();
		(void)!write(fd, &now, sizeof(now));
	}
}

/* Keep the launch's descriptors (moved to 3 and 4), close everything else above 2. */
static void close_other_fds(struct nk_launch *l, int preserved)
{
	int *keep[] = {&l->report_fd, &l->keep_fd};
	int next = 3 + preserved;
	for (int fd = 3; fd < next; fd++)
		fcntl(fd, F_SETFD, 0);
	for (size_t i = 0; i < NK_ARRAY_SIZE(keep); i++) {
		if (*keep[i] < 0)
			continue;
		int fd = fcntl(*keep[i], F_DUPFD_CLOEXEC, 10);
		if (fd < 0 || dup3(fd, next, O_CLOEXEC) < 0) {
			*keep[i] = -1;
			continue;
		}
		close(fd);
		*keep[i] = next++;
	}
	nk_close_fds_from(next);
}

/* rlimits, OOM score and umask, while still privileged; then the user and groups. */
static int apply_process_settings(const struct nk_spec *spec, struct nk_err *err)
{
	for (size_t i = 0; i < spec->rlimit_count; i++) {
		const struct nk_rlimit *l = &spec->rlimits[i];
		struct rlimit rl = {.rlim_cur = (rlim_t)l->soft, .rlim_max = (rlim_t)l->hard};
		if (setrlimit(l->resource, &rl) < 0)
			return nk_err_set(err, errno, "cannot set resource limit %d to %llu:%llu%s", l->resource,
					  (unsigned long long)l->soft, (unsigned long long)l->hard,
					  errno == EPERM ? " (raising a hard limit needs CAP_SYS_RESOURCE)" : "");
	}
	if (spec->has_oom_score_adj) {
		char v[16];
		snprintf(v, sizeof(v), "%d", spec->oom_score_adj);
		int r = nk_write_str("/proc/self/oom_score_adj", v);
		if (r < 0)
			return nk_err_set(err, -r, "cannot set oom_score_adj to %d", spec->oom_score_adj);
	}
	if (spec->has_umask)
		umask((mode_t)spec->umask);
	if (spec->has_user)
		return nk_caps_set_ids(spec->uid, spec->gid, spec->groups, spec->group_count, err);
	return 0;
}

int nk_process_exec(const struct nk_spec *spec, const struct nk_launch *launch_in, struct nk_err *err)
{
	struct nk_launch launch = {.report_fd = -1, .keep_fd = -1};
	if (launch_in)
		launch = *launch_in;
	/* Whatever the launcher blocked or ignored must not leak into the program. */
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir(spec->cwd) < 0)
		return nk_err_set(err, errno, "cannot change to the working directory %s", spec->cwd);
	int r = apply_process_settings(spec, err);
	if (r == 0)
		r = nk_caps_apply(spec->cap_bounding, spec->cap_effective, spec->cap_permitted,
				  spec->cap_inheritable, err);
	if (r == 0 && spec->cap_ambient)
		r = nk_caps_raise_ambient(spec->cap_ambient, err);
	if (r < 0)
		return r;
	/* The kernel requires no_new_privs for an unprivileged filter; nook always sets it. */
	if ((spec->no_new_privs || launch.seccomp) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nk_err_set(err, errno, "cannot set no_new_privs");
	close_other_fds(&launch, spec->preserve_fds);
	report_time(launch.report_fd);
	if (launch.seccomp) {
		int listener = -1;
		if ((r = nk_seccomp_install(launch.seccomp, &listener, err)) < 0)
			return r;
		if (listener >= 0 && launch.handoff && (r = launch.handoff(launch.keep_fd, listener)) < 0)
			return nk_err_set(err, -r, "cannot hand the seccomp listener to the monitor");
		if (listener >= 0)
			close(listener);
	}
	report_time(launch.report_fd);
	r = exec_in_path(spec->args, spec->env);
	return nk_err_set(err, -r, "cannot run '%s'", spec->args[0]);
}

int nk_process_exit_code(int negative_errno)
{
	return negative_errno == -ENOENT || negative_errno == -ENOTDIR ? NK_EXIT_NOT_FOUND
								       : NK_EXIT_CANNOT_EXEC;
}
