/* Text input for the dashboard: a small line editor (UTF-8 aware) and the prompt on
 * the message line used by filter, search and ':'. */
#include <stdio.h>
#include <string.h>

#include "tui/dash.h"

#define CTRL(c) ((c) & 0x1f)

static int is_cont(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

/* Apply one key to buf; returns 1 when it was an editing key (even if nothing moved). */
int dash_edit_key(char *buf, size_t cap, size_t *len, size_t *cur, int ch)
{
	switch (ch) {
	case KEY_LEFT:
		while (*cur > 0 && is_cont(buf[--*cur]))
			;
		return 1;
	case KEY_RIGHT:
		if (*cur < *len)
			while (++*cur < *len && is_cont(buf[*cur]))
				;
		return 1;
	case KEY_HOME:
	case CTRL('a'):
		*cur = 0;
		return 1;
	case KEY_END:
	case CTRL('e'):
		*cur = *len;
		return 1;
	case KEY_BACKSPACE:
	case 127:
	case CTRL('h'): {
		if (*cur == 0)
			return 1;
		size_t from = *cur;
		while (from > 0 && is_cont(buf[--from]))
			;
		memmove(buf + from, buf + *cur, *len - *cur + 1);
		*len -= *cur - from;
		*cur = from;
		return 1;
	}
	case KEY_DC:
	case CTRL('d'): {
		if (*cur >= *len)
			return 1;
		size_t to = *cur + 1;
		while (to < *len && is_cont(buf[to]))
			to++;
		memmove(buf + *cur, buf + to, *len - to + 1);
		*len -= to - *cur;
		return 1;
	}
	case CTRL('u'):
		memmove(buf, buf + *cur, *len - *cur + 1);
		*len -= *cur;
		*cur = 0;
		return 1;
	case CTRL('k'):
		buf[*cur] = '\0';
		*len = *cur;
		return 1;
	case CTRL('w'): {
		size_t from = *cur;
		while (from > 0 && buf[from - 1] == ' ')
			from--;
		while (from > 0 && buf[from - 1] != ' ')
			from--;
		memmove(buf + from, buf + *cur, *len - *cur + 1);
		*len -= *cur - from;
		*cur = from;
		return 1;
	}
	}
	/* Printable ASCII, and the bytes of a UTF-8 character one by one. */
	if ((ch >= 0x20 && ch < 0x7f) || (ch >= 0x80 && ch <= 0xff)) {
		if (*len + 1 >= cap)
			return 1;
		memmove(buf + *cur + 1, buf + *cur, *len - *cur + 1);
		buf[(*cur)++] = (char)ch;
		(*len)++;
		return 1;
	}
	return 0;
}

void dash_prompt_open(struct nk_dash *d, const char *label, const char *initial,
		      void (*changed)(struct nk_dash *), void (*done)(struct nk_dash *, int))
{
	struct dash_prompt *p = &d->prompt;
	memset(p, 0, sizeof(*p));
	p->active = 1;
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->buf, sizeof(p->buf), "%s", initial ? initial : "");
	p->len = p->cur = strlen(p->buf);
	p->changed = changed;
	p->done = done;
	d->dirty |= DIRTY_MSG | DIRTY_FOOT;
}

static void prompt_close(struct nk_dash *d, int accepted)
{
	struct dash_prompt *p = &d->prompt;
	p->active = 0;
	d->dirty |= DIRTY_MSG | DIRTY_FOOT | DIRTY_BODY | DIRTY_HEAD;
	if (p->done)
		p->done(d, accepted);
}

int dash_prompt_key(struct nk_dash *d, int ch)
{
	struct dash_prompt *p = &d->prompt;
	if (!p->active)
		return 0;
	if (ch == 27 || ch == CTRL('c') || ch == CTRL('g')) {
		prompt_close(d, 0);
		return 1;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		prompt_close(d, 1);
		return 1;
	}
	if (ch == KEY_RESIZE || ch == KEY_MOUSE)
		return 0;
	if (p->history && (ch == KEY_UP || ch == KEY_DOWN)) {
		int to = p->recall + (ch == KEY_UP ? 1 : -1);
		if (to >= 0 && to <= d->nhistory) {
			p->recall = to;
			snprintf(p->buf, sizeof(p->buf), "%s", to ? d->history[d->nhistory - to] : "");
			p->len = p->cur = strlen(p->buf);
			d->dirty |= DIRTY_MSG;
		}
		return 1;
	}
	size_t before = p->len;
	char old[DASH_TEXT];
	memcpy(old, p->buf, sizeof(old));
	dash_edit_key(p->buf, sizeof(p->buf), &p->len, &p->cur, ch);
	d->dirty |= DIRTY_MSG;
	if ((p->len != before || strcmp(old, p->buf)) && p->changed)
		p->changed(d);
	return 1; /* a prompt takes every key while it is open */
}

void dash_history_add(struct nk_dash *d, const char *line)
{
	if (!*line || (d->nhistory && !strcmp(d->history[d->nhistory - 1], line)))
		return;
	if (d->nhistory == DASH_HISTORY) {
		memmove(d->history, d->history + 1, sizeof(d->history[0]) * (DASH_HISTORY - 1));
		d->nhistory--;
	}
	snprintf(d->history[d->nhistory++], DASH_TEXT, "%s", line);
}

void dash_prompt_draw(struct nk_dash *d, WINDOW *w)
{
	struct dash_prompt *p = &d->prompt;
	int width = getmaxx(w);
	int lw = dash_put(d, w, 0, 0, p->label, dash_text_width(p->label), dash_attr(d, DR_TITLE));
	int room = width - lw - 1;
	if (room < 1)
		return;
	/* Keep the cursor on screen: scroll the text left when it would pass the edge. */
	char head[DASH_TEXT];
	memcpy(head, p->buf, p->cur);
	head[p->cur] = '\0';
	int cw = dash_text_width(head);
	int skip = cw >= room ? cw - room + 1 : 0;
	dash_put_ex(d, w, 0, lw, p->buf, room + 1, skip, A_NORMAL, NULL, 0);
	p->cursor_x = lw + cw - skip;
}
