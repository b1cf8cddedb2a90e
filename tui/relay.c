/* The attach client: this terminal <-> an instance's monitor, raw mode restored on exit. */
#include "tui/relay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/util.h"

#define KEY_CTRL_P 0x10
#define KEY_CTRL_Q 0x11

static struct termios saved_tio;
static int saved_fd = -1;

void nk_tty_restore(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSADRAIN, &saved_tio);
		saved_fd = -1;
	}
}

void nk_tty_raw(int fd)
{
	struct termios t;
	if (tcgetattr(fd, &saved_tio) < 0)
		return;
	saved_fd = fd;
	atexit(nk_tty_restore);
	t = saved_tio;
	cfmakeraw(&t);
	tcsetattr(fd, TCSADRAIN, &t);
}

static void send_size(int ctl)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	uint16_t rc[2] = {ws.ws_row, ws.ws_col};
	(void)nk_ctl_send(ctl, NK_CTL_RESIZE, rc, sizeof(rc));
}

/* Pass input on, watching for the detach sequence; returns 1 on detach. */
static int forward_input(struct nk_relay *r, int *pending_ctrl_p)
{
	char buf[4096], out[4097];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0) {
		if (r->forward_stdin)
			(void)nk_ctl_send(r->ctl_fd, NK_CTL_STDIN_EOF, NULL, 0);
		return -1;
	}
	size_t o = 0;
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (r->tty && *pending_ctrl_p) {
			*pending_ctrl_p = 0;
			if (c == KEY_CTRL_Q)
				return 1;
			out[o++] = KEY_CTRL_P;
		}
		if (r->tty && c == KEY_CTRL_P) {
			*pending_ctrl_p = 1;
			continue;
		}
		out[o++] = (char)c;
	}
	if (o && r->forward_stdin)
		(void)nk_ctl_send(r->ctl_fd, NK_CTL_STDIN, out, o);
	return 0;
}

enum nk_relay_end nk_relay_run(struct nk_relay *r)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	if (!r->tty) {
		/* Without a terminal, signals to nook are meant for the command. */
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		sigaddset(&set, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	/* On a terminal, input is read even when not forwarded: the detach keys live there. */
	int stdin_open = r->forward_stdin || (r->tty && isatty(STDIN_FILENO));
	if (r->tty && isatty(STDIN_FILENO)) {
		nk_tty_raw(STDIN_FILENO);
		send_size(r->ctl_fd);
	}
	int pending = 0;
	enum nk_relay_end end = NK_RELAY_LOST;
	for (;;) {
		struct pollfd p[3] = {{.fd = r->ctl_fd, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN},
				      {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH) {
					send_size(r->ctl_fd);
				} else {
					int32_t sig = (int32_t)si.ssi_signo;
					(void)nk_ctl_send(r->ctl_fd, NK_CTL_SIGNAL, &sig, sizeof(sig));
				}
			}
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			int d = forward_input(r, &pending);
			if (d == 1) {
				end = NK_RELAY_DETACHED;
				break;
			}
			if (d < 0)
				stdin_open = 0;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct nk_ctl_hdr h;
			static char buf[NK_CTL_MAX_PAYLOAD + 1];
			ssize_t n = nk_ctl_recv(r->ctl_fd, &h, buf, sizeof(buf) - 1);
			if (n < 0)
				break;
			if (h.type == NK_CTL_STDOUT)
				(void)nk_write_all(STDOUT_FILENO, buf, (size_t)n);
			else if (h.type == NK_CTL_STDERR)
				(void)nk_write_all(STDERR_FILENO, buf, (size_t)n);
			else if (h.type == NK_CTL_EXIT && n >= 4) {
				int32_t code;
				memcpy(&code, buf, sizeof(code));
				r->exit_code = code;
				end = NK_RELAY_EXITED;
				break;
			} else if (h.type == NK_CTL_TIMELINE && r->on_timeline && (size_t)n >= sizeof(struct nk_timeline)) {
				struct nk_timeline t;
				memcpy(&t, buf, sizeof(t));
				r->on_timeline(r->opaque, &t);
			} else if (h.type == NK_CTL_ERROR) {
				buf[n] = '\0';
				nk_tty_restore();
				fprintf(stderr, "nook: %s\n", buf);
			}
		}
	}
	nk_tty_restore();
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return end;
}
