/* Start a container: clone into new namespaces, join its cgroup, build its root, run init.
 *
 * The command does not run as PID 1: a tiny init (this code, not exec'd) stays PID 1 so
 * that zombies are reaped and SIGTERM reaches programs that never installed a handler
 * (a shell as PID 1 would ignore it, and `nook stop` would always need SIGKILL). */
#include "container.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/sched.h>
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
#include "hooks.h"
#include "process.h"
#include "rootfs.h"
#include "util.h"

enum sync_type { SYNC_GO = 1, SYNC_READY, SYNC_ERROR, SYNC_EXIT, SYNC_LISTENER, SYNC_ACK };

struct sync_msg {
	int type;
	int code;   /* errno for SYNC_ERROR */
	int value;  /* wait status for SYNC_EXIT; the fd number for SYNC_LISTENER */
	uint64_t at_ns[NK_PHASE_COUNT]; /* SYNC_READY: when init's and the command's phases ended */
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

/* In the command, right after the filter is loaded: tell the monitor which fd number
 * the listener has (it takes it with pidfd_getfd) and wait for it to say so. Only write
 * and read: a teach-mode filter never turns those into notifications. */
static int handoff_listener(int sync_fd, int listener)
{
	struct sync_msg m = {.type = SYNC_LISTENER, .value = listener};
	if (write(sync_fd, &m, sizeof(m)) != sizeof(m))
		return -EPIPE;
	if (read(sync_fd, &m, sizeof(m)) != sizeof(m) || m.type != SYNC_ACK)
		return -EPIPE;
	return 0;
}

/* The command's side of the fork: its own session, its stdio, then exec. */
static void run_command(const struct nk_spec *spec, const struct nk_container_io *io,
			const struct nk_seccomp_prog *seccomp, int report_fd, int sync_fd)
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
	struct nk_launch launch = {.seccomp = seccomp, .report_fd = report_fd, .keep_fd = sync_fd,
				   .handoff = handoff_listener};
	int r = nk_process_exec(spec, &launch, &err);
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

/* Collect the command's phase times from its report pipe; EOF means exec happened (the
 * pipe is close-on-exec) or the command gave up. */
static void await_exec(int report_fd, struct sync_msg *ready)
{
	uint64_t t;
	enum nk_phase next = NK_PHASE_CAPS;
	while (read(report_fd, &t, sizeof(t)) == sizeof(t) && next <= NK_PHASE_SECCOMP)
		ready->at_ns[next++] = t;
	ready->at_ns[NK_PHASE_EXEC] = nk_now_ns();
	close(report_fd);
}

int nk_container_join_paths(const struct nk_spec *spec, int pid_namespace, struct nk_err *err)
{
	for (size_t i = 0; i < spec->ns_path_count; i++) {
		const struct nk_ns_path *ns = &spec->ns_paths[i];
		if ((ns->flag == CLONE_NEWPID) != !!pid_namespace)
			continue;
		nk_autoclose int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, ns->flag) < 0)
			return nk_err_set(err, errno, "cannot join the namespace %s", ns->path);
	}
	return 0;
}

static int run_hooks_here(const struct nk_container_opts *opts, const struct nk_spec *spec, enum nk_hook_kind kind,
			  const char *status, struct nk_err *err)
{
	if (!spec->hooks[kind].n)
		return 0;
	nk_autofree char *state = opts->oci->state(opts->oci->opaque, getpid(), status);
	return nk_hooks_run(&spec->hooks[kind], kind, state, err);
}

/* Close every descriptor from `from` up, except the listed ones. */
static void keep_only_fds(int from, const int *keep, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		int kept = fd < from || fd == self || e->d_name[0] == '.';
		for (size_t i = 0; i < n && !kept; i++)
			kept = fd == keep[i];
		if (!kept)
			close(fd);
	}
	closedir(d);
}

/* After the set-up: wait for `start` (it opens the FIFO for reading), then become the command. */
static void oci_wait_and_exec(const struct nk_spec *spec, const struct nk_container_opts *opts, int sync_fd)
{
	struct nk_err err = {0};
	struct sync_msg ready = {.type = SYNC_READY};
	/* From here the container outlives its creator: the caller's supervisor adopts it. It
	 * must not keep the creator's descriptors meanwhile (a lock on the record, say). */
	prctl(PR_SET_PDEATHSIG, 0);
	keep_only_fds(3 + spec->preserve_fds, (int[]){sync_fd, opts->oci->fifo_fd, opts->io.console}, 3);
	if (write(sync_fd, &ready, sizeof(ready)) != sizeof(ready))
		_exit(NK_EXIT_NOOK_FAILED);
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "/proc/self/fd/%d", opts->oci->fifo_fd);
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		dprintf(2, "nook: cannot wait for start: %s\n", strerror(errno));
		_exit(NK_EXIT_NOOK_FAILED);
	}
	close(fd);
	close(opts->oci->fifo_fd);
	const struct nk_container_io *io = &opts->io;
	if (io->console >= 0) {
		setsid();
		if (ioctl(io->console, TIOCSCTTY, 0) < 0)
			dprintf(io->console, "nook: cannot set the controlling terminal: %s\n", strerror(errno));
		for (int i = 0; i < 3; i++)
			dup2(io->console, i);
	}
	if (run_hooks_here(opts, spec, NK_HOOK_START_CONTAINER, "created", &err) < 0) {
		dprintf(2, "nook: %s\n", err.msg);
		_exit(NK_EXIT_NOOK_FAILED);
	}
	struct nk_launch launch = {.seccomp = opts->seccomp, .report_fd = -1, .keep_fd = -1};
	int r = nk_process_exec(spec, &launch, &err);
	dprintf(2, "nook: %s\n", err.msg);
	_exit(nk_process_exit_code(r));
}

static void container_init(const struct nk_paths *paths, const struct nk_spec *spec,
			   const struct nk_container_opts *opts, struct nk_cgroup *cg, int sync_fd)
{
	const struct nk_container_io *io = &opts->io;
	struct nk_err err = {0};
	struct sync_msg m, ready = {.type = SYNC_READY};
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "nook-init");
	/* The command runs as root beside us: without this it could ptrace init or take
	 * its sync socket (pidfd_getfd) and report a fake exit status to the monitor.
	 * exec resets the flag, so the command itself stays an ordinary process. */
	prctl(PR_SET_DUMPABLE, 0);
	/* The root is built while the monitor joins us to the cgroup and wires the network
	 * (the first cgroup move can wait out an RCU grace period: better not in series). */
	if (read(sync_fd, &m, sizeof(m)) != sizeof(m) || m.type != SYNC_GO)
		_exit(NK_EXIT_NOOK_FAILED);
	/* Not born in its group (cgroup v1): it moves itself, the cheap way (cgroup.h). */
	if (cg && nk_cgroup_join(cg, &err) < 0)
		goto fail;
	if (nk_container_join_paths(spec, 0, &err) < 0)
		goto fail;
	if (nk_rootfs_prepare(paths, spec, io->console >= 0 ? io->console_path : NULL, &err) < 0)
		goto fail;
	ready.at_ns[NK_PHASE_MOUNTS] = nk_now_ns();
	if (opts->oci && run_hooks_here(opts, spec, NK_HOOK_CREATE_CONTAINER, "creating", &err) < 0)
		goto fail;
	if (nk_rootfs_enter(spec, &err) < 0)
		goto fail;
	ready.at_ns[NK_PHASE_PIVOT] = nk_now_ns();
	/* Now wait until we sit in our cgroup (and eth0 is ready), then take it as our root. */
	if (read(sync_fd, &m, sizeof(m)) != sizeof(m) || m.type != SYNC_GO)
		_exit(NK_EXIT_NOOK_FAILED);
	if ((spec->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
		nk_err_set(&err, errno, "cannot create the cgroup namespace");
		goto fail;
	}
	if (spec->hostname && (spec->clone_flags & CLONE_NEWUTS) &&
	    sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
		nk_err_set(&err, errno, "cannot set the hostname to %s", spec->hostname);
		goto fail;
	}
	if (spec->domainname && (spec->clone_flags & CLONE_NEWUTS) &&
	    setdomainname(spec->domainname, strlen(spec->domainname)) < 0) {
		nk_err_set(&err, errno, "cannot set the domain name to %s", spec->domainname);
		goto fail;
	}
	if ((spec->clone_flags & CLONE_NEWNET) && loopback_up(&err) < 0)
		goto fail;
	if (opts->oci)
		oci_wait_and_exec(spec, opts, sync_fd);

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* PID 1 only receives signals it has a handler for, even from the monitor. */
	for (size_t i = 0; i < NK_ARRAY_SIZE(forwarded); i++)
		signal(forwarded[i], noop_handler);
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0) {
		nk_err_set(&err, errno, "cannot create a pipe");
		goto fail;
	}
	pid_t cmd = fork();
	if (cmd < 0) {
		nk_err_set(&err, errno, "cannot fork the command");
		goto fail;
	}
	if (cmd == 0) {
		close(report[0]);
		run_command(spec, io, opts->seccomp, report[1], sync_fd);
	}
	close(report[1]);
	await_exec(report[0], &ready);

	/* init keeps no privilege and no descriptor but the sync socket. */
	if (dup2(sync_fd, 3) == 3) {
		sync_fd = 3;
		nk_close_fds_from(4);
	}
	if (nk_caps_apply(0, 0, 0, 0, &err) < 0) {
		/* Harmless: init runs no foreign code; the command already dropped its own. */
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	ready.value = cmd;
	(void)!write(sync_fd, &ready, sizeof(ready));
	init_loop(cmd, sync_fd);
fail:
	report_error(sync_fd, &err);
	_exit(NK_EXIT_NOOK_FAILED);
}

/* The command's pid as the monitor sees it: init's only child. */
static pid_t command_pid(pid_t init)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

/* Take the command's seccomp listener (it waits for our ack before exec). */
static int take_listener(struct nk_container *c, int fd_number, struct nk_err *err)
{
	pid_t cmd = command_pid(c->init_pid);
	int pidfd = cmd > 0 ? (int)syscall(SYS_pidfd_open, cmd, 0) : -1;
	if (pidfd < 0)
		return nk_err_set(err, errno ? errno : ESRCH, "cannot reach the container's command");
	c->seccomp_listener = (int)syscall(SYS_pidfd_getfd, pidfd, fd_number, 0);
	int e = errno;
	close(pidfd);
	if (c->seccomp_listener < 0)
		return nk_err_set(err, e, "cannot take the seccomp listener");
	struct sync_msg ack = {.type = SYNC_ACK};
	return write(c->sync_fd, &ack, sizeof(ack)) == sizeof(ack) ? 0 : nk_err_set(err, errno, "cannot answer the command");
}

/* On cgroup v2, clone3(CLONE_INTO_CGROUP) puts the child in its group as it is born. A
 * move afterwards (the only way on v1) takes the cgroup subsystem's global rwsem for
 * writing, which waits out an RCU grace period when no move happened lately: ~15 ms
 * here, the largest cost of a start. Falls back to a plain clone where clone3 cannot. */
static long clone_into_cgroup(struct nk_cgroup *cg, uint64_t flags, int *in_cgroup)
{
	*in_cgroup = 0;
	char dir[PATH_MAX];
	int cgfd = -1;
	if (cg->ops == &nk_cgroup_v2_ops && nk_fmt(dir, sizeof(dir), "%s/%s", cg->mount, cg->relpath) == 0)
		cgfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cgfd >= 0) {
		struct clone_args args = {.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
					  .cgroup = (uint64_t)cgfd};
		long pid = syscall(SYS_clone3, &args, sizeof(args));
		int e = errno;
		if (pid != 0)
			close(cgfd);
		if (pid >= 0) {
			*in_cgroup = 1;
			return pid;
		}
		if (e != ENOSYS && e != E2BIG && e != EINVAL)
			return (errno = e, -1);
	}
	return syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, 0);
}

int nk_container_start(const struct nk_paths *paths, const struct nk_spec *spec,
		       const struct nk_container_opts *opts, struct nk_cgroup *cg, struct nk_container *c,
		       struct nk_err *err)
{
	int sv[2];
	memset(c, 0, sizeof(*c));
	c->init_pid = -1;
	c->sync_fd = -1;
	c->seccomp_listener = -1;
	c->timeline.start_ns = nk_now_ns();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return nk_err_set(err, errno, "cannot create the sync socket");
	int r = cg->ops->create(cg, err);
	if (r == 0)
		r = cg->ops->set_limits(cg, &spec->limits, err);
	if (r < 0)
		goto undo_socket;
	c->timeline.at_ns[NK_PHASE_CGROUP] = nk_now_ns();
	/* A raw clone behaves like fork (no new stack) and takes the namespace flags. The
	 * cgroup namespace comes later, once the child sits in its own group. */
	int in_cgroup = 0;
	long pid = clone_into_cgroup(cg, (uint64_t)(spec->clone_flags & ~CLONE_NEWCGROUP), &in_cgroup);
	if (pid < 0) {
		r = nk_err_set(err, errno, "cannot create the container's namespaces");
		goto undo_socket;
	}
	if (pid == 0) {
		close(sv[0]);
		/* The OCI model's hooks need the child in its group before GO: the parent moves it. */
		container_init(paths, spec, opts, in_cgroup || opts->oci ? NULL : cg, sv[1]);
		_exit(NK_EXIT_NOOK_FAILED);
	}
	c->timeline.at_ns[NK_PHASE_CLONE] = nk_now_ns();
	close(sv[1]);
	c->init_pid = (pid_t)pid;
	c->sync_fd = sv[0];
	struct sync_msg m = {.type = SYNC_GO, .value = (int)pid};
	/* OCI: the createRuntime hooks see the child in its cgroup, before its root is built. */
	if (opts->oci && ((!in_cgroup && (r = cg->ops->attach(cg, c->init_pid, err)) < 0) ||
			  (r = opts->oci->created(opts->oci->opaque, c->init_pid, err)) < 0))
		goto undo_child;
	/* Go once to build the root, once more when cgroup and network are in place. */
	if (write(c->sync_fd, &m, sizeof(m)) != sizeof(m) ||
	    (opts->hook.prepare && (r = opts->hook.prepare(opts->hook.opaque, c->init_pid, err)) < 0)) {
		r = r < 0 ? r : nk_err_set(err, errno, "cannot start the container's init");
		goto undo_child;
	}
	c->timeline.at_ns[NK_PHASE_NETWORK] = nk_now_ns();
	m = (struct sync_msg){.type = SYNC_GO};
	if (write(c->sync_fd, &m, sizeof(m)) != sizeof(m)) {
		r = nk_err_set(err, errno, "cannot start the container's init");
		goto undo_child;
	}
	ssize_t n;
	while ((n = read(c->sync_fd, &m, sizeof(m))) == sizeof(m) && m.type == SYNC_LISTENER)
		if ((r = take_listener(c, m.value, err)) < 0)
			goto undo_child;
	if (n == sizeof(m) && m.type == SYNC_READY) {
		for (int p = NK_PHASE_MOUNTS; p < NK_PHASE_COUNT; p++)
			c->timeline.at_ns[p] = m.at_ns[p];
		return 0;
	}
	if (n == sizeof(m) && m.type == SYNC_ERROR) {
		m.text[sizeof(m.text) - 1] = '\0';
		r = nk_err_msg(err, m.code, "%s", m.text);
	} else {
		r = nk_err_msg(err, EPIPE, "the container's init died while setting up");
	}
undo_child:
	if (c->seccomp_listener >= 0)
		close(c->seccomp_listener);
	c->seccomp_listener = -1;
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
