/* The dashboard's loop: one poll() over the terminal, a signalfd, a timerfd, the
 * instance watch and the pipes of background jobs; drawing happens once per turn, only
 * for what was marked dirty, with one doupdate. */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "tui/dash.h"

#define MSG_INFO_NS (6ull * 1000000000ull)
#define MSG_ERR_NS (20ull * 1000000000ull)
#define SAMPLE_NS 950000000ull /* a tick that comes a little early still samples */

void dash_msg(struct nk_dash *d, int is_err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	/* Engine messages may span lines; the message line has one. */
	for (char *p = d->msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	d->msg_err = is_err;
	d->msg_until = nk_now_ns() + (is_err ? MSG_ERR_NS : MSG_INFO_NS);
	d->dirty |= DIRTY_MSG;
}

const struct dash_view_ops *dash_top(const struct nk_dash *d)
{
	return d->nviews ? d->view[d->nviews - 1] : NULL;
}

void dash_push(struct nk_dash *d, const struct dash_view_ops *v)
{
	if (d->nviews < DASH_MAX_VIEWS)
		d->view[d->nviews++] = v;
	d->dirty |= DIRTY_ALL;
}

void dash_pop(struct nk_dash *d)
{
	if (d->nviews <= 1)
		return;
	const struct dash_view_ops *v = d->view[--d->nviews];
	if (v->leave)
		v->leave(d);
	d->dirty |= DIRTY_ALL;
}

/* Once a second when idle; faster only while a spinner turns. */
void dash_update_tick(struct nk_dash *d)
{
	int ms = dash_jobs_active(d) ? 120 : 1000;
	if (ms == d->tick_ms || d->timerfd < 0)
		return;
	d->tick_ms = ms;
	struct itimerspec it = {.it_interval = {ms / 1000, (ms % 1000) * 1000000L},
				.it_value = {ms / 1000, (ms % 1000) * 1000000L}};
	timerfd_settime(d->timerfd, 0, &it, NULL);
}

static void layout(struct nk_dash *d)
{
	WINDOW **wins[] = {&d->head, &d->body, &d->msgw, &d->foot};
	for (size_t i = 0; i < 4; i++)
		if (*wins[i]) {
			delwin(*wins[i]);
			*wins[i] = NULL;
		}
	d->lines = LINES;
	d->cols = COLS;
	if (LINES < DASH_MIN_LINES || COLS < DASH_MIN_COLS)
		return;
	d->head = newwin(2, COLS, 0, 0);
	d->body = newwin(LINES - 4, COLS, 2, 0);
	d->msgw = newwin(1, COLS, LINES - 2, 0);
	d->foot = newwin(1, COLS, LINES - 1, 0);
	d->dirty = DIRTY_ALL;
	/* Input is read through inwin; it must never paint (wgetch refreshes a touched window). */
	untouchwin(d->inwin);
}

static void resize(struct nk_dash *d)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	d->resized = 0;
	werase(stdscr);
	wnoutrefresh(stdscr);
	layout(d);
}

static void draw_header(struct nk_dash *d)
{
	WINDOW *w = d->head;
	int width = getmaxx(w);
	size_t n[4] = {0};
	for (size_t i = 0; i < d->nrows; i++)
		n[d->rows[i]->info.state.status]++;
	char line[512], cpu[32] = "-", used[16] = "-", total[16] = "-";
	if (d->hs.cpu_percent >= 0)
		snprintf(cpu, sizeof(cpu), "%.0f%%", d->hs.cpu_percent);
	if (d->hs.mem_total) {
		dash_human(d->hs.mem_total - d->hs.mem_available, used, sizeof(used));
		dash_human(d->hs.mem_total, total, sizeof(total));
	}
	snprintf(line, sizeof(line),
		 " nook | host: %d CPUs %s, load %.2f | mem %s/%s | %zu instances: %zu running, %zu paused, %zu stopped, %zu created",
		 d->host.cpus, cpu, d->hs.load1, used, total, d->nrows, n[NK_RUNNING], n[NK_PAUSED], n[NK_STOPPED],
		 n[NK_CREATED]);
	dash_put(d, w, 0, 0, line, width, dash_attr(d, DR_HEADER));
	const struct dash_view_ops *v = dash_top(d);
	line[0] = ' ';
	line[1] = '\0';
	if (v && v->title)
		v->title(d, line + 1, sizeof(line) - 1);
	dash_put(d, w, 1, 0, line, width, dash_attr(d, DR_TITLE));
	wnoutrefresh(w);
}

static void draw_msg(struct nk_dash *d)
{
	WINDOW *w = d->msgw;
	int width = getmaxx(w);
	werase(w);
	if (d->prompt.active) {
		dash_prompt_draw(d, w);
	} else if (d->msg[0] && nk_now_ns() < d->msg_until) {
		char text[600];
		snprintf(text, sizeof(text), "%s%s", d->msg_err ? "error: " : "", d->msg);
		dash_put(d, w, 0, 0, text, width, dash_attr(d, d->msg_err ? DR_ERROR : DR_OK));
	} else if (dash_jobs_active(d)) {
		char text[600], jobs[400];
		dash_jobs_summary(d, jobs, sizeof(jobs));
		snprintf(text, sizeof(text), "%s %s", dash_spinner(d), jobs);
		dash_put(d, w, 0, 0, text, width, dash_attr(d, DR_BUSY));
	}
	wnoutrefresh(w);
}

static void draw_body(struct nk_dash *d)
{
	/* A modal view draws over the one below it. */
	int from = d->nviews - 1;
	while (from > 0 && d->view[from]->modal)
		from--;
	d->cursor_win = NULL; /* a view that wants the cursor says where, as it draws */
	for (int i = from; i < d->nviews; i++)
		d->view[i]->draw(d, d->body);
	wnoutrefresh(d->body);
}

static void render(struct nk_dash *d)
{
	if (d->resized)
		resize(d);
	if (!d->body) {
		werase(stdscr);
		mvwaddstr(stdscr, 0, 0, "Too small for the dashboard:");
		mvwprintw(stdscr, 1, 0, "make it %dx%d or more.", DASH_MIN_COLS, DASH_MIN_LINES);
		mvwaddstr(stdscr, 2, 0, "q quits.");
		wnoutrefresh(stdscr);
		doupdate();
		d->dirty = 0;
		return;
	}
	if (d->dirty & DIRTY_BODY)
		draw_body(d);
	if (d->dirty & DIRTY_HEAD)
		draw_header(d);
	if (d->dirty & DIRTY_MSG)
		draw_msg(d);
	if (d->dirty & DIRTY_FOOT)
		dash_draw_footer(d);
	/* The last window refreshed places the cursor. */
	if (d->prompt.active) {
		wmove(d->msgw, 0, d->prompt.cursor_x);
		wnoutrefresh(d->msgw);
	} else if (d->cursor_win) {
		wmove(d->cursor_win, d->cursor_y, d->cursor_x);
		wnoutrefresh(d->cursor_win);
	}
	int want = d->prompt.active || d->cursor_win;
	if (want != d->cursor_on) {
		curs_set(want);
		d->cursor_on = want;
	}
	doupdate();
	d->dirty = 0;
}

static void on_mouse(struct nk_dash *d)
{
	MEVENT ev;
	if (getmouse(&ev) != OK || !d->body)
		return;
	if (ev.y == LINES - 1 && (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))) {
		dash_footer_click(d, ev.x);
		return;
	}
	int y = ev.y, x = ev.x;
	if (!wmouse_trafo(d->body, &y, &x, FALSE))
		return;
	const struct dash_view_ops *v = dash_top(d);
	if (v && v->mouse)
		v->mouse(d, &ev, y, x);
}

static void on_key(struct nk_dash *d, int ch)
{
	if (ch == KEY_RESIZE) {
		d->resized = 1;
		return;
	}
	if (ch == KEY_MOUSE) {
		on_mouse(d);
		return;
	}
	if (!d->body) {
		if (ch == 'q')
			d->quit = 1;
		return;
	}
	if (dash_prompt_key(d, ch))
		return;
	const struct dash_view_ops *v = dash_top(d);
	if (v && v->key && v->key(d, ch))
		return;
	dash_key_dispatch(d, ch);
}

static void on_signal(struct nk_dash *d)
{
	struct signalfd_siginfo si;
	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			d->resized = 1, d->dirty |= DIRTY_ALL;
		else if (si.ssi_signo == SIGCHLD)
			dash_jobs_reap(d);
		else
			d->quit = 1;
	}
}

static void on_tick(struct nk_dash *d)
{
	uint64_t expirations;
	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	uint64_t now = nk_now_ns();
	if (dash_jobs_active(d)) {
		d->spin++;
		d->dirty |= DIRTY_BODY | DIRTY_MSG;
	}
	if (d->msg[0] && now >= d->msg_until) {
		d->msg[0] = '\0';
		d->dirty |= DIRTY_MSG;
	}
	if (now - d->last_sample_ns < SAMPLE_NS)
		return;
	d->last_sample_ns = now;
	dash_data_check_alive(d);
	dash_data_sample(d);
	for (int i = 0; i < d->nviews; i++)
		if (d->view[i]->tick)
			d->view[i]->tick(d);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

int dash_handover(struct nk_dash *d, int (*fn)(struct nk_dash *, void *), void *arg)
{
	def_prog_mode();
	endwin();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dash_child_reset(d);
		int rc = fn(d, arg);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	int status = -1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	/* A Ctrl-C typed while the terminal was lent out was meant for the command there. */
	sigset_t intr;
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	struct timespec none = {0, 0};
	while (sigtimedwait(&intr, NULL, &none) > 0)
		;
	reset_prog_mode();
	/* The terminal was someone else's: paint everything, at whatever size it is now. */
	clearok(curscr, TRUE);
	d->resized = 1;
	d->dirty = DIRTY_ALL;
	if (pid < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int setup(struct nk_dash *d)
{
	setlocale(LC_ALL, "");
	d->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &d->oldmask) < 0)
		return -errno;
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0)
		return -errno;
	if (!newterm(NULL, stdout, stdin))
		return -ENOTTY;
	const char *no_color = getenv("NO_COLOR");
	d->color = has_colors() && !(no_color && *no_color) && start_color() == OK;
	dash_theme_init(d);
	cbreak();
	noecho();
	nonl();
	set_escdelay(25);
	d->cursor_on = 1;
	d->inwin = newwin(1, 1, 0, 0);
	keypad(d->inwin, TRUE);
	nodelay(d->inwin, TRUE);
	meta(d->inwin, TRUE);
	/* Press events at once, no waiting to tell clicks from double clicks. */
	mouseinterval(0);
	d->mouse = mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL) != 0;
	d->sort_col = -1;
	layout(d);
	untouchwin(d->inwin);
	dash_update_tick(d);
	return 0;
}

static void teardown(struct nk_dash *d)
{
	/* Following a log is for this screen only; actions in flight finish on their own. */
	for (int i = 0; i < DASH_MAX_JOBS; i++)
		if (d->jobs[i] && d->jobs[i]->ops->quiet)
			dash_jobs_kill(d, d->jobs[i]);
	for (int i = 0; i < DASH_MAX_JOBS; i++)
		if (d->jobs[i]) {
			nk_closep(&d->jobs[i]->fd);
			free(d->jobs[i]->out);
			free(d->jobs[i]);
		}
	if (!isendwin())
		endwin();
	dash_data_close(d);
	dash_compare_free(d);
	free(d->targets);
	nk_closep(&d->sigfd);
	nk_closep(&d->timerfd);
	sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
}

int nk_dash_run(struct nk_cli *cli)
{
	struct nk_dash *d = calloc(1, sizeof(*d));
	if (!d)
		return nk_err_set(&cli->err, ENOMEM, "cannot start the dashboard");
	d->cli = cli;
	d->paths = &cli->paths;
	d->sigfd = d->timerfd = -1;
	int r = setup(d);
	if (r < 0) {
		teardown(d);
		free(d);
		return r == -ENOTTY ? nk_err_msg(&cli->err, ENOTTY, "the dashboard needs a terminal it knows (TERM=%s)",
						  getenv("TERM") ? getenv("TERM") : "")
				    : nk_err_set(&cli->err, -r, "cannot set up the dashboard");
	}
	dash_push(d, &dash_list_view);
	dash_data_open(d);
	while (!d->quit) {
		dash_data_apply(d);
		if (d->dirty || d->resized)
			render(d);
		struct pollfd p[4 + DASH_MAX_JOBS];
		struct dash_job *owner[4 + DASH_MAX_JOBS] = {0};
		nfds_t n = 0;
		p[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = d->sigfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = d->timerfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = d->watching ? d->watch.fd : -1, .events = POLLIN};
		for (int i = 0; i < DASH_MAX_JOBS; i++)
			if (d->jobs[i] && d->jobs[i]->fd >= 0) {
				owner[n] = d->jobs[i];
				p[n++] = (struct pollfd){.fd = d->jobs[i]->fd, .events = POLLIN};
			}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			on_signal(d);
		if (p[0].revents & (POLLHUP | POLLERR))
			d->quit = 1; /* the terminal went away */
		if (p[0].revents & POLLIN)
			for (int ch; !d->quit && (ch = wgetch(d->inwin)) != ERR;)
				on_key(d, ch);
		if (p[3].revents)
			dash_data_watch(d);
		for (nfds_t i = 4; i < n; i++) {
			if (!p[i].revents)
				continue;
			/* An earlier job's end may have freed this one: look it up again. */
			for (int k = 0; k < DASH_MAX_JOBS; k++)
				if (d->jobs[k] == owner[i] && owner[i]->fd == p[i].fd) {
					dash_job_read(d, owner[i]);
					break;
				}
		}
		if (p[2].revents)
			on_tick(d);
	}
	teardown(d);
	free(d);
	return 0;
}
