/* A text pager for the dashboard: an instance's console log, followed as it grows, or a
 * ':' command's output; scrolls both ways, searches with highlight, n/N between matches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/logs.h"
#include "core/util.h"
#include "tui/dash.h"

#define MAX_LINES 20000
#define DROP_LINES 5000

static void pager_clear(struct nk_dash *d)
{
	struct dash_pager *p = &d->pager;
	if (p->job)
		dash_jobs_kill(d, p->job);
	for (size_t i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	memset(p, 0, sizeof(*p));
	p->match = -1;
}

static void add_line(struct dash_pager *p, const char *s, size_t len)
{
	if (p->n >= MAX_LINES) {
		/* Keep memory bounded on a chatty log: forget the oldest lines. */
		for (size_t i = 0; i < DROP_LINES; i++)
			free(p->lines[i]);
		memmove(p->lines, p->lines + DROP_LINES, (p->n - DROP_LINES) * sizeof(*p->lines));
		p->n -= DROP_LINES;
		p->top = p->top > DROP_LINES ? p->top - DROP_LINES : 0;
		p->match = p->match >= DROP_LINES ? p->match - DROP_LINES : -1;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		char **l = realloc(p->lines, cap * sizeof(*l));
		if (!l)
			return;
		p->lines = l;
		p->cap = cap;
	}
	char *line = strndup(s, len);
	if (line)
		p->lines[p->n++] = line;
}

/* Terminal escapes (colours, cursor moves) mean nothing here: drop them; tabs become
 * spaces; everything else waits for its newline. */
void dash_pager_feed(struct nk_dash *d, const char *buf, size_t len)
{
	struct dash_pager *p = &d->pager;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (p->esc == 1) {
			p->esc = c == '[' ? 2 : c == ']' ? 3 : 0;
			continue;
		}
		if (p->esc == 2) {
			if (c >= 0x40 && c <= 0x7e)
				p->esc = 0;
			continue;
		}
		if (p->esc == 3) {
			if (c == 7 || c == '\\')
				p->esc = 0;
			continue;
		}
		if (c == 27) {
			p->esc = 1;
			continue;
		}
		if (c == '\n' || p->plen >= sizeof(p->partial) - 8) {
			add_line(p, p->partial, p->plen);
			p->plen = 0;
			if (c == '\n')
				continue;
		}
		if (c == '\t') {
			do
				p->partial[p->plen++] = ' ';
			while (p->plen % 8 && p->plen < sizeof(p->partial) - 8);
		} else if (c >= 0x20) {
			p->partial[p->plen++] = (char)c;
		}
	}
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

void dash_pager_end(struct nk_dash *d, const char *note)
{
	snprintf(d->pager.end_note, sizeof(d->pager.end_note), "%s", note);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

/* The lines on screen: the stored ones, then the unfinished last one (a prompt). */
static size_t total_lines(const struct dash_pager *p)
{
	return p->n + (p->plen > 0);
}

static const char *line_at(struct dash_pager *p, size_t i)
{
	if (i < p->n)
		return p->lines[i];
	p->partial[p->plen] = '\0';
	return p->partial;
}

static int body_rows(const struct nk_dash *d)
{
	int h = d->body ? getmaxy(d->body) - 1 : 1; /* the last row tells where we are */
	return h > 1 ? h : 1;
}

static void clamp(struct nk_dash *d)
{
	struct dash_pager *p = &d->pager;
	size_t rows = (size_t)body_rows(d), n = total_lines(p);
	size_t max_top = n > rows ? n - rows : 0;
	if (p->follow || p->top > max_top)
		p->top = max_top;
}

static void pager_draw(struct nk_dash *d, WINDOW *w)
{
	struct dash_pager *p = &d->pager;
	int width = getmaxx(w), rows = body_rows(d);
	werase(w);
	clamp(d);
	size_t n = total_lines(p);
	for (int y = 0; y < rows && p->top + (size_t)y < n; y++) {
		size_t k = p->top + (size_t)y;
		attr_t base = (long)k == p->match ? A_BOLD : A_NORMAL;
		dash_put_ex(d, w, y, 0, line_at(p, k), width, p->hoff, base, p->search[0] ? p->search : NULL,
			    dash_attr(d, DR_MATCH));
	}
	char status[300];
	if (!n && !p->end_note[0])
		snprintf(status, sizeof(status), "(nothing yet)");
	else if (p->end_note[0] && (p->follow || p->top + (size_t)rows >= n))
		snprintf(status, sizeof(status), "%s", p->end_note);
	else
		snprintf(status, sizeof(status), "lines %zu-%zu of %zu%s", n ? p->top + 1 : 0,
			 p->top + (size_t)rows < n ? p->top + (size_t)rows : n, n,
			 p->follow ? "  following" : p->job ? "  (f or G follows)" : "");
	dash_put(d, w, rows, 0, status, width, dash_attr(d, DR_DIM));
}

static void pager_title(struct nk_dash *d, char *buf, size_t size)
{
	struct dash_pager *p = &d->pager;
	snprintf(buf, size, "%s%s%s%s", p->title, p->search[0] ? "  search: " : "", p->search,
		 p->job ? (p->follow ? "  [following]" : "  [paused: f follows]") : "");
}

static void scroll_by(struct nk_dash *d, long delta)
{
	struct dash_pager *p = &d->pager;
	clamp(d);
	long top = (long)p->top + delta;
	p->top = top < 0 ? 0 : (size_t)top;
	size_t rows = (size_t)body_rows(d), n = total_lines(p);
	/* Reaching the end again resumes following, as `less +F` users expect. */
	p->follow = p->job && p->top + rows >= n && delta > 0;
	if (delta < 0)
		p->follow = 0;
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void act_down(struct nk_dash *d)
{
	scroll_by(d, 1);
}

static void act_up(struct nk_dash *d)
{
	scroll_by(d, -1);
}

static void act_pgdn(struct nk_dash *d)
{
	scroll_by(d, body_rows(d) - 1);
}

static void act_pgup(struct nk_dash *d)
{
	scroll_by(d, -(body_rows(d) - 1));
}

static void act_top(struct nk_dash *d)
{
	d->pager.follow = 0;
	d->pager.top = 0;
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void act_bottom(struct nk_dash *d)
{
	d->pager.follow = d->pager.job != NULL;
	d->pager.top = total_lines(&d->pager);
	clamp(d);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void act_follow(struct nk_dash *d)
{
	if (!d->pager.job) {
		dash_msg(d, 0, "nothing more is coming: the output is complete");
		return;
	}
	d->pager.follow = !d->pager.follow;
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void act_left(struct nk_dash *d)
{
	d->pager.hoff = d->pager.hoff >= 8 ? d->pager.hoff - 8 : 0;
	d->dirty |= DIRTY_BODY;
}

static void act_right(struct nk_dash *d)
{
	d->pager.hoff += 8;
	d->dirty |= DIRTY_BODY;
}

/* Move to the next (dir 1) or previous (-1) line holding the search, from `from`. */
static int find(struct nk_dash *d, long from, int dir, int wrap)
{
	struct dash_pager *p = &d->pager;
	long n = (long)total_lines(p);
	if (!p->search[0] || !n)
		return 0;
	for (long step = 0; step < n; step++) {
		long k = from + dir * step;
		if (k < 0 || k >= n) {
			if (!wrap)
				return 0;
			k = (k + n) % n;
		}
		if (dash_ci_find(line_at(p, (size_t)k), p->search) >= 0) {
			p->match = k;
			p->follow = 0;
			long top = k - body_rows(d) / 3;
			p->top = top < 0 ? 0 : (size_t)top;
			d->dirty |= DIRTY_BODY | DIRTY_HEAD;
			return 1;
		}
	}
	return 0;
}

static void search_changed(struct nk_dash *d)
{
	snprintf(d->pager.search, sizeof(d->pager.search), "%s", d->prompt.buf);
	find(d, (long)d->pager.top, 1, 1);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void search_done(struct nk_dash *d, int accepted)
{
	struct dash_pager *p = &d->pager;
	if (!accepted || !p->search[0]) {
		p->search[0] = '\0';
		p->match = -1;
	} else if (p->match < 0) {
		dash_msg(d, 1, "\"%s\" is not in the text", p->search);
	}
}

static void act_search(struct nk_dash *d)
{
	dash_prompt_open(d, "search: ", d->pager.search, search_changed, search_done);
}

static void act_next(struct nk_dash *d)
{
	struct dash_pager *p = &d->pager;
	if (!p->search[0]) {
		act_search(d);
		return;
	}
	long from = p->match >= 0 ? p->match + 1 : (long)p->top;
	if (!find(d, from, 1, 0) && find(d, 0, 1, 0))
		dash_msg(d, 0, "search went past the end: back at the top");
	else if (p->match < 0)
		dash_msg(d, 1, "\"%s\" is not in the text", p->search);
}

static void act_prev(struct nk_dash *d)
{
	struct dash_pager *p = &d->pager;
	if (!p->search[0])
		return;
	long from = p->match >= 0 ? p->match - 1 : (long)p->top;
	if (!find(d, from, -1, 0) && find(d, (long)total_lines(p) - 1, -1, 0))
		dash_msg(d, 0, "search went past the top: back at the end");
}

static void pager_leave(struct nk_dash *d)
{
	pager_clear(d);
}

static const struct dash_key pager_keys[] = {
    {{KEY_DOWN, 'j'}, "j/k", act_down, "scroll", "scroll down a line"},
    {{KEY_UP, 'k'}, "k/Up", act_up, NULL, "scroll up a line (stops following)"},
    {{KEY_NPAGE, ' '}, "PgDn", act_pgdn, NULL, "a page down"},
    {{KEY_PPAGE, 'b'}, "PgUp", act_pgup, NULL, "a page up"},
    {{'g', KEY_HOME}, "g", act_top, NULL, "the first line"},
    {{'G', KEY_END}, "G", act_bottom, "end", "the last line, and follow"},
    {{'f'}, "f", act_follow, "follow", "follow new output, or stop following"},
    {{'/'}, "/", act_search, "search", "search as you type; matches are highlighted"},
    {{'n'}, "n", act_next, "next", "next match"},
    {{'N'}, "N", act_prev, "prev", "previous match"},
    {{KEY_LEFT, 'h'}, "h/Left", act_left, NULL, "scroll left"},
    {{KEY_RIGHT, 'l'}, "l/Right", act_right, NULL, "scroll right (long lines)"},
    {{27, 'q'}, "Esc", dash_act_back, "back", "back to where you were"},
    {{0}, NULL, NULL, NULL, NULL},
};

static void pager_mouse(struct nk_dash *d, const MEVENT *ev, int y, int x)
{
	(void)y;
	(void)x;
	if (ev->bstate & BUTTON4_PRESSED)
		scroll_by(d, -3);
	else if (ev->bstate & BUTTON5_PRESSED)
		scroll_by(d, 3);
}

const struct dash_view_ops dash_pager_view = {
    .name = "the pager (logs and command output)",
    .keys = pager_keys,
    .title = pager_title,
    .draw = pager_draw,
    .mouse = pager_mouse,
    .leave = pager_leave,
};

void dash_pager_open(struct nk_dash *d, const char *title, const char *name)
{
	pager_clear(d);
	snprintf(d->pager.title, sizeof(d->pager.title), "%s", title);
	snprintf(d->pager.name, sizeof(d->pager.name), "%s", name ? name : "");
	d->pager.follow = 1;
	if (dash_top(d) != &dash_pager_view)
		dash_push(d, &dash_pager_view);
	d->dirty |= DIRTY_ALL;
}

/* --- logs ---------------------------------------------------------------------------------- */

static int logs_sink(const char *buf, size_t len, void *opaque)
{
	return nk_write_all(*(int *)opaque, buf, len) < 0 ? -1 : 0;
}

static int logs_run(struct nk_dash *d, struct dash_job *j, int out)
{
	struct nk_err err = {0};
	if (nk_logs_read(d->paths, j->name, -1, 1, logs_sink, &out, &err) < 0) {
		dprintf(out, "\n[nook: %s]\n", err.msg);
		return 1;
	}
	return 0;
}

static void logs_data(struct nk_dash *d, struct dash_job *j, const char *buf, size_t len)
{
	if (d->pager.job == j)
		dash_pager_feed(d, buf, len);
}

static void logs_done(struct nk_dash *d, struct dash_job *j, int status)
{
	(void)status;
	if (d->pager.job != j)
		return;
	d->pager.job = NULL;
	char note[160];
	snprintf(note, sizeof(note), "-- end of the log: %s is not running --", j->name);
	dash_pager_end(d, note);
}

static const struct dash_job_ops logs_ops = {.run = logs_run, .data = logs_data, .done = logs_done, .quiet = 1};

void dash_act_logs(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 0))
		return;
	char title[128];
	snprintf(title, sizeof(title), "Log of %s", d->targets[0]);
	dash_pager_open(d, title, d->targets[0]);
	d->pager.job = dash_job_spawn(d, &logs_ops, d->targets[0], "", "log");
}
