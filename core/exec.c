/* Run another process inside a running container: same namespaces, cgroup, privileges. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "exec-enter.h"
#include "instance.h"
#include "process.h"
#include "seccomp-cache.h"
#include "spec.h"
#include "util.h"

/* Replace or add K=V entries to the spec's environment. */
static char **merge_env(char **base, const char **extra, size_t n)
{
	size_t nb = 0;
	while (base && base[nb])
		nb++;
	char **env = calloc(nb + n + 1, sizeof(*env));
	if (!env)
		return base;
	memcpy(env, base, nb * sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		size_t key = strcspn(extra[i], "=");
		size_t k;
		for (k = 0; k < nb; k++)
			if (!strncmp(env[k], extra[i], key) && env[k][key] == '=')
				break;
		env[k] = (char *)extra[i];
		if (k == nb)
			nb++;
	}
	return env;
}

/* In the process, right after its filter is loaded: say which fd number the listener has
 * and wait until the caller took it. Only write and read: a teach filter never turns
 * those into notifications. */
static int handoff_listener(int feed_fd, int listener)
{
	int32_t v = listener;
	if (write(feed_fd, &v, sizeof(v)) != sizeof(v) || read(feed_fd, &v, sizeof(v)) != sizeof(v))
		return -EPIPE;
	return 0;
}

static int open_pipes(int interactive, struct nk_exec_io *io, int child[3], struct nk_err *err)
{
	int p[2];
	if (interactive) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return nk_err_set(err, errno, "cannot create a pipe");
		child[0] = p[0];
		io->in = p[1];
	} else if ((child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		return nk_err_set(err, errno, "cannot open /dev/null");
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return nk_err_set(err, errno, "cannot create a pipe");
	child[1] = p[1];
	io->out = p[0];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nk_err_set(err, errno, "cannot create a pipe");
	child[2] = p[1];
	io->errout = p[0];
	return 0;
}

/* The caller's side of handoff_listener: the process's host pid, then its listener's fd
 * number; take the listener with pidfd_getfd and let the process go on to exec. */
static int take_listener(int feed_fd, int *listener, struct nk_err *err)
{
	int32_t pid = 0, fd_number = -1;
	if (read(feed_fd, &pid, sizeof(pid)) != sizeof(pid) || read(feed_fd, &fd_number, sizeof(fd_number)) != sizeof(fd_number))
		return nk_err_msg(err, EPIPE, "the process ended before it handed its seccomp listener over");
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return nk_err_set(err, errno, "cannot reach the process (pid %d)", (int)pid);
	*listener = (int)syscall(SYS_pidfd_getfd, pidfd, fd_number, 0);
	int e = errno;
	close(pidfd);
	if (*listener < 0)
		return nk_err_set(err, e, "cannot take the seccomp listener");
	int32_t ack = 1;
	if (write(feed_fd, &ack, sizeof(ack)) != sizeof(ack))
		return nk_err_set(err, errno, "cannot answer the process");
	return 0;
}

int nk_exec_start(const struct nk_paths *paths, const char *name, const struct nk_exec_opts *opts,
		  int interactive, struct nk_exec_io *io, pid_t *pid_out, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status != NK_RUNNING)
		return nk_err_msg(err, EINVAL, "%s is not running (it is %s): start it first", name,
				  nk_status_name(info.state.status));
	char p[PATH_MAX];
	struct nk_spec spec;
	if ((r = nk_path_instance(paths, name, "config.json", p, sizeof(p))) < 0 ||
	    (r = nk_spec_load_file(p, &spec, err)) < 0)
		return r;
	struct nk_cgroup cg;
	if ((r = nk_cgroup_init(&cg, paths, name, err)) < 0)
		goto out;
	pid_t init = info.state.init_pid;
	int ns_fds[NK_EXEC_NS_COUNT];
	for (size_t i = 0; i < NK_EXEC_NS_COUNT; i++) {
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)init, nk_exec_ns[i].file);
		ns_fds[i] = (spec.clone_flags & nk_exec_ns[i].flag) ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		if ((spec.clone_flags & nk_exec_ns[i].flag) && ns_fds[i] < 0)
			r = nk_err_set(err, errno, "cannot open %s", p);
	}
	int master = -1, slave = -1, child_stdio[3] = {-1, -1, -1};
	*io = (struct nk_exec_io){.master = -1, .in = -1, .out = -1, .errout = -1, .seccomp_listener = -1};
	int feed[2] = {-1, -1};
	int want_feed = opts->seccomp_feed && spec.seccomp_path;
	if (r == 0 && want_feed && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, feed) < 0)
		r = nk_err_set(err, errno, "cannot create a socket");
	if (r == 0 && !opts->tty)
		r = open_pipes(interactive, io, child_stdio, err);
	if (r == 0 && opts->tty) {
		/* The container's own devpts: the PTY is one of its, not the host's. */
		if ((r = nk_exec_open_terminal(init, 0, &master, &slave, err)) < 0)
			nk_err_prefix(err, "%s", name);
	}
	if (r == 0) {
		free(spec.args);
		spec.args = opts->args;
		if (opts->workdir) {
			free(spec.cwd);
			spec.cwd = strdup(opts->workdir);
		}
		char **env = merge_env(spec.env, opts->env, opts->env_count);
		/* The same filter as the command's, answering EPERM itself: the live feed has
		 * one listener, the container's init's command. */
		struct nk_seccomp_prog prog = {0};
		if (spec.seccomp_path &&
		    (r = nk_seccomp_cached(paths, spec.seccomp_path, spec.cap_effective, want_feed ? NK_SECCOMP_TEACH : 0,
					   &prog, err)) < 0)
			goto close_fds;
		pid_t pid = fork();
		if (pid == 0) {
			/* The caller's ends stay with the caller: a copy held here would keep the
			 * command's stdin from ever reaching end-of-file. */
			int *ours[] = {&master, &io->in, &io->out, &io->errout, &feed[0]};
			for (size_t i = 0; i < NK_ARRAY_SIZE(ours); i++)
				nk_closep(ours[i]);
			spec.env = env;
			struct nk_exec_child child = {.spec = &spec, .seccomp = spec.seccomp_path ? &prog : NULL,
						      .ns_fds = ns_fds, .cg = &cg, .slave = slave, .stdio = child_stdio,
						      .report_fd = feed[1], .die_with_parent = 1,
						      .handoff = feed[1] >= 0 ? handoff_listener : NULL};
			nk_exec_child_run(&child);
		}
		nk_closep(&feed[1]);
		if (pid > 0 && want_feed && (r = take_listener(feed[0], &io->seccomp_listener, err)) < 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			pid = 0;
		}
		nk_seccomp_prog_free(&prog);
		if (env != spec.env)
			free(env);
		spec.args = NULL; /* borrowed from opts */
		if (pid < 0)
			r = nk_err_set(err, errno, "cannot fork");
		else if (r == 0)
			*pid_out = pid;
	}
close_fds:
	for (int i = 0; i < 2; i++)
		nk_closep(&feed[i]);
	for (size_t i = 0; i < NK_EXEC_NS_COUNT; i++)
		if (ns_fds[i] >= 0)
			close(ns_fds[i]);
	if (slave >= 0)
		close(slave);
	for (int i = 0; i < 3; i++)
		if (child_stdio[i] >= 0)
			close(child_stdio[i]);
	io->master = master;
	if (r < 0) {
		int *fds[] = {&io->master, &io->in, &io->out, &io->errout, &io->seccomp_listener};
		for (size_t i = 0; i < NK_ARRAY_SIZE(fds); i++)
			nk_closep(fds[i]);
	}
out:
	nk_spec_free(&spec);
	return r;
}
