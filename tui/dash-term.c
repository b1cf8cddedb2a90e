/* Handing the whole terminal over: to an instance's console (attach), to a shell inside
 * it (exec), or to a ':' command that needs it; the dashboard comes back repainted. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/exec.h"
#include "core/instance.h"
#include "core/util.h"
#include "tui/dash.h"
#include "tui/relay.h"

#define KEY_CTRL_P 0x10
#define KEY_CTRL_Q 0x11

/* How a handover child ended, as its exit status. */
enum { END_DETACHED = 0, END_EXITED = 1, END_LOST = 2 };

static void say(const char *fmt, ...) NK_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\r\n", stderr);
	fflush(stderr);
}

static void clear_terminal(void)
{
	char *cl = tigetstr("clear");
	if (cl && cl != (char *)-1)
		putp(cl);
	fflush(stdout);
}

static void wait_key(void)
{
	struct termios saved, t;
	int have = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (have) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
	}
	char c;
	while (read(STDIN_FILENO, &c, 1) < 0 && errno == EINTR)
		;
	if (have)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
}

/* An instance without a terminal has no console to relay raw: show its output as lines,
 * forward typed input only when it was created with -i, and keep Ctrl-C for nobody. */
static int watch_output(int fd, int forward, int *code)
{
	struct termios saved, t;
	int have = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (have) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ISIG | IEXTEN);
		t.c_iflag &= ~(tcflag_t)(IXON | IXOFF); /* Ctrl-Q is ours, not flow control */
		if (!forward)
			t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
	}
	int pending = 0, end = END_LOST;
	static char buf[NK_CTL_MAX_PAYLOAD + 1];
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			char in[1024], out[1025];
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));
			size_t o = 0;
			int detach = 0;
			for (ssize_t i = 0; i < n && !detach; i++) {
				if (pending) {
					pending = 0;
					if (in[i] == KEY_CTRL_Q) {
						detach = 1;
						break;
					}
					out[o++] = KEY_CTRL_P;
				}
				if (in[i] == KEY_CTRL_P)
					pending = 1;
				else
					out[o++] = in[i];
			}
			if (forward && o)
				(void)nk_ctl_send(fd, NK_CTL_STDIN, out, o);
			if (detach) {
				end = END_DETACHED;
				break;
			}
		}
		if (p[0].revents) {
			struct nk_ctl_hdr h;
			ssize_t n = nk_ctl_recv(fd, &h, buf, sizeof(buf) - 1);
			if (n < 0)
				break;
			if (h.type == NK_CTL_STDOUT || h.type == NK_CTL_STDERR) {
				(void)nk_write_all(STDOUT_FILENO, buf, (size_t)n);
			} else if (h.type == NK_CTL_EXIT && n >= 4) {
				int32_t c;
				memcpy(&c, buf, sizeof(c));
				*code = c;
				end = END_EXITED;
				break;
			}
		}
	}
	if (have)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	return end;
}

struct attach_req {
	char name[64];
	int fd, tty, interactive;
};

static int attach_child(struct nk_dash *d, void *arg)
{
	(void)d;
	struct attach_req *a = arg;
	clear_terminal();
	say("nook: attached to %s. Detach with Ctrl-P Ctrl-Q: %s keeps running.", a->name, a->name);
	if (!a->tty)
		say("nook: %s has no terminal (created without -t): this is its output%s.", a->name,
		    a->interactive ? ", and what you type goes to it" : "");
	int code = 0, end;
	if (a->tty) {
		struct nk_relay r = {.ctl_fd = a->fd, .tty = 1, .forward_stdin = a->interactive};
		enum nk_relay_end e = nk_relay_run(&r);
		end = e == NK_RELAY_DETACHED ? END_DETACHED : e == NK_RELAY_EXITED ? END_EXITED : END_LOST;
		code = r.exit_code;
	} else {
		end = watch_output(a->fd, a->interactive, &code);
	}
	if (end == END_EXITED) {
		say("\r\nnook: %s exited with code %d. Press a key to go back to the dashboard.", a->name, code);
		wait_key();
	}
	return end;
}

void dash_act_attach(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 0))
		return;
	struct dash_row *r = dash_row_find(d, d->targets[0]);
	if (!r)
		return;
	if (!dash_row_live(r)) {
		dash_msg(d, 1, "%s is not running: start it with s, then attach", r->info.name);
		return;
	}
	struct attach_req a = {.tty = r->info.tty, .interactive = r->info.interactive};
	snprintf(a.name, sizeof(a.name), "%s", r->info.name);
	struct nk_err err;
	unsigned flags = NK_ATTACH_OUTPUT | (a.interactive ? NK_ATTACH_STDIN : 0);
	/* Connect first, so a refusal is a message here rather than a blank screen. */
	a.fd = nk_inst_attach(d->paths, a.name, flags, &err);
	if (a.fd < 0) {
		dash_msg(d, 1, "%s", err.msg);
		return;
	}
	dash_event(d, a.name, "attached from the dashboard");
	int end = dash_handover(d, attach_child, &a);
	close(a.fd);
	if (end == END_DETACHED)
		dash_msg(d, 0, "detached from %s; it keeps running", a.name);
	else if (end == END_EXITED)
		dash_msg(d, 0, "%s exited while attached", a.name);
	else
		dash_msg(d, 1, "lost the connection to the monitor of %s", a.name);
	dash_data_touch(d, a.name);
}

/* --- exec: a shell, found by itself ------------------------------------------------------ */

/* In a job: which shell the instance has, tried by running it. */
static int probe_run(struct nk_dash *d, struct dash_job *j, int out)
{
	static const char *const shells[] = {"bash", "sh"};
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		char *args[] = {(char *)shells[i], (char *)"-c", (char *)"exit 0", NULL};
		struct nk_exec_opts o = {.args = args};
		struct nk_exec_io io;
		struct nk_err err = {0};
		pid_t pid;
		if (nk_exec_start(d->paths, j->name, &o, 0, &io, &pid, &err) < 0) {
			dprintf(out, "E %s", err.msg);
			return 1;
		}
		nk_closep(&io.in);
		nk_closep(&io.out);
		nk_closep(&io.errout);
		nk_closep(&io.master);
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			dprintf(out, "S %s", shells[i]);
			return 0;
		}
	}
	dprintf(out, "E %s has no shell: neither bash nor sh is in its PATH", j->name);
	return 1;
}

struct exec_req {
	char name[64];
	char shell[16];
};

static int exec_child(struct nk_dash *d, void *arg)
{
	struct exec_req *x = arg;
	clear_terminal();
	say("nook: %s in %s. Type exit (or Ctrl-D) to go back to the dashboard.", x->shell, x->name);
	char term[128] = "TERM=xterm";
	if (getenv("TERM") && nk_fmt(term, sizeof(term), "TERM=%s", getenv("TERM")) < 0)
		snprintf(term, sizeof(term), "TERM=xterm");
	char *argv[] = {(char *)"exec", (char *)"-i", (char *)"-t", (char *)"-e", term,
			x->name,         (char *)"--", x->shell, NULL};
	int rc = nk_cmd_dispatch(d->cli, 8, argv);
	if (rc == NK_EXIT_FAILURE) {
		say("Press a key to go back to the dashboard.");
		wait_key();
	}
	return rc;
}

static void probe_done(struct nk_dash *d, struct dash_job *j, int status)
{
	const char *out = j->out ? j->out : "";
	if (status != 0 || strncmp(out, "S ", 2)) {
		dash_msg(d, 1, "%s", !strncmp(out, "E ", 2) ? out + 2 : "cannot look for a shell");
		return;
	}
	struct exec_req x;
	snprintf(x.name, sizeof(x.name), "%s", j->name);
	snprintf(x.shell, sizeof(x.shell), "%s", out + 2);
	dash_event(d, x.name, "%s opened from the dashboard", x.shell);
	int rc = dash_handover(d, exec_child, &x);
	dash_msg(d, rc != 0 && rc != 130, "the %s in %s ended (exit %d)", x.shell, x.name, rc);
}

static const struct dash_job_ops probe_ops = {.run = probe_run, .done = probe_done};

void dash_act_exec(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 0))
		return;
	struct dash_row *r = dash_row_find(d, d->targets[0]);
	if (!r)
		return;
	if (r->info.state.status == NK_PAUSED) {
		dash_msg(d, 1, "%s is paused: resume it with p first", r->info.name);
		return;
	}
	if (r->info.state.status != NK_RUNNING) {
		dash_msg(d, 1, "%s is not running: start it with s first", r->info.name);
		return;
	}
	dash_job_spawn(d, &probe_ops, r->info.name, "", "finding a shell");
}

/* --- ':' commands that need the terminal --------------------------------------------------- */

struct term_cmd {
	char **argv;
	int argc;
	const char *line;
};

static int term_child(struct nk_dash *d, void *arg)
{
	struct term_cmd *t = arg;
	clear_terminal();
	say("$ nook %s", t->line);
	int rc = nk_cmd_dispatch(d->cli, t->argc, t->argv);
	fflush(stdout);
	say("\r\n[exit %d] Press a key to go back to the dashboard.", rc);
	wait_key();
	return rc;
}

void dash_run_in_terminal(struct nk_dash *d, char **argv, int argc, const char *line)
{
	struct term_cmd t = {argv, argc, line};
	int rc = dash_handover(d, term_child, &t);
	dash_msg(d, rc != 0 && rc != 130, "nook %s: exit %d", line, rc);
}
