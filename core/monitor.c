/* The per-instance monitor: owns the console, serves the control socket, reaps, cleans up. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "console-log.h"
#include "container.h"
#include "ctl.h"
#include "instance-net.h"
#include "net/cidr.h"
#include "monitor-clients.h"
#include "spec.h"
#include "state.h"
#include "util.h"

extern char **environ;

struct monitor {
	const struct nk_paths *paths;
	const char *name;
	struct nk_spec spec;
	struct nk_cgroup cg;
	struct nk_container ct;
	struct nk_clients clients;
	struct nk_console_log log;
	int listen_fd, sig_fd;
	int console;           /* PTY master with -t */
	int stdin_w;           /* our end of the container's stdin, or -1 */
	int out_r, err_r;      /* our ends of its stdout / stderr without -t */
	uint64_t kill_deadline; /* monotonic ns; SIGKILL after a stop's grace time */
	int stop_requested, killed_after_grace;
	int paused;
	int init_exited, init_status;
	struct nk_instance_net net;
	struct nk_portfwd ports;
	int drain_started;
	uint64_t drain_deadline; /* after init exits, output gets this long to drain */
};

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The container's stdio: a PTY with -t, else pipes (stdin only with -i). */
static int open_io(struct monitor *m, struct nk_container_io *io, struct nk_err *err)
{
	*io = (struct nk_container_io){.console = -1, .in = -1, .out = -1, .errout = -1};
	m->console = m->stdin_w = m->out_r = m->err_r = -1;
	if (m->spec.terminal) {
		m->console = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m->console < 0 || grantpt(m->console) < 0 || unlockpt(m->console) < 0)
			return nk_err_set(err, errno, "cannot allocate a pseudo-terminal");
		io->console = ioctl(m->console, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (io->console < 0)
			return nk_err_set(err, errno, "cannot open the pseudo-terminal's peer");
		if (ptsname_r(m->console, io->console_path, sizeof(io->console_path)) != 0)
			return nk_err_set(err, errno, "cannot name the pseudo-terminal");
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		ioctl(m->console, TIOCSWINSZ, &ws);
		set_nonblock(m->console);
		return 0;
	}
	int p[2];
	if (m->spec.open_stdin) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return nk_err_set(err, errno, "cannot create the stdin pipe");
		io->in = p[0];
		m->stdin_w = p[1];
	} else if ((io->in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		return nk_err_set(err, errno, "cannot open /dev/null");
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return nk_err_set(err, errno, "cannot create the stdout pipe");
	m->out_r = p[0];
	io->out = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nk_err_set(err, errno, "cannot create the stderr pipe");
	m->err_r = p[0];
	io->errout = p[1];
	set_nonblock(m->out_r);
	set_nonblock(m->err_r);
	return 0;
}

static void close_child_io(struct nk_container_io *io)
{
	int *fds[] = {&io->console, &io->in, &io->out, &io->errout};
	for (size_t i = 0; i < NK_ARRAY_SIZE(fds); i++)
		nk_closep(fds[i]);
}

static void deliver(struct monitor *m, int sig)
{
	if (m->ct.init_pid > 0 && !m->init_exited)
		kill(m->ct.init_pid, sig);
}

/* Freeze or thaw the instance and record it; reply to the asking client, if any. */
static void set_paused(struct monitor *m, struct nk_client *c, int paused)
{
	struct nk_err err = {0};
	int r = 0;
	if (m->init_exited)
		r = nk_err_msg(&err, EINVAL, "%s has already stopped", m->name);
	else if (paused == m->paused)
		r = nk_err_msg(&err, EINVAL, "%s is %s", m->name, paused ? "already paused" : "not paused");
	else
		r = m->cg.ops->freeze(&m->cg, paused, &err);
	if (r == 0) {
		m->paused = paused;
		struct nk_state st;
		int lock = nk_state_lock(m->paths, m->name, &err);
		if (lock >= 0 && nk_state_read(m->paths, m->name, &st, &err) == 0) {
			st.status = paused ? NK_PAUSED : NK_RUNNING;
			(void)!nk_state_write(m->paths, m->name, &st, &err);
		}
		if (lock >= 0)
			close(lock);
	}
	if (!c)
		return;
	if (r == 0)
		(void)nk_client_queue(c, NK_CTL_OK, NULL, 0);
	else
		(void)nk_client_queue(c, NK_CTL_ERROR, err.msg, strlen(err.msg));
}

static void handle_message(struct monitor *m, struct nk_client *c, const struct nk_ctl_hdr *h,
			   const void *payload)
{
	int32_t v = 0;
	if (h->len >= sizeof(v))
		memcpy(&v, payload, sizeof(v));
	switch (h->type) {
	case NK_CTL_ATTACH:
		c->flags = (unsigned)v;
		break;
	case NK_CTL_STDIN:
		if (!(c->flags & NK_ATTACH_STDIN))
			break;
		if (m->console >= 0)
			(void)nk_write_all(m->console, payload, h->len);
		else if (m->stdin_w >= 0)
			(void)nk_write_all(m->stdin_w, payload, h->len);
		break;
	case NK_CTL_STDIN_EOF:
		if ((c->flags & NK_ATTACH_STDIN) && m->stdin_w >= 0)
			nk_closep(&m->stdin_w);
		break;
	case NK_CTL_RESIZE:
		if (m->console >= 0 && h->len >= 4) {
			uint16_t rc[2];
			memcpy(rc, payload, sizeof(rc));
			struct winsize ws = {.ws_row = rc[0], .ws_col = rc[1]};
			ioctl(m->console, TIOCSWINSZ, &ws);
		}
		break;
	case NK_CTL_SIGNAL:
		if (v > 0 && v < NSIG)
			deliver(m, v);
		break;
	case NK_CTL_PAUSE:
	case NK_CTL_RESUME:
		set_paused(m, c, h->type == NK_CTL_PAUSE);
		break;
	case NK_CTL_STOP:
		if (m->paused) {
			/* A frozen process cannot take a signal: thaw first. */
			set_paused(m, NULL, 0);
		}
		if (!m->stop_requested) {
			m->stop_requested = 1;
			m->kill_deadline = nk_now_ns() + (uint64_t)(v < 0 ? 0 : v) * 1000000000ull;
			deliver(m, v <= 0 ? SIGKILL : SIGTERM);
		}
		break;
	default:
		break;
	}
}

/* Read what a client sent; returns -1 when it should be dropped. */
static int client_readable(struct monitor *m, struct nk_client *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->in_len += (size_t)n;
	size_t off = 0;
	for (;;) {
		struct nk_ctl_hdr h;
		const void *payload;
		ssize_t used = nk_ctl_parse(c->in + off, c->in_len - off, &h, &payload);
		if (used < 0)
			return -1;
		if (used == 0)
			break;
		handle_message(m, c, &h, payload);
		off += (size_t)used;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

/* Move output from the container to the log and the clients; returns 0 at EOF. */
static int pump_output(struct monitor *m, int *fd, int type)
{
	char buf[16384];
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0) {
		/* EIO on a PTY master: every slave is closed. */
		nk_closep(fd);
		return 0;
	}
	nk_console_log_write(&m->log, buf, (size_t)n);
	nk_clients_broadcast(&m->clients, type, buf, (size_t)n);
	return 1;
}

static void accept_client(struct monitor *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (!nk_clients_add(&m->clients, fd, 0))
		close(fd);
}

static void reap(struct monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			/* The monitor itself was told to go: take the container down with it. */
			m->stop_requested = 1;
			m->kill_deadline = 0;
			deliver(m, SIGKILL);
		}
	}
	int status;
	if (!m->init_exited && waitpid(m->ct.init_pid, &status, WNOHANG) == m->ct.init_pid) {
		m->init_exited = 1;
		m->init_status = status;
	}
}

static void event_loop(struct monitor *m)
{
	for (;;) {
		struct pollfd pfd[4 + NK_MAX_CLIENTS + NK_PORTS_MAX + 2 * NK_PORTFWD_CONNS_MAX];
		size_t n = 0;
		pfd[n++] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
		int out_fd = m->console >= 0 ? m->console : m->out_r;
		pfd[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = m->err_r, .events = POLLIN};
		size_t first_client = n;
		for (size_t i = 0; i < m->clients.n; i++)
			pfd[n++] = (struct pollfd){.fd = m->clients.c[i]->fd,
						   .events = (short)(POLLIN | (m->clients.c[i]->out_len ? POLLOUT : 0))};
		size_t first_port = n;
		n += nk_portfwd_pollfds(&m->ports, pfd + n, NK_ARRAY_SIZE(pfd) - n);
		int timeout = -1;
		if (m->init_exited) {
			timeout = 50; /* draining: re-check the deadline below */
		} else if (m->stop_requested) {
			uint64_t now = nk_now_ns();
			timeout = now >= m->kill_deadline ? 0 : (int)((m->kill_deadline - now) / 1000000) + 1;
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (m->stop_requested && !m->init_exited && nk_now_ns() >= m->kill_deadline) {
			if (!m->killed_after_grace && m->kill_deadline)
				m->killed_after_grace = 1;
			deliver(m, SIGKILL);
			m->kill_deadline = nk_now_ns() + 1000000000ull;
		}
		if (pfd[0].revents)
			reap(m);
		if (pfd[1].revents)
			accept_client(m);
		if (pfd[2].revents && out_fd >= 0) {
			if (m->console >= 0)
				pump_output(m, &m->console, NK_CTL_STDOUT);
			else
				pump_output(m, &m->out_r, NK_CTL_STDOUT);
		}
		if (pfd[3].revents && m->err_r >= 0)
			pump_output(m, &m->err_r, NK_CTL_STDERR);
		nk_portfwd_handle(&m->ports, pfd + first_port, n - first_port);
		for (size_t i = first_client, ci = 0; i < first_port; i++, ci++) {
			if (ci >= m->clients.n || m->clients.c[ci]->fd != pfd[i].fd)
				continue;
			struct nk_client *c = m->clients.c[ci];
			int drop = 0;
			if (pfd[i].revents & POLLIN)
				drop = client_readable(m, c) < 0;
			else if (pfd[i].revents & (POLLHUP | POLLERR))
				drop = 1;
			if (!drop && nk_client_flush(c) < 0)
				drop = 1;
			if (drop) {
				nk_clients_drop(&m->clients, ci);
				ci--;
			}
		}
		for (size_t i = 0; i < m->clients.n; i++)
			(void)nk_client_flush(m->clients.c[i]);
		/* Done once init is gone and its output is drained (the kernel killed the rest
		 * of the pid namespace with it, so the pipes reach EOF promptly). */
		if (m->init_exited && m->out_r < 0 && m->err_r < 0 && m->console < 0)
			break;
		if (m->init_exited && m->drain_started && nk_now_ns() >= m->drain_deadline)
			break;
		if (m->init_exited && !m->drain_started) {
			m->drain_started = 1;
			m->drain_deadline = nk_now_ns() + 2000000000ull;
		}
	}
}

/* How the command ended, in Docker's terms. */
static void record_exit(struct monitor *m, struct nk_state *st, uint64_t oom_kills)
{
	int ws = m->init_status;
	int reported;
	int have_report = nk_container_exit_report(&m->ct, &reported) == 0;
	if (have_report)
		ws = reported;
	if (WIFEXITED(ws)) {
		st->exit_code = WEXITSTATUS(ws);
		snprintf(st->exit_reason, sizeof(st->exit_reason), "exited");
	} else if (WIFSIGNALED(ws)) {
		st->exit_code = 128 + WTERMSIG(ws);
		snprintf(st->exit_reason, sizeof(st->exit_reason), "%s",
			 m->killed_after_grace ? "killed" : "signaled");
	} else {
		st->exit_code = 255;
		snprintf(st->exit_reason, sizeof(st->exit_reason), "unknown");
	}
	st->oom_kills = oom_kills;
	/* The command itself died of SIGKILL while the OOM killer was at work here. */
	if (oom_kills > 0 && WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL && !m->stop_requested)
		snprintf(st->exit_reason, sizeof(st->exit_reason), "oom");
}

static void finish(struct monitor *m)
{
	struct nk_err err = {0};
	struct nk_state st;
	/* Read the OOM count before the group (and its counters) goes away. */
	struct nk_cgroup_reader rd;
	struct nk_cgroup_stats stats;
	nk_cgroup_reader_open(&m->cg, &rd);
	nk_cgroup_reader_read(&rd, &stats);
	nk_cgroup_reader_close(&rd);
	if (nk_cgroup_cleanup(&m->cg, &err) < 0)
		nk_console_log_write(&m->log, err.msg, strlen(err.msg));
	nk_portfwd_close(&m->ports);
	if (m->net.attached)
		nk_instance_net_detach(&m->net, m->paths, m->spec.network, m->name, 0);
	int lock = nk_state_lock(m->paths, m->name, &err);
	if (nk_state_read(m->paths, m->name, &st, &err) < 0)
		memset(&st, 0, sizeof(st));
	st.status = NK_STOPPED;
	st.finished_at = nk_wall_time_s();
	st.monitor_pid = st.init_pid = 0;
	st.monitor_start = st.init_start = 0;
	st.ip[0] = st.host_if[0] = '\0';
	record_exit(m, &st, (stats.have & NK_STAT_OOM) ? stats.oom_kills : 0);
	char sock[4096];
	if (nk_path_socket(m->paths, m->name, sock, sizeof(sock)) == 0)
		unlink(sock);
	nk_console_log_close(&m->log);
	if (m->spec.remove) {
		char dir[4096];
		if (nk_path_instance(m->paths, m->name, NULL, dir, sizeof(dir)) == 0 && nk_rm_rf(dir, &err) < 0) {
			/* Leave the state behind so reconcile can finish the job. */
			(void)!nk_state_write(m->paths, m->name, &st, &err);
		}
	} else if (nk_state_write(m->paths, m->name, &st, &err) < 0) {
		/* Nothing to tell: the next command reconciles from the dead monitor. */
	}
	if (lock >= 0)
		close(lock);
	char payload[64];
	int32_t code = st.exit_code;
	memcpy(payload, &code, sizeof(code));
	size_t rlen = strlen(st.exit_reason);
	memcpy(payload + sizeof(code), st.exit_reason, rlen);
	nk_clients_broadcast(&m->clients, NK_CTL_EXIT, payload, sizeof(code) + rlen);
	nk_clients_flush_all(&m->clients, 2000);
	while (m->clients.n)
		nk_clients_drop(&m->clients, 0);
}

static int wire_network(void *opaque, pid_t child, struct nk_err *err)
{
	struct monitor *m = opaque;
	return nk_instance_net_attach(&m->net, m->paths, &m->spec, child, err);
}

/* Start the container; on failure nothing is left running and the state says why. */
static int start(struct monitor *m, struct nk_err *err)
{
	char path[4096];
	struct nk_state st;
	int lock = nk_state_lock(m->paths, m->name, err);
	if (lock < 0)
		return lock;
	int r = nk_state_read(m->paths, m->name, &st, err);
	if (r < 0) {
		close(lock);
		return r;
	}
	if (st.status == NK_RUNNING || st.status == NK_PAUSED) {
		r = nk_err_msg(err, EBUSY, "%s is already running", m->name);
		goto out;
	}
	if ((r = nk_path_instance(m->paths, m->name, "config.json", path, sizeof(path))) < 0 ||
	    (r = nk_spec_load_file(path, &m->spec, err)) < 0)
		goto out;
	if ((r = nk_path_instance(m->paths, m->name, "console.log", path, sizeof(path))) < 0 ||
	    (r = nk_console_log_open(&m->log, path, NK_CONSOLE_LOG_MAX)) < 0) {
		r = nk_err_set(err, -r, "cannot open the console log of %s", m->name);
		goto out;
	}
	if ((m->listen_fd = nk_ctl_listen(m->paths, m->name, err)) < 0) {
		r = m->listen_fd;
		goto out;
	}
	struct nk_container_io io;
	if ((r = open_io(m, &io, err)) < 0 || (r = nk_cgroup_init(&m->cg, m->name, err)) < 0) {
		close_child_io(&io);
		goto out;
	}
	/* The child binds these while the network is wired; the address is filled in later,
	 * in place (the bind follows the inode). */
	if ((r = nk_instance_net_files(m->paths, &m->spec, NULL, err)) < 0 ||
	    (r = nk_portfwd_open(&m->ports, m->spec.ports, m->spec.port_count, err)) < 0) {
		close_child_io(&io);
		goto out;
	}
	struct nk_container_opts copts = {.io = io, .hook = {.prepare = wire_network, .opaque = m}};
	r = nk_container_start(m->paths, &m->spec, &copts, &m->cg, &m->ct, err);
	close_child_io(&io);
	if (r < 0) {
		struct nk_err ignored;
		if (m->net.attached)
			nk_instance_net_detach(&m->net, m->paths, m->spec.network, m->name, 1);
		nk_portfwd_close(&m->ports);
		(void)!nk_cgroup_cleanup(&m->cg, &ignored);
		goto out;
	}
	m->ports.target_ip = m->net.attached ? m->net.at.addr : 0;
	st.status = NK_RUNNING;
	st.monitor_pid = getpid();
	st.monitor_start = nk_proc_start_time(st.monitor_pid);
	st.init_pid = m->ct.init_pid;
	st.init_start = nk_proc_start_time(m->ct.init_pid);
	st.timeline = m->ct.timeline;
	st.started_at = nk_wall_time_s();
	st.finished_at = 0;
	st.exit_code = 0;
	st.exit_reason[0] = st.error[0] = '\0';
	st.ip[0] = st.host_if[0] = '\0';
	if (m->net.attached) {
		if (nk_ip4_format(m->net.at.addr, st.ip, sizeof(st.ip)) < 0)
			st.ip[0] = '\0';
		snprintf(st.host_if, sizeof(st.host_if), "%s", m->net.at.host_if);
	}
	r = nk_state_write(m->paths, m->name, &st, err);
out:
	if (r < 0 && st.status != NK_RUNNING) {
		struct nk_err ignored;
		memcpy(st.error, err->msg, sizeof(st.error));
		(void)!nk_state_write(m->paths, m->name, &st, &ignored);
	}
	close(lock);
	return r;
}

int nk_monitor_main(const struct nk_paths *paths, const char *name, int client_fd, unsigned flags)
{
	struct monitor m = {.paths = paths, .name = name, .listen_fd = -1, .sig_fd = -1};
	struct nk_err err = {0};
	m.log.fd = -1;
	prctl(PR_SET_NAME, "nook-monitor");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	set_nonblock(client_fd);
	struct nk_client *first = nk_clients_add(&m.clients, client_fd, flags);
	int r = start(&m, &err);
	if (r < 0) {
		char sock[4096];
		if (m.listen_fd >= 0 && nk_path_socket(paths, name, sock, sizeof(sock)) == 0)
			unlink(sock);
		if (first)
			(void)nk_client_queue(first, NK_CTL_ERROR, err.msg, strlen(err.msg));
		nk_clients_flush_all(&m.clients, 2000);
		nk_spec_free(&m.spec);
		return 1;
	}
	struct nk_ctl_started started = {.init_pid = m.ct.init_pid, .timeline = m.ct.timeline};
	if (first)
		(void)nk_client_queue(first, NK_CTL_STARTED, &started, sizeof(started));
	event_loop(&m);
	finish(&m);
	nk_spec_free(&m.spec);
	return 0;
}

int nk_monitor_launch(const struct nk_paths *paths, const char *name, unsigned attach_flags,
		      int *client_fd, struct nk_err *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return nk_err_set(err, errno, "cannot create the monitor's socket");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return nk_err_set(err, e, "cannot fork the monitor");
	}
	if (pid == 0) {
		/* Own session, then fork again: the monitor outlives the terminal and the CLI. */
		setsid();
		if (fork() != 0)
			_exit(0);
		close(sv[0]);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		/* Nothing the caller had open may reach the container: only fd 3 goes on. */
		if (dup2(sv[1], NK_MONITOR_FD) != NK_MONITOR_FD)
			_exit(NK_MONITOR_EXIT_FAILED);
		nk_close_fds_from(NK_MONITOR_FD + 1);
		/* A fresh image: the monitor (and the container's init, forked from it) shows
		 * as `nook monitor NAME`, not as the command line that launched it. */
		char flags[16];
		snprintf(flags, sizeof(flags), "%u", attach_flags);
		setenv("NOOK_ROOT", paths->root, 1);
		setenv("NOOK_RUN", paths->run, 1);
		char *const argv[] = {(char *)"nook", (char *)"monitor", (char *)name, flags, NULL};
		execve("/proc/self/exe", argv, environ);
		_exit(NK_MONITOR_EXIT_FAILED);
	}
	close(sv[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*client_fd = sv[0];
	return 0;
}
