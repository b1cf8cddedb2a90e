/* The main view: a row per instance with live numbers, selection, tags, filter and sort. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "tui/dash.h"

#define PREFIX 2 /* tag mark and spinner before the first column */
#define DOUBLE_CLICK_NS 400000000ull

static int page_rows(const struct nk_dash *d)
{
	int h = d->body ? getmaxy(d->body) - 1 : 1;
	return h > 0 ? h : 1;
}

void dash_list_select(struct nk_dash *d, const char *name)
{
	snprintf(d->sel, sizeof(d->sel), "%s", name);
	dash_data_refilter(d);
}

static void move_to(struct nk_dash *d, long to)
{
	if (!d->nvis)
		return;
	if (to < 0)
		to = 0;
	if (to >= (long)d->nvis)
		to = (long)d->nvis - 1;
	d->cur = (size_t)to;
	snprintf(d->sel, sizeof(d->sel), "%s", d->vis[d->cur]->info.name);
	d->dirty |= DIRTY_BODY;
}

static void act_down(struct nk_dash *d)
{
	move_to(d, (long)d->cur + 1);
}

static void act_up(struct nk_dash *d)
{
	move_to(d, (long)d->cur - 1);
}

static void act_pgdn(struct nk_dash *d)
{
	move_to(d, (long)d->cur + page_rows(d));
}

static void act_pgup(struct nk_dash *d)
{
	move_to(d, (long)d->cur - page_rows(d));
}

static void act_home(struct nk_dash *d)
{
	move_to(d, 0);
}

static void act_end(struct nk_dash *d)
{
	move_to(d, (long)d->nvis - 1);
}

static void act_tag(struct nk_dash *d)
{
	struct dash_row *r = dash_row_selected(d);
	if (!r)
		return;
	r->tagged = !r->tagged;
	act_down(d);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void act_tag_all(struct nk_dash *d)
{
	/* All of them, unless all of them already are: then none. */
	int all = 1;
	for (size_t i = 0; i < d->nvis; i++)
		all &= d->vis[i]->tagged;
	for (size_t i = 0; i < d->nvis; i++)
		d->vis[i]->tagged = !all;
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void act_escape(struct nk_dash *d)
{
	int tags = 0;
	for (size_t i = 0; i < d->nrows; i++) {
		tags += d->rows[i]->tagged;
		d->rows[i]->tagged = 0;
	}
	if (!tags && d->filter[0]) {
		d->filter[0] = '\0';
		dash_data_refilter(d);
	}
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void filter_changed(struct nk_dash *d)
{
	snprintf(d->filter, sizeof(d->filter), "%s", d->prompt.buf);
	dash_data_refilter(d);
}

static void filter_done(struct nk_dash *d, int accepted)
{
	if (!accepted) {
		d->filter[0] = '\0';
		dash_data_refilter(d);
	}
}

void dash_act_filter(struct nk_dash *d)
{
	dash_prompt_open(d, "filter: ", d->filter, filter_changed, filter_done);
}

static const struct dash_key list_keys[] = {
    {{KEY_DOWN, 'j'}, "j/k", act_down, "move", "move down (j or Down), up (k or Up)"},
    {{KEY_UP, 'k'}, "k/Up", act_up, NULL, NULL},
    {{KEY_NPAGE}, "PgDn", act_pgdn, NULL, "a page down"},
    {{KEY_PPAGE}, "PgUp", act_pgup, NULL, "a page up"},
    {{KEY_HOME, 'g'}, "g/Home", act_home, NULL, "first row"},
    {{KEY_END, 'G'}, "G/End", act_end, NULL, "last row"},
    {{'\r', '\n', KEY_ENTER}, "Enter", dash_act_detail, "detail", "details: overview, resources, isolation, events"},
    {{' '}, "Space", act_tag, "tag", "tag or untag the row; s, p, r and d then act on every tagged row"},
    {{'*'}, "*", act_tag_all, NULL, "tag every row in view (again: untag them)"},
    {{'n'}, "n", dash_act_new, "new", "new instance: a form checked as you type"},
    {{'s'}, "s", dash_act_startstop, "start/stop", "start a stopped instance, stop a running one"},
    {{'p'}, "p", dash_act_pause, "pause", "pause (freeze) or resume"},
    {{'r'}, "r", dash_act_restart, "restart", "stop if running, then start"},
    {{'d', KEY_DC}, "d", dash_act_delete, "delete", "delete (asks first; a running instance is stopped)"},
    {{'a'}, "a", dash_act_attach, "attach", "attach to the console; Ctrl-P Ctrl-Q comes back, it keeps running"},
    {{'e'}, "e", dash_act_exec, "exec", "a shell inside (bash if the image has it, else sh)"},
    {{'l'}, "l", dash_act_logs, "logs", "console log, following; / searches in it"},
    {{'/'}, "/", dash_act_filter, "filter", "filter rows by name, image, kind or state as you type"},
    {{'o'}, "o", dash_act_sort, "sort", "sort by a column (again: reverse)"},
    {{'c'}, "c", dash_act_compare, "compare", "container vs VM, measured side by side (runs `nook compare`)"},
    {{27}, "Esc", act_escape, NULL, "untag every row, else clear the filter"},
    {{0}, NULL, NULL, NULL, NULL},
};

static void list_title(struct nk_dash *d, char *buf, size_t size)
{
	/* Actions take the tagged rows in view: count those. */
	size_t tagged = 0;
	for (size_t i = 0; i < d->nvis; i++)
		tagged += d->vis[i]->tagged != 0;
	char extra[400] = "";
	size_t used = 0;
	if (d->filter[0])
		used += (size_t)snprintf(extra + used, sizeof(extra) - used, "  filter: %s", d->filter);
	if (d->sort_col >= 0 && used < sizeof(extra))
		used += (size_t)snprintf(extra + used, sizeof(extra) - used, "  sort: %s %s", dash_cols[d->sort_col].title,
					 d->sort_desc ? "desc" : "asc");
	if (tagged && used < sizeof(extra))
		snprintf(extra + used, sizeof(extra) - used, "  %zu tagged", tagged);
	snprintf(buf, size, "Instances %zu/%zu%s", d->nvis, d->nrows, extra);
}

static void draw_row(struct nk_dash *d, WINDOW *w, int y, const struct dash_row *r, int selected, int n,
		     const int *idx, const int *cw)
{
	int width = getmaxx(w);
	attr_t sel = selected ? A_REVERSE : 0;
	dash_fill(w, y, 0, width, sel);
	wmove(w, y, 0);
	wattrset(w, dash_attr(d, DR_TAG) | sel);
	if (r->tagged)
		d->utf8 ? (void)waddstr(w, "\u25cf") : (void)waddch(w, '*');
	else
		waddch(w, ' ');
	wattrset(w, dash_attr(d, DR_BUSY) | sel);
	if (r->busy)
		waddstr(w, dash_spinner(d));
	else
		waddch(w, ' ');
	int x = PREFIX;
	for (int i = 0; i < n; i++) {
		const struct dash_col *c = &dash_cols[idx[i]];
		if (c->spark) {
			dash_spark(d, w, y, x, cw[i], r, dash_attr(d, DR_SPARK) | sel);
		} else {
			char text[256];
			int role = DR_NORMAL;
			c->cell(d, r, text, sizeof(text), &role);
			int tw = dash_text_width(text);
			int pad = c->right && tw < cw[i] ? cw[i] - tw : 0;
			dash_fill(w, y, x, pad, sel);
			dash_put(d, w, y, x + pad, text, cw[i] - pad, dash_attr(d, (enum dash_role)role) | sel);
		}
		x += cw[i] + 1;
	}
}

static void empty_hint(struct nk_dash *d, WINDOW *w)
{
	int h = getmaxy(w), width = getmaxx(w);
	char text[DASH_TEXT + 100];
	if (d->nrows)
		snprintf(text, sizeof(text), "No instance matches \"%s\" (Esc clears the filter).", d->filter);
	else
		snprintf(text, sizeof(text), "No instances yet: press n to create one, or : to run any nook command.");
	int tw = dash_text_width(text);
	int x = tw < width ? (width - tw) / 2 : 0;
	dash_put(d, w, h / 2, x, text, width - x, dash_attr(d, DR_DIM));
}

static void list_draw(struct nk_dash *d, WINDOW *w)
{
	int h = getmaxy(w), width = getmaxx(w);
	int idx[32], cw[32];
	int n = dash_cols_layout(width - PREFIX, idx, cw);
	werase(w);
	/* Column titles; the sorted one says which way. */
	dash_fill(w, 0, 0, width, dash_attr(d, DR_TITLE));
	int x = PREFIX;
	for (int i = 0; i < n; i++) {
		char t[64];
		const struct dash_col *c = &dash_cols[idx[i]];
		snprintf(t, sizeof(t), "%s%s", c->title, idx[i] == d->sort_col ? (d->sort_desc ? "v" : "^") : "");
		int tw = dash_text_width(t);
		int pad = c->right && tw < cw[i] ? cw[i] - tw : 0;
		dash_put(d, w, 0, x + pad, t, cw[i] - pad, dash_attr(d, DR_TITLE));
		x += cw[i] + 1;
	}
	if (!d->nvis) {
		empty_hint(d, w);
		return;
	}
	int rows = h - 1;
	if (d->cur < d->top)
		d->top = d->cur;
	if (d->cur >= d->top + (size_t)rows)
		d->top = d->cur - (size_t)rows + 1;
	if (d->top + (size_t)rows > d->nvis)
		d->top = d->nvis > (size_t)rows ? d->nvis - (size_t)rows : 0;
	for (int i = 0; i < rows && d->top + (size_t)i < d->nvis; i++) {
		size_t k = d->top + (size_t)i;
		draw_row(d, w, 1 + i, d->vis[k], k == d->cur, n, idx, cw);
	}
}

static void list_mouse(struct nk_dash *d, const MEVENT *ev, int y, int x)
{
	if (ev->bstate & BUTTON4_PRESSED) {
		move_to(d, (long)d->cur - 3);
		return;
	}
	if (ev->bstate & BUTTON5_PRESSED) {
		move_to(d, (long)d->cur + 3);
		return;
	}
	if (!(ev->bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
		return;
	if (y == 0) {
		/* A click on a column title sorts by it; again reverses. */
		int idx[32], cw[32];
		int n = dash_cols_layout(getmaxx(d->body) - PREFIX, idx, cw), cx = PREFIX;
		for (int i = 0; i < n; cx += cw[i] + 1, i++)
			if (x >= cx && x < cx + cw[i] && dash_cols[idx[i]].cmp) {
				if (d->sort_col == idx[i])
					d->sort_desc = !d->sort_desc;
				else
					d->sort_col = idx[i], d->sort_desc = 0;
				dash_data_refilter(d);
				return;
			}
		return;
	}
	size_t k = d->top + (size_t)(y - 1);
	if (k >= d->nvis)
		return;
	uint64_t now = nk_now_ns();
	int twice = k == d->cur && d->click_y == y && now - d->click_ns < DOUBLE_CLICK_NS;
	move_to(d, (long)k);
	d->click_ns = now;
	d->click_y = y;
	if (twice)
		dash_act_detail(d);
}

const struct dash_view_ops dash_list_view = {
    .name = "the instance list",
    .keys = list_keys,
    .title = list_title,
    .draw = list_draw,
    .mouse = list_mouse,
};

/* --- `o`: sort by a column --------------------------------------------------------------- */

static void sort_draw(struct nk_dash *d, WINDOW *w)
{
	int n = 0;
	for (int c = 0; c < dash_ncols; c++)
		n += dash_cols[c].cmp != NULL;
	int bw = 34, bh = n + 4, h = getmaxy(w), width = getmaxx(w);
	int y = (h - bh) / 2 > 0 ? (h - bh) / 2 : 0, x = (width - bw) / 2 > 0 ? (width - bw) / 2 : 0;
	dash_box(w, y, x, bh, bw, A_NORMAL);
	dash_put(d, w, y, x + 2, " Sort by ", 9, dash_attr(d, DR_TITLE));
	int row = 0;
	for (int c = 0; c < dash_ncols; c++) {
		if (!dash_cols[c].cmp)
			continue;
		char t[64];
		snprintf(t, sizeof(t), " %s%s", dash_cols[c].title,
			 c == d->sort_col ? (d->sort_desc ? "  (descending)" : "  (ascending)") : "");
		dash_put(d, w, y + 2 + row, x + 2, t, bw - 4, row == d->sort_pick ? A_REVERSE : A_NORMAL);
		row++;
	}
}

static int pick_col(int pick)
{
	for (int c = 0, row = 0; c < dash_ncols; c++)
		if (dash_cols[c].cmp && row++ == pick)
			return c;
	return -1;
}

static void sort_down(struct nk_dash *d)
{
	if (pick_col(d->sort_pick + 1) >= 0)
		d->sort_pick++;
	d->dirty |= DIRTY_BODY;
}

static void sort_up(struct nk_dash *d)
{
	if (d->sort_pick > 0)
		d->sort_pick--;
	d->dirty |= DIRTY_BODY;
}

static void sort_choose(struct nk_dash *d)
{
	int c = pick_col(d->sort_pick);
	if (c == d->sort_col)
		d->sort_desc = !d->sort_desc;
	else {
		d->sort_col = c;
		/* Numbers read best biggest first. */
		d->sort_desc = dash_cols[c].right;
	}
	dash_pop(d);
	dash_data_refilter(d);
}

static void sort_cancel(struct nk_dash *d)
{
	dash_pop(d);
}

static const struct dash_key sort_keys[] = {
    {{KEY_DOWN, 'j'}, "j/Down", sort_down, NULL, "next column"},
    {{KEY_UP, 'k'}, "k/Up", sort_up, NULL, "previous column"},
    {{'\r', '\n', KEY_ENTER}, "Enter", sort_choose, "sort", "sort by it (the current one again: reverse)"},
    {{'o'}, "o", sort_choose, NULL, "the same as Enter"},
    {{27, 'q'}, "Esc", sort_cancel, "cancel", "keep the order as it is"},
    {{0}, NULL, NULL, NULL, NULL},
};

static void sort_title(struct nk_dash *d, char *buf, size_t size)
{
	(void)d;
	snprintf(buf, size, "Sort the instances");
}

const struct dash_view_ops dash_sort_view = {
    .name = "the sort menu", .keys = sort_keys, .title = sort_title, .draw = sort_draw, .modal = 1,
};

void dash_act_sort(struct nk_dash *d)
{
	d->sort_pick = 0;
	for (int c = 0, row = 0; c < dash_ncols; c++)
		if (dash_cols[c].cmp) {
			if (c == d->sort_col)
				d->sort_pick = row;
			row++;
		}
	dash_push(d, &dash_sort_view);
}
