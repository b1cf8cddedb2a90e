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

#include "ctl.h"
#include "monitor-internal.h"
#include "seccomp-feed.h"
#include "state.h"
#include "util.h"

extern char **environ;

static void deliver(struct monitor *m, int sig)
{
	if (m->init_exited)
		return;
	if (m->spec.vm) {
		/* A VM has no processes to signal: KILL stops its vCPUs, anything else asks the
		 * guest to shut down (Ctrl-Alt-Del). */
		if (sig == SIGKILL)
			nk_vm_instance_kill(&m->vmi);
		else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			nk_vm_instance_request_stop(&m->vmi);
		return;
	}
	if (m->ct.init_pid > 0)
		kill(m->ct.init_pid, sig);
}

/* The guest passed a boot boundary (first instruction, first console byte, its init):
 * keep the VM's phases so far in the state, for inspect and `run --timings`. */
static void vm_boot_marks(struct monitor *m)
{
	uint64_t v;
	if (m->vmi.marks_fd >= 0)
		(void)!read(m->vmi.marks_fd, &v, sizeof(v));
	unsigned before = m->ct.timeline.vm_count;
	nk_vm_instance_timeline(&m->vmi, &m->ct.timeline);
	if (m->ct.timeline.vm_count == before)
		return;
	struct nk_err err = {0};
	struct nk_state st;
	int lock = nk_state_lock(m->paths, m->name, &err);
	if (lock >= 0 && nk_state_read(m->paths, m->name, &st, &err) == 0) {
		st.timeline = m->ct.timeline;
		(void)!nk_state_write(m->paths, m->name, &st, &err);
	}
	if (lock >= 0)
		close(lock);
	for (size_t i = 0; i < m->clients.n; i++)
		if (m->clients.c[i]->flags & NK_ATTACH_TIMELINE)
			(void)nk_client_queue(m->clients.c[i], NK_CTL_TIMELINE, &m->ct.timeline, sizeof(m->ct.timeline));
}

/* The VM's thread says the guest has stopped: free it, and let the console reach EOF. */
static void vm_done(struct monitor *m)
{
	uint64_t v;
	if (read(m->vmi.done_fd, &v, sizeof(v)) != sizeof(v))
		return;
	vm_boot_marks(m); /* the last boundaries may still be unrecorded */
	if (nk_vm_instance_abandon_if_faulted(&m->vmi)) {
		/* The VMM's threads stay as they are (their fds open) until the monitor exits. */
		m->init_exited = 1;
		return;
	}
	struct nk_vm_exit why = m->vmi.exit;
	nk_vm_instance_destroy(&m->vmi);
	m->vmi.exit = why;
	int *fds[] = {&m->vm_io.console, &m->vm_io.in, &m->vm_io.out, &m->vm_io.errout};
	for (size_t i = 0; i < NK_ARRAY_SIZE(fds); i++)
		nk_closep(fds[i]);
	m->init_exited = 1;
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
	else if (m->spec.vm)
		r = nk_vm_instance_pause(&m->vmi, paused, &err);
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
	case NK_CTL_KVM_STATS: {
		char *json = m->spec.vm && !m->init_exited ? nk_vm_instance_stats_json(&m->vmi) : NULL;
		if (json && strlen(json) <= NK_CTL_MAX_PAYLOAD)
			(void)nk_client_queue(c, NK_CTL_KVM_STATS, json, strlen(json));
		else
			(void)nk_client_queue(c, NK_CTL_ERROR, "no KVM counters: not a running VM", 33);
		free(json);
		break;
	}
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
	if (!m->init_exited && m->ct.init_pid > 0 && waitpid(m->ct.init_pid, &status, WNOHANG) == m->ct.init_pid) {
		m->init_exited = 1;
		m->init_status = status;
	}
}

static void event_loop(struct monitor *m)
{
	for (;;) {
		struct pollfd pfd[7 + NK_MAX_CLIENTS + NK_PORTS_MAX + 2 * NK_PORTFWD_CONNS_MAX];
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
		size_t feed = n;
		pfd[n++] = (struct pollfd){.fd = m->ct.seccomp_listener, .events = POLLIN};
		size_t vmfd = n;
		pfd[n++] = (struct pollfd){.fd = m->spec.vm && !m->init_exited ? m->vmi.done_fd : -1, .events = POLLIN};
		size_t marksfd = n;
		pfd[n++] = (struct pollfd){.fd = m->spec.vm && !m->init_exited ? m->vmi.marks_fd : -1, .events = POLLIN};
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
		if (pfd[marksfd].revents)
			vm_boot_marks(m);
		if (pfd[vmfd].revents)
			vm_done(m);
		if (pfd[feed].revents && m->ct.seccomp_listener >= 0) {
			char line[2048];
			int fr = m->spec.seccomp_learn
				     ? nk_seccomp_feed_learn(m->ct.seccomp_listener, m->paths, m->name, m->learned)
				     : nk_seccomp_feed_handle(m->ct.seccomp_listener, m->paths, m->name, line, sizeof(line));
			if (fr < 0 ||
			    (pfd[feed].revents & (POLLHUP | POLLERR)))
				nk_closep(&m->ct.seccomp_listener);
		}
		nk_portfwd_handle(&m->ports, pfd + first_port, n - first_port);
		for (size_t i = first_client, ci = 0; i < feed; i++, ci++) {
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

/* How the command ended, in Docker's terms. */int nk_monitor_main(const struct nk_paths *paths, const char *name, int client_fd, unsigned flags)
{
	struct monitor m = {.paths = paths, .name = name, .listen_fd = -1, .sig_fd = -1,
			    .vm_io = {.console = -1, .in = -1, .out = -1, .errout = -1}};
	m.vmi.done_fd = -1;
	m.vmi.marks_fd = -1;
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
	nk_monitor_set_nonblock(client_fd);
	struct nk_client *first = nk_clients_add(&m.clients, client_fd, flags);
	int r = nk_monitor_start(&m, &err);
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
	nk_monitor_finish(&m);
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
