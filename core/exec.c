/* Run another process inside a running container: same namespaces, cgroup, privileges. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "instance.h"
#include "process.h"
#include "seccomp-cache.h"
#include "spec.h"
#include "util.h"

/* Entered in this order: the mount namespace last, since the others are opened first
 * through the host's /proc. */
static const struct {
	const char *file;
	int flag;
} namespaces[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
		  {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};

static void child_fail(int fd, const struct nk_err *err, int code)
{
	dprintf(fd, "nook: %s\n", err->msg);
	_exit(code);
}

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

static void exec_child(struct nk_spec *spec, const struct nk_seccomp_prog *seccomp, int ns_fds[], pid_t init_pid,
		       struct nk_cgroup *cg, int slave, const int child_stdio[3])
{
	struct nk_err err = {0};
	/* Join the cgroup from the host side, before the cgroup namespace hides it. */
	if (cg->ops->attach(cg, getpid(), &err) < 0)
		child_fail(2, &err, NK_EXIT_NOOK_FAILED);
	for (size_t i = 0; i < NK_ARRAY_SIZE(namespaces); i++) {
		if (ns_fds[i] >= 0 && setns(ns_fds[i], namespaces[i].flag) < 0) {
			nk_err_set(&err, errno, "cannot enter the %s namespace of pid %d", namespaces[i].file, (int)init_pid);
			child_fail(2, &err, NK_EXIT_NOOK_FAILED);
		}
	}
	/* A pid namespace applies to children only: fork once more. */
	pid_t pid = fork();
	if (pid < 0) {
		nk_err_set(&err, errno, "cannot fork inside the container");
		child_fail(2, &err, NK_EXIT_NOOK_FAILED);
	}
	if (pid > 0) {
		int status;
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (slave >= 0) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
	} else {
		for (int i = 0; i < 3; i++)
			dup2(child_stdio[i], i);
	}
	struct nk_launch launch = {.seccomp = seccomp, .report_fd = -1, .keep_fd = -1};
	int r = nk_process_exec(spec, &launch, &err);
	child_fail(2, &err, nk_process_exit_code(r));
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
	int ns_fds[NK_ARRAY_SIZE(namespaces)];
	for (size_t i = 0; i < NK_ARRAY_SIZE(namespaces); i++) {
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)init, namespaces[i].file);
		ns_fds[i] = (spec.clone_flags & namespaces[i].flag) ? open(p, O_RDONLY | O_CLOEXEC) : -1;
		if ((spec.clone_flags & namespaces[i].flag) && ns_fds[i] < 0)
			r = nk_err_set(err, errno, "cannot open %s", p);
	}
	int master = -1, slave = -1, child_stdio[3] = {-1, -1, -1};
	*io = (struct nk_exec_io){.master = -1, .in = -1, .out = -1, .errout = -1};
	if (r == 0 && !opts->tty)
		r = open_pipes(interactive, io, child_stdio, err);
	if (r == 0 && opts->tty) {
		/* The container's own devpts: the PTY is one of its, not the host's. */
		snprintf(p, sizeof(p), "/proc/%d/root/dev/pts/ptmx", (int)init);
		master = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || unlockpt(master) < 0 ||
		    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			r = nk_err_set(err, errno, "cannot allocate a terminal in %s", name);
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
		if (spec.seccomp_path && (r = nk_seccomp_cached(paths, spec.seccomp_path, spec.cap_effective, 0, &prog, err)) < 0)
			goto close_fds;
		pid_t pid = fork();
		if (pid == 0) {
			/* The caller's ends stay with the caller: a copy held here would keep the
			 * command's stdin from ever reaching end-of-file. */
			int *ours[] = {&master, &io->in, &io->out, &io->errout};
			for (size_t i = 0; i < NK_ARRAY_SIZE(ours); i++)
				nk_closep(ours[i]);
			spec.env = env;
			exec_child(&spec, spec.seccomp_path ? &prog : NULL, ns_fds, init, &cg, slave, child_stdio);
		}
		nk_seccomp_prog_free(&prog);
		if (env != spec.env)
			free(env);
		spec.args = NULL; /* borrowed from opts */
		if (pid < 0)
			r = nk_err_set(err, errno, "cannot fork");
		else
			*pid_out = pid;
	}
close_fds:
	for (size_t i = 0; i < NK_ARRAY_SIZE(namespaces); i++)
		if (ns_fds[i] >= 0)
			close(ns_fds[i]);
	if (slave >= 0)
		close(slave);
	for (int i = 0; i < 3; i++)
		if (child_stdio[i] >= 0)
			close(child_stdio[i]);
	io->master = master;
	if (r < 0) {
		int *fds[] = {&io->master, &io->in, &io->out, &io->errout};
		for (size_t i = 0; i < NK_ARRAY_SIZE(fds); i++)
			nk_closep(fds[i]);
	}
out:
	nk_spec_free(&spec);
	return r;
}
