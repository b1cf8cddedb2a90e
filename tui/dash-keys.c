/* Keymaps: one table per view plus the global one; the same tables dispatch keys, write
 * the footer and fill the `?` help, so the three cannot disagree. */
#include <stdio.h>
#include <string.h>

#include "tui/dash.h"

#define CTRL(c) ((c) & 0x1f)

static void act_help(struct nk_dash *d)
{
	if (dash_top(d) == &dash_help_view)
		return;
	d->help_scroll = 0;
	dash_push(d, &dash_help_view);
}

static void act_quit(struct nk_dash *d)
{
	d->quit = 1;
}

static void act_redraw(struct nk_dash *d)
{
	clearok(curscr, TRUE);
	d->dirty |= DIRTY_ALL;
}

const struct dash_key dash_global_keys[] = {
    {{':'}, ":", dash_act_command, "cmd", "run any nook command (ls -a, run -d busybox, rm x...); Up recalls"},
    {{'?', KEY_F(1)}, "?", act_help, "help", "this help: every key of the view you are in"},
    {{CTRL('l')}, "Ctrl-L", act_redraw, NULL, "draw the whole screen again"},
    {{'q', KEY_F(10)}, "q", act_quit, "quit", "quit the dashboard (instances keep running)"},
    {{0}, NULL, NULL, NULL, NULL},
};

static const struct dash_key *find_key(const struct dash_key *map, int ch)
{
	for (const struct dash_key *k = map; k && k->action; k++)
		for (int i = 0; i < 3 && k->keys[i]; i++)
			if (k->keys[i] == ch)
				return k;
	return NULL;
}

int dash_key_dispatch(struct nk_dash *d, int ch)
{
	const struct dash_view_ops *v = dash_top(d);
	const struct dash_key *k = v ? find_key(v->keys, ch) : NULL;
	/* A modal view takes its own keys only: nothing reaches the list behind it. */
	if (!k && !(v && v->modal))
		k = find_key(dash_global_keys, ch);
	if (!k)
		return 0;
	k->action(d);
	d->dirty |= DIRTY_FOOT | DIRTY_HEAD;
	return 1;
}

static int footer_items(struct nk_dash *d, WINDOW *w, const struct dash_key *map, int x, int width)
{
	for (const struct dash_key *k = map; k && k->action; k++) {
		if (!k->label)
			continue;
		int kw = dash_text_width(k->keyname), lw = dash_text_width(k->label);
		if (x + kw + lw + 2 > width)
			return width; /* the rest is in `?` */
		if (d->nfoot < (int)(sizeof(d->foot_x) / sizeof(d->foot_x[0]))) {
			d->foot_x[d->nfoot] = x;
			d->foot_key[d->nfoot++] = k->keys[0];
		}
		x += dash_put(d, w, 0, x, k->keyname, kw, dash_attr(d, DR_KEY));
		x += dash_put(d, w, 0, x, " ", 1, A_NORMAL);
		x += dash_put(d, w, 0, x, k->label, lw, A_NORMAL);
		x += dash_put(d, w, 0, x, " ", 1, A_NORMAL);
	}
	return x;
}

/* The prompt reads these keys itself (dash-edit.c); this table only labels the footer. */
static void prompt_key_shown(struct nk_dash *d)
{
	(void)d;
}

static const struct dash_key prompt_keys[] = {
    {{0}, "Enter", prompt_key_shown, "accept", NULL},
    {{0}, "Esc", prompt_key_shown, "cancel", NULL},
    {{0}, "Ctrl-U", prompt_key_shown, "clear", NULL},
    {{0}, NULL, NULL, NULL, NULL},
};

static const struct dash_key history_keys[] = {
    {{0}, "Up/Down", prompt_key_shown, "earlier commands", NULL},
    {{0}, NULL, NULL, NULL, NULL},
};

static int labels_width(const struct dash_key *map)
{
	int w = 0;
	for (const struct dash_key *k = map; k && k->action; k++)
		if (k->label)
			w += dash_text_width(k->keyname) + dash_text_width(k->label) + 2;
	return w;
}

void dash_draw_footer(struct nk_dash *d)
{
	WINDOW *w = d->foot;
	int width = getmaxx(w);
	werase(w);
	d->nfoot = 0;
	const struct dash_view_ops *v = dash_top(d);
	if (d->prompt.active) {
		int x = footer_items(d, w, prompt_keys, 0, width);
		if (d->prompt.history)
			footer_items(d, w, history_keys, x, width);
		d->nfoot = 0;
	} else if (v && v->modal) {
		footer_items(d, w, v->keys, 0, width);
	} else {
		/* The global keys (help, quit) stay at the right whatever the width. */
		int gw = labels_width(dash_global_keys);
		footer_items(d, w, v ? v->keys : NULL, 0, width - gw);
		footer_items(d, w, dash_global_keys, width - gw > 0 ? width - gw : 0, width);
	}
	wnoutrefresh(w);
}

void dash_footer_click(struct nk_dash *d, int x)
{
	for (int i = d->nfoot - 1; i >= 0; i--)
		if (x >= d->foot_x[i]) {
			dash_key_dispatch(d, d->foot_key[i]);
			return;
		}
}

/* --- the `?` view --------------------------------------------------------------------- */

static void help_section(struct nk_dash *d, struct dash_lines *l, const char *title, const struct dash_key *map)
{
	(void)d;
	dash_lines_add(l, DR_TITLE, "%s", title);
	for (const struct dash_key *k = map; k && k->action; k++)
		if (k->help)
			dash_lines_add(l, DR_NORMAL, "  %-12s %s", k->keyname, k->help);
	dash_lines_add(l, DR_NORMAL, "%s", "");
}

static void help_draw(struct nk_dash *d, WINDOW *w)
{
	/* The help describes the view it was opened from: the one below it. */
	const struct dash_view_ops *under = d->nviews >= 2 ? d->view[d->nviews - 2] : NULL;
	struct dash_lines l = {0};
	char title[96];
	snprintf(title, sizeof(title), "Keys in %s", under ? under->name : "the dashboard");
	help_section(d, &l, title, under ? under->keys : NULL);
	if (!(under && under->modal))
		help_section(d, &l, "Everywhere", dash_global_keys);
	dash_lines_add(&l, DR_TITLE, "%s", "Mouse");
	dash_lines_add(&l, DR_NORMAL, "%s", "  click        select a row; double-click opens it; click a column title to sort");
	dash_lines_add(&l, DR_NORMAL, "%s", "  wheel        scroll");
	dash_lines_add(&l, DR_NORMAL, "%s", "  footer       click a key to press it");
	dash_lines_add(&l, DR_NORMAL, "%s", "");
	dash_lines_add(&l, DR_TITLE, "%s", "Attach and exec");
	dash_lines_add(&l, DR_NORMAL, "%s", "  Ctrl-P Ctrl-Q  leaves an attached console; the instance keeps running");
	dash_lines_add(&l, DR_NORMAL, "%s", "  exit           leaves a shell opened with e");
	dash_lines_add(&l, DR_NORMAL, "%s", "");
	dash_lines_add(&l, DR_TITLE, "%s", "Editing (prompts and the form)");
	dash_lines_add(&l, DR_NORMAL, "%s", "  Left/Right Home/End Ctrl-A/E  move;  Backspace Del Ctrl-U/K/W  delete");
	werase(w);
	int saved = d->detail.scroll;
	d->detail.scroll = d->help_scroll;
	dash_lines_draw(d, w, 0, &l);
	d->help_scroll = d->detail.scroll;
	d->detail.scroll = saved;
	dash_lines_free(&l);
}

static void help_title(struct nk_dash *d, char *buf, size_t size)
{
	(void)d;
	snprintf(buf, size, "Help");
}

static void help_down(struct nk_dash *d)
{
	d->help_scroll++;
	d->dirty |= DIRTY_BODY;
}

static void help_up(struct nk_dash *d)
{
	if (d->help_scroll > 0)
		d->help_scroll--;
	d->dirty |= DIRTY_BODY;
}

static void help_close(struct nk_dash *d)
{
	dash_pop(d);
}

static const struct dash_key help_keys[] = {
    {{'j', KEY_DOWN}, "j/Down", help_down, NULL, "scroll down"},
    {{'k', KEY_UP}, "k/Up", help_up, NULL, "scroll up"},
    {{27, 'q', '?'}, "Esc", help_close, "close", "close the help"},
    {{0}, NULL, NULL, NULL, NULL},
};

static void help_mouse(struct nk_dash *d, const MEVENT *ev, int y, int x)
{
	(void)y;
	(void)x;
	if (ev->bstate & BUTTON4_PRESSED)
		help_up(d);
	else if (ev->bstate & BUTTON5_PRESSED)
		help_down(d);
}

const struct dash_view_ops dash_help_view = {
    .name = "help",
    .keys = help_keys,
    .title = help_title,
    .draw = help_draw,
    .mouse = help_mouse,
};

void dash_act_back(struct nk_dash *d)
{
	dash_pop(d);
}
