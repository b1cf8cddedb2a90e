/* Entering a running container from outside: namespaces, cgroup, terminal, process. */
#include "exec-enter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

const struct nk_exec_ns nk_exec_ns[NK_EXEC_NS_COUNT] = {
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};

int nk_exec_open_terminal(pid_t pid, int fallback, int *master, int *slave, struct nk_err *err)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/root/dev/pts/ptmx", (int)pid);
	*slave = -1;
	*master = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 && fallback)
		*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || unlockpt(*master) < 0 ||
	    (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return nk_err_set(err, errno, "cannot allocate a terminal");
	return 0;
}

__attribute__((noreturn)) static void fail(const struct nk_err *err, int code)
{
	dprintf(2, "nook: %s\n", err->msg);
	_exit(code);
}

void nk_exec_child_run(const struct nk_exec_child *c)
{
	struct nk_err err = {0};
	/* The cgroup from the host side, before the cgroup namespace hides it. */
	if (nk_cgroup_join(c->cg, &err) < 0)
		fail(&err, NK_EXIT_NOOK_FAILED);
	for (size_t i = 0; i < NK_EXEC_NS_COUNT; i++)
		if (c->ns_fds[i] >= 0 && setns(c->ns_fds[i], nk_exec_ns[i].flag) < 0) {
			nk_err_set(&err, errno, "cannot enter the container's %s namespace", nk_exec_ns[i].file);
			fail(&err, NK_EXIT_NOOK_FAILED);
		}
	pid_t pid = fork();
	if (pid < 0) {
		nk_err_set(&err, errno, "cannot fork inside the container");
		fail(&err, NK_EXIT_NOOK_FAILED);
	}
	if (pid > 0) {
		int32_t host_pid = pid;
		if (c->report_fd >= 0)
			(void)!write(c->report_fd, &host_pid, sizeof(host_pid));
		if (c->detach)
			_exit(0);
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	if (c->die_with_parent)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (c->slave >= 0) {
		setsid();
		ioctl(c->slave, TIOCSCTTY, 0);
		for (int i = 0; i < 3; i++)
			dup2(c->slave, i);
	} else if (c->stdio) {
		for (int i = 0; i < 3; i++)
			dup2(c->stdio[i], i);
	}
	struct nk_launch launch = {.seccomp = c->seccomp, .report_fd = -1, .keep_fd = c->handoff ? c->report_fd : -1,
				   .handoff = c->handoff};
	int r = nk_process_exec(c->spec, &launch, &err);
	fail(&err, nk_process_exit_code(r));
}
