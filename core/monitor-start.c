/* The monitor's start and finish of a container: stdio, network, filter, state, cleanup. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "monitor-internal.h"
#include "monitor.h"
#include "net/cidr.h"
#include "seccomp-cache.h"
#include "seccomp-feed.h"
#include "state.h"
#include "util.h"

void nk_monitor_set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The container's stdio: a PTY with -t, else pipes (stdin only with -i). */static int open_io(struct monitor *m, struct nk_container_io *io, struct nk_err *err)
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
		nk_monitor_set_nonblock(m->console);
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
	nk_monitor_set_nonblock(m->out_r);
	nk_monitor_set_nonblock(m->err_r);
	return 0;
}
static void close_child_io(struct nk_container_io *io)
{
	int *fds[] = {&io->console, &io->in, &io->out, &io->errout};
	for (size_t i = 0; i < NK_ARRAY_SIZE(fds); i++)
		nk_closep(fds[i]);
}
/* A VM's end, in the same terms: 0 for a guest that shut down or reset by itself. */
static void record_vm_exit(struct monitor *m, struct nk_state *st)
{
	const struct nk_vm_exit *x = &m->vmi.exit;
	switch (x->reason) {
	case NK_VM_EXIT_RESET:
	case NK_VM_EXIT_POWEROFF:
		st->exit_code = 0;
		snprintf(st->exit_reason, sizeof(st->exit_reason), "%s", nk_vm_exit_name(x->reason));
		break;
	case NK_VM_EXIT_KILLED:
		st->exit_code = 137;
		snprintf(st->exit_reason, sizeof(st->exit_reason), "killed");
		break;
	case NK_VM_EXIT_CRASHED:
		st->exit_code = 1;
		snprintf(st->exit_reason, sizeof(st->exit_reason), "crashed");
		break;
	default:
		st->exit_code = 125;
		snprintf(st->exit_reason, sizeof(st->exit_reason), "error");
	}
	if (x->detail[0])
		snprintf(st->error, sizeof(st->error), "%s", x->detail);
}

static void record_exit(struct monitor *m, struct nk_state *st, uint64_t oom_kills)
{
	if (m->spec.vm) {
		record_vm_exit(m, st);
		return;
	}
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

void nk_monitor_finish(struct monitor *m)
{
	struct nk_err err = {0};
	struct nk_state st;
	/* Read the OOM count before the group (and its counters) goes away. */
	struct nk_cgroup_stats stats;
	nk_cgroup_read_once(&m->cg, &stats);
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
	nk_closep(&m->ct.seccomp_listener);
	nk_seccomp_prog_free(&m->seccomp);
	if (!m->spec.remove) {
		char msg[96];
		snprintf(msg, sizeof(msg), "exit code %d (%s)", st.exit_code, st.exit_reason);
		nk_events_record(m->paths, m->name, !strcmp(st.exit_reason, "oom") ? "oom" : "exit", msg);
	}
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
/* A VM: the serial console gets the ends a container's process would have had (the PTY in
 * raw mode: the guest's own tty does the line editing). The VMM runs on a thread here. */
static int start_vm(struct monitor *m, struct nk_container_io *io, struct nk_err *err)
{
	int r = nk_vm_instance_check(m->spec.vm_kernel, err);
	if (r < 0) {
		close_child_io(io);
		return r;
	}
	int in = io->console >= 0 ? io->console : io->in, out = io->console >= 0 ? io->console : io->out;
	if (io->console >= 0) {
		struct termios t;
		if (tcgetattr(io->console, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(io->console, TCSANOW, &t);
		}
	}
	/* No ports to publish, but the event loop polls the forwarder's (empty) set: its
	 * "no socket" marks must be there, or it would poll fd 0. */
	if ((r = nk_portfwd_open(&m->ports, NULL, 0, err)) < 0) {
		close_child_io(io);
		return r;
	}
	m->ct.init_pid = 0;
	m->ct.seccomp_listener = -1;
	m->ct.sync_fd = -1;
	m->ct.timeline.start_ns = nk_now_ns();
	r = nk_vm_instance_start(&m->vmi, m->paths, &m->spec, in, out, err);
	if (r < 0) {
		close_child_io(io);
		return r;
	}
	if (m->vmi.net.leased) {
		/* From here the lease is the monitor's, as a container's is: state, release. */
		m->net.at = m->vmi.net.at;
		m->net.attached = 1;
	}
	/* A VM's cgroup is joined inside its set-up; its "clone" is the whole set-up: sandbox,
	 * KVM, memory, kernel, devices, vCPUs. */
	m->ct.timeline.at_ns[NK_PHASE_CGROUP] = m->ct.timeline.start_ns;
	m->ct.timeline.at_ns[NK_PHASE_CLONE] = m->ct.timeline.start_ns + m->vmi.setup_ns;
	/* The VMM's own boot steps, as it measured them (the guest's boundaries follow, in
	 * the state, as the monitor hears of them). */
	nk_vm_instance_timeline(&m->vmi, &m->ct.timeline);
	m->vm_io = *io; /* borrowed by the VMM until it is gone */
	return 0;
}

int nk_monitor_start(struct monitor *m, struct nk_err *err)
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
	if ((r = open_io(m, &io, err)) < 0 || (r = nk_cgroup_init(&m->cg, m->paths, m->name, err)) < 0) {
		close_child_io(&io);
		goto out;
	}
	if (m->spec.vm) {
		if ((r = start_vm(m, &io, err)) < 0)
			goto out;
		goto record;
	}
	/* The child binds these while the network is wired; the address is filled in later,
	 * in place (the bind follows the inode). */
	if ((r = nk_instance_net_files(m->paths, &m->spec, NULL, err)) < 0 ||
	    (r = nk_portfwd_open(&m->ports, m->spec.ports, m->spec.port_count, err)) < 0) {
		close_child_io(&io);
		goto out;
	}
	if (m->spec.seccomp_path &&
	    (r = nk_seccomp_cached(m->paths, m->spec.seccomp_path, m->spec.cap_effective,
				   m->spec.seccomp_notify ? NK_SECCOMP_TEACH : 0, &m->seccomp, err)) < 0) {
		close_child_io(&io);
		nk_portfwd_close(&m->ports);
		goto out;
	}
	struct nk_container_opts copts = {.io = io, .hook = {.prepare = wire_network, .opaque = m},
					  .seccomp = m->spec.seccomp_path ? &m->seccomp : NULL};
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
record:
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
