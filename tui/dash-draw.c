/* Drawing helpers for the dashboard: themes with and without colour, width-aware text,
 * boxes, sparklines, graphs and human-readable numbers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "tui/dash.h"

enum { P_HEADER = 1, P_TITLE, P_RUNNING, P_PAUSED, P_STOPPED, P_CREATED, P_ERROR, P_OK, P_TAG, P_MATCH,
       P_SPARK, P_KEY, P_BUSY };

void dash_theme_init(struct nk_dash *d)
{
	/* Without colour every role still differs where it matters: selection and headers
	 * reverse, live and failing things bold, matches reversed. */
	static const attr_t mono[DR_COUNT] = {
	    [DR_NORMAL] = A_NORMAL, [DR_HEADER] = A_REVERSE, [DR_TITLE] = A_BOLD | A_UNDERLINE,
	    [DR_RUNNING] = A_BOLD,  [DR_PAUSED] = A_UNDERLINE, [DR_STOPPED] = A_NORMAL,
	    [DR_CREATED] = A_NORMAL, [DR_ERROR] = A_BOLD,    [DR_OK] = A_NORMAL,
	    [DR_DIM] = A_DIM,       [DR_TAG] = A_BOLD,       [DR_MATCH] = A_REVERSE,
	    [DR_SPARK] = A_NORMAL,  [DR_KEY] = A_REVERSE,    [DR_BUSY] = A_BOLD,
	};
	memcpy(d->attr, mono, sizeof(mono));
	if (!d->color)
		return;
	short bg = -1;
	if (use_default_colors() == ERR)
		bg = COLOR_BLACK;
	init_pair(P_HEADER, COLOR_WHITE, COLOR_BLUE);
	init_pair(P_TITLE, COLOR_CYAN, bg);
	init_pair(P_RUNNING, COLOR_GREEN, bg);
	init_pair(P_PAUSED, COLOR_YELLOW, bg);
	init_pair(P_STOPPED, COLOR_WHITE, bg);
	init_pair(P_CREATED, COLOR_CYAN, bg);
	init_pair(P_ERROR, COLOR_RED, bg);
	init_pair(P_OK, COLOR_GREEN, bg);
	init_pair(P_TAG, COLOR_MAGENTA, bg);
	init_pair(P_MATCH, COLOR_BLACK, COLOR_YELLOW);
	init_pair(P_SPARK, COLOR_CYAN, bg);
	init_pair(P_KEY, COLOR_BLACK, COLOR_CYAN);
	init_pair(P_BUSY, COLOR_YELLOW, bg);
	d->attr[DR_HEADER] = COLOR_PAIR(P_HEADER) | A_BOLD;
	d->attr[DR_TITLE] = COLOR_PAIR(P_TITLE) | A_BOLD;
	d->attr[DR_RUNNING] = COLOR_PAIR(P_RUNNING) | A_BOLD;
	d->attr[DR_PAUSED] = COLOR_PAIR(P_PAUSED);
	d->attr[DR_STOPPED] = COLOR_PAIR(P_STOPPED);
	d->attr[DR_CREATED] = COLOR_PAIR(P_CREATED);
	d->attr[DR_ERROR] = COLOR_PAIR(P_ERROR) | A_BOLD;
	d->attr[DR_OK] = COLOR_PAIR(P_OK);
	d->attr[DR_TAG] = COLOR_PAIR(P_TAG) | A_BOLD;
	d->attr[DR_MATCH] = COLOR_PAIR(P_MATCH);
	d->attr[DR_SPARK] = COLOR_PAIR(P_SPARK);
	d->attr[DR_KEY] = COLOR_PAIR(P_KEY);
	d->attr[DR_BUSY] = COLOR_PAIR(P_BUSY) | A_BOLD;
}

attr_t dash_attr(const struct nk_dash *d, enum dash_role role)
{
	return role < DR_COUNT ? d->attr[role] : A_NORMAL;
}

/* One character of s: its byte length and display width; controls and broken UTF-8
 * count as one byte shown as '?'. */
static size_t next_char(const char *s, size_t len, int *width, int *bad)
{
	mbstate_t st;
	wchar_t wc;
	memset(&st, 0, sizeof(st));
	size_t n = mbrtowc(&wc, s, len, &st);
	*bad = 0;
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*width = 1;
		*bad = 1;
		return 1;
	}
	int cw = wcwidth(wc);
	if (wc < 0x20 || wc == 0x7f || cw < 0) {
		*width = 1;
		*bad = 1;
		return n;
	}
	*width = cw;
	return n;
}

int dash_text_width(const char *s)
{
	size_t len = strlen(s);
	int total = 0;
	for (size_t i = 0; i < len;) {
		int cw, bad;
		i += next_char(s + i, len - i, &cw, &bad);
		total += cw;
	}
	return total;
}

int dash_ci_find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return -1;
	for (const char *p = hay; *p; p++)
		if (!strncasecmp(p, needle, n))
			return (int)(p - hay);
	return -1;
}

int dash_put_ex(const struct nk_dash *d, WINDOW *w, int y, int x, const char *s, int width, int skip,
		attr_t attr, const char *needle, attr_t hl)
{
	if (width <= 0)
		return 0;
	size_t len = strlen(s);
	int total = dash_text_width(s) - skip;
	int room = total > width ? width - 1 : width; /* keep a column for the ellipsis */
	size_t nlen = needle ? strlen(needle) : 0;
	size_t hl_end = 0;
	int col = 0, skipped = 0;
	wmove(w, y, x);
	for (size_t i = 0; i < len && col < room;) {
		if (nlen && i >= hl_end && !strncasecmp(s + i, needle, nlen))
			hl_end = i + nlen;
		int cw, bad;
		size_t n = next_char(s + i, len - i, &cw, &bad);
		if (skipped < skip) {
			/* A wide character cut by the left edge leaves a blank. */
			skipped += cw;
			if (skipped > skip && col < room) {
				wattrset(w, attr);
				waddch(w, ' ');
				col++;
			}
			i += n;
			continue;
		}
		if (col + cw > room)
			break;
		wattrset(w, i < hl_end ? hl : attr);
		if (bad)
			waddch(w, '?');
		else
			waddnstr(w, s + i, (int)n);
		col += cw;
		i += n;
	}
	wattrset(w, attr);
	if (total > width && col < width) {
		if (d->utf8)
			waddstr(w, "\u2026");
		else
			waddch(w, '~');
		col++;
	}
	for (; col < width; col++)
		waddch(w, ' ');
	wattrset(w, A_NORMAL);
	return col;
}

int dash_put(const struct nk_dash *d, WINDOW *w, int y, int x, const char *s, int width, attr_t attr)
{
	return dash_put_ex(d, w, y, x, s, width, 0, attr, NULL, 0);
}

void dash_fill(WINDOW *w, int y, int x, int width, attr_t attr)
{
	wattrset(w, attr);
	wmove(w, y, x);
	for (int i = 0; i < width; i++)
		waddch(w, ' ');
	wattrset(w, A_NORMAL);
}

void dash_box(WINDOW *w, int y, int x, int h, int width, attr_t attr)
{
	for (int r = y; r < y + h; r++)
		dash_fill(w, r, x, width, attr);
	wattrset(w, attr);
	mvwhline(w, y, x + 1, ACS_HLINE, width - 2);
	mvwhline(w, y + h - 1, x + 1, ACS_HLINE, width - 2);
	mvwvline(w, y + 1, x, ACS_VLINE, h - 2);
	mvwvline(w, y + 1, x + width - 1, ACS_VLINE, h - 2);
	mvwaddch(w, y, x, ACS_ULCORNER);
	mvwaddch(w, y, x + width - 1, ACS_URCORNER);
	mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
	mvwaddch(w, y + h - 1, x + width - 1, ACS_LRCORNER);
	wattrset(w, A_NORMAL);
}

float dash_hist_at(const float *h, const struct dash_row *r, unsigned ago)
{
	if (ago >= r->hist_len)
		return -1;
	unsigned newest = (r->hist_pos + DASH_HIST - 1) % DASH_HIST;
	return h[(newest + DASH_HIST - ago) % DASH_HIST];
}

static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
static const char ascii_ramp[] = "_.-:=+*#";

static void level_char(const struct nk_dash *d, WINDOW *w, int level)
{
	if (level < 0)
		waddch(w, ' ');
	else if (d->utf8)
		waddstr(w, blocks[level > 7 ? 7 : level]);
	else
		waddch(w, (chtype)(unsigned char)ascii_ramp[level > 7 ? 7 : level]);
}

/* The last minute of CPU in `width` cells, each the busiest second it covers; scaled
 * to one core, or higher when the instance used more. */
void dash_spark(const struct nk_dash *d, WINDOW *w, int y, int x, int width, const struct dash_row *r, attr_t attr)
{
	if (width <= 0)
		return;
	double top = 100;
	for (unsigned a = 0; a < DASH_SPARK_S; a++)
		if (dash_hist_at(r->cpu, r, a) > top)
			top = dash_hist_at(r->cpu, r, a);
	wattrset(w, attr);
	wmove(w, y, x);
	for (int c = 0; c < width; c++) {
		unsigned from = (unsigned)((width - 1 - c) * DASH_SPARK_S / width);
		unsigned to = (unsigned)((width - c) * DASH_SPARK_S / width);
		float v = -1;
		for (unsigned a = from; a < to || a == from; a++) {
			float s = dash_hist_at(r->cpu, r, a);
			if (s > v)
				v = s;
		}
		level_char(d, w, v < 0 ? -1 : (int)(v / top * 7.99));
	}
	wattrset(w, A_NORMAL);
}

/* A bar per second, newest at the right, h rows tall, in eighths of a row with UTF-8. */
void dash_graph(const struct nk_dash *d, WINDOW *w, int y, int x, int h, int width, const float *hist,
		const struct dash_row *r, double top, attr_t attr)
{
	if (top <= 0)
		top = 1;
	for (int c = 0; c < width; c++) {
		float v = dash_hist_at(hist, r, (unsigned)(width - 1 - c));
		int eighths = v < 0 ? -1 : (int)(v / top * h * 8 + 0.5);
		if (v > 0 && eighths == 0)
			eighths = 1; /* something happened: show it */
		for (int row = 0; row < h; row++) {
			int cell = eighths - (h - 1 - row) * 8;
			wmove(w, y + row, x + c);
			wattrset(w, attr);
			if (eighths < 0 || cell <= 0) {
				/* A sampled zero still gets a baseline: "idle", not "no data". */
				if (row == h - 1 && eighths == 0)
					wattrset(w, dash_attr(d, DR_DIM));
				waddch(w, row == h - 1 && eighths == 0 ? '_' : ' ');
			}
			else if (cell >= 8)
				d->utf8 ? (void)waddstr(w, blocks[7]) : (void)waddch(w, '#');
			else
				d->utf8 ? (void)waddstr(w, blocks[cell - 1]) : (void)waddch(w, cell >= 4 ? '#' : '.');
		}
	}
	wattrset(w, A_NORMAL);
}

void dash_human(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "BKMGTP";
	double f = (double)v;
	int u = 0;
	while (f >= 1024 && u < 5) {
		f /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%lluB", (unsigned long long)v);
	else if (f < 10)
		snprintf(buf, size, "%.2f%c", f, units[u]);
	else if (f < 100)
		snprintf(buf, size, "%.1f%c", f, units[u]);
	else
		snprintf(buf, size, "%.0f%c", f, units[u]);
}

void dash_duration(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, size, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

const char *dash_spinner(const struct nk_dash *d)
{
	static const char *const braille[] = {"\u280b", "\u2819", "\u2839", "\u2838", "\u283c",
					      "\u2834", "\u2826", "\u2827", "\u2807", "\u280f"};
	static const char *const ascii[] = {"|", "/", "-", "\\"};
	return d->utf8 ? braille[d->spin % 10] : ascii[d->spin % 4];
}

void dash_lines_add(struct dash_lines *l, int role, const char *fmt, ...)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **t = realloc(l->text, cap * sizeof(*t));
		if (!t)
			return;
		l->text = t;
		int *r = realloc(l->role, cap * sizeof(*r));
		if (!r)
			return;
		l->role = r;
		l->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	l->text[l->n] = s;
	l->role[l->n++] = role;
}

void dash_lines_draw(struct nk_dash *d, WINDOW *w, int y0, struct dash_lines *l)
{
	int h = getmaxy(w), width = getmaxx(w);
	int rows = h - y0;
	if (rows <= 0)
		return;
	int max_scroll = (int)l->n > rows ? (int)l->n - rows : 0;
	if (d->detail.scroll > max_scroll)
		d->detail.scroll = max_scroll;
	if (d->detail.scroll < 0)
		d->detail.scroll = 0;
	for (int i = 0; i < rows && (size_t)(i + d->detail.scroll) < l->n; i++) {
		size_t k = (size_t)(i + d->detail.scroll);
		dash_put(d, w, y0 + i, 0, l->text[k], width, dash_attr(d, (enum dash_role)l->role[k]));
	}
}

void dash_lines_free(struct dash_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->text[i]);
	free(l->text);
	free(l->role);
	memset(l, 0, sizeof(*l));
}

void dash_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}
