/* Start a container: clone into new namespaces, join its cgroup, build its root, run init.
 *
 * The command does not run as PID 1: a tiny init (this code, not exec'd) stays PID 1 so
 * that zombies are reaped and SIGTERM reaches programs that never installed a handler
 * (a shell as PID 1 would ignore it, and `nook stop` would always need SIGKILL). */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "caps.h"
#include "process.h"
#include "rootfs.h"
#include "util.h"

enum sync_type { SYNC_GO = 1, SYNC_READY, SYNC_ERROR, SYNC_EXIT };

struct sync_msg {
	int type;
	int code;   /* errno for SYNC_ERROR */
	int value;  /* wait status for SYNC_EXIT */
	char text[sizeof(((struct nk_err *)0)->msg)];
};

static void report_error(int sync_fd, const struct nk_err *err)
{
	struct sync_msg m = {.type = SYNC_ERROR, .code = err->code};
	memcpy(m.text, err->msg, sizeof(m.text));
	(void)!write(sync_fd, &m, sizeof(m));
}

static int loopback_up(struct nk_err *err)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return nk_err_set(err, errno, "cannot open a socket to bring lo up");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = nk_err_set(err, errno, "cannot read the flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (r == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		r = nk_err_set(err, errno, "cannot bring lo up");
	close(s);
	return r;
}

/* The command's side of the fork: its own session, its stdio, then exec. */
static void run_command(const struct nk_spec *spec, const struct nk_container_io *io)
{
	struct nk_err err = {0};
	setsid();
	if (io->console >= 0) {
		if (ioctl(io->console, TIOCSCTTY, 0) < 0)
			dprintf(io->console, "nook: cannot set the controlling terminal: %s\n", strerror(errno));
		dup2(io->console, 0);
		dup2(io->console, 1);
		dup2(io->console, 2);
	} else {
		dup2(io->in, 0);
		dup2(io->out, 1);
		dup2(io->errout, 2);
	}
	int r = nk_process_exec(spec, &err);
	dprintf(2, "nook: %s\n", err.msg);
	_exit(nk_process_exit_code(r));
}

static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
				SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM};

static void noop_handler(int sig)
{
	(void)sig;
}

/* PID 1 of the container: forward signals to the command, reap everything, report. */
static void init_loop(pid_t cmd, int sync_fd)
{
	sigset_t all;
	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		int status;
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != cmd)
				continue;
			struct sync_msg m = {.type = SYNC_EXIT, .value = status};
			(void)!write(sync_fd, &m, sizeof(m));
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
	}
}

static void container_init(const struct nk_paths *paths, const struct nk_spec *spec,
			   const struct nk_container_io *io, int sync_fd)
{
	struct nk_err err = {0};
	struct sync_msg m;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "nook-init");
	/* The command runs as root beside us: without this it could ptrace init or take
	 * its sync socket (pidfd_getfd) and report a fake exit status to the monitor.
	 * exec resets the flag, so the command itself stays an ordinary process. */
	prctl(PR_SET_DUMPABLE, 0);
	/* Wait until the monitor has put us in the cgroup, then take it as our root. */
	if (read(sync_fd, &m, sizeof(m)) != sizeof(m) || m.type != SYNC_GO)
		_exit(NK_EXIT_NOOK_FAILED);
	if ((spec->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
		nk_err_set(&err, errno, "cannot create the cgroup namespace");
		goto fail;
	}
	if (nk_rootfs_setup(paths, spec, io->console >= 0 ? io->console_path : NULL, &err) < 0)
		goto fail;
	if (spec->hostname && (spec->clone_flags & CLONE_NEWUTS) &&
	    sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
		nk_err_set(&err, errno, "cannot set the hostname to %s", spec->hostname);
		goto fail;
	}
	if ((spec->clone_flags & CLONE_NEWNET) && loopback_up(&err) < 0)
		goto fail;

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* PID 1 only receives signals it has a handler for, even from the monitor. */
	for (size_t i = 0; i < NK_ARRAY_SIZE(forwarded); i++)
		signal(forwarded[i], noop_handler);
	pid_t cmd = fork();
	if (cmd < 0) {
		nk_err_set(&err, errno, "cannot fork the command");
		goto fail;
	}
	if (cmd == 0)
		run_command(spec, io);

	/* init keeps no privilege and no descriptor but the sync socket. */
	if (dup2(sync_fd, 3) == 3) {
		sync_fd = 3;
		nk_close_fds_from(4);
	}
	if (nk_caps_apply(0, 0, 0, 0, &err) < 0) {
		/* Harmless: init runs no foreign code; the command already dropped its own. */
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	m = (struct sync_msg){.type = SYNC_READY, .value = cmd};
	(void)!write(sync_fd, &m, sizeof(m));
	init_loop(cmd, sync_fd);
fail:
	report_error(sync_fd, &err);
	_exit(NK_EXIT_NOOK_FAILED);
}

int nk_container_start(const struct nk_paths *paths, const struct nk_spec *spec,
		       const struct nk_container_io *io, struct nk_cgroup *cg,
		       const struct nk_container_hook *hook, struct nk_container *c, struct nk_err *err)
{
	int sv[2];
	c->init_pid = -1;
	c->sync_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return nk_err_set(err, errno, "cannot create the sync socket");
	int r = cg->ops->create(cg, err);
	if (r == 0)
		r = cg->ops->set_limits(cg, &spec->limits, err);
	if (r < 0)
		goto undo_socket;
	/* A raw clone behaves like fork (no new stack) and takes the namespace flags. The
	 * cgroup namespace comes later, once the child sits in its own group. */
	long pid = syscall(SYS_clone, (unsigned long)(spec->clone_flags & ~CLONE_NEWCGROUP) | SIGCHLD,
			   NULL, NULL, NULL, 0);
	if (pid < 0) {
		r = nk_err_set(err, errno, "cannot create the container's namespaces");
		goto undo_socket;
	}
	if (pid == 0) {
		close(sv[0]);
		container_init(paths, spec, io, sv[1]);
		_exit(NK_EXIT_NOOK_FAILED);
	}
	close(sv[1]);
	c->init_pid = (pid_t)pid;
	c->sync_fd = sv[0];
	if ((r = cg->ops->attach(cg, c->init_pid, err)) < 0)
		goto undo_child;
	if (hook && hook->prepare && (r = hook->prepare(hook->opaque, c->init_pid, err)) < 0)
		goto undo_child;
	struct sync_msg m = {.type = SYNC_GO};
	if (write(c->sync_fd, &m, sizeof(m)) != sizeof(m)) {
		r = nk_err_set(err, errno, "cannot start the container's init");
		goto undo_child;
	}
	ssize_t n = read(c->sync_fd, &m, sizeof(m));
	if (n == sizeof(m) && m.type == SYNC_READY)
		return 0;
	if (n == sizeof(m) && m.type == SYNC_ERROR) {
		m.text[sizeof(m.text) - 1] = '\0';
		r = nk_err_msg(err, m.code, "%s", m.text);
	} else {
		r = nk_err_msg(err, EPIPE, "the container's init died while setting up");
	}
undo_child:
	kill(c->init_pid, SIGKILL);
	waitpid(c->init_pid, NULL, 0);
	close(c->sync_fd);
	c->sync_fd = -1;
	c->init_pid = -1;
	return r;
undo_socket:
	close(sv[0]);
	close(sv[1]);
	return r;
}

int nk_container_exit_report(struct nk_container *c, int *wstatus)
{
	struct sync_msg m;
	if (c->sync_fd < 0)
		return -EBADF;
	ssize_t n = read(c->sync_fd, &m, sizeof(m));
	if (n == sizeof(m) && m.type == SYNC_EXIT) {
		*wstatus = m.value;
		return 0;
	}
	return -ENODATA;
}
