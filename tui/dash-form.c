/* The `n` form: a new instance from image, kind, name, profile, memory, CPUs, network and
 * command, each checked as you type with the rules the CLI uses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/image.h"
#include "core/parse.h"
#include "core/profile.h"
#include "core/resources.h"
#include "core/vm-instance.h"
#include "net/network.h"
#include "tui/dash.h"
#include "tui/shell.h"

typedef int (*check_fn)(struct nk_dash *d, const char *v, char *msg, size_t size);

struct field {
	const char *label;
	const char *initial;
	check_fn check;
	const char *const *choices; /* a choice, not free text */
};

static int check_image(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	struct nk_err err;
	if (!*v) {
		snprintf(msg, size, "which image? busybox, host, or one you imported");
		return -1;
	}
	if (nk_name_check(v, "image", &err) < 0) {
		snprintf(msg, size, "%s", err.msg);
		return -1;
	}
	if (!d->form.images_known) {
		snprintf(msg, size, "looking up the images...");
		return 0;
	}
	char padded[DASH_TEXT + 2];
	snprintf(padded, sizeof(padded), " %s ", v);
	char list[sizeof(d->form.images) + 2];
	snprintf(list, sizeof(list), " %s ", d->form.images);
	if (!strstr(list, padded)) {
		snprintf(msg, size, "no image named %s; there are: %s", v, d->form.images);
		return -1;
	}
	snprintf(msg, size, "ok (images: %s)", d->form.images);
	return 0;
}

static const char *const kinds[] = {"container", "vm", NULL};

static int is_vm(const struct nk_dash *d)
{
	return !strcmp(d->form.val[F_KIND], "vm");
}

static int check_kind(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	struct nk_err err;
	(void)d;
	if (!strcmp(v, "container")) {
		snprintf(msg, size, "ok: namespaces, cgroups, seccomp (Left/Right changes)");
		return 0;
	}
	if (nk_vm_instance_check(NULL, &err) < 0) {
		/* The form has no kernel field: the engine's words, and where to go instead. */
		snprintf(msg, size, "%.150s (here: :run -d --vm --kernel PATH IMAGE)", err.msg);
		return -1;
	}
	snprintf(msg, size, "ok: a microVM with its own kernel (KVM)");
	return 0;
}

static int check_name(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	struct nk_err err;
	if (!*v) {
		snprintf(msg, size, "ok: empty, nook picks a name");
		return 0;
	}
	if (nk_name_check(v, "instance", &err) < 0) {
		snprintf(msg, size, "%s", err.msg);
		return -1;
	}
	if (dash_row_find(d, v)) {
		snprintf(msg, size, "%s is taken: pick another name, or delete that instance first", v);
		return -1;
	}
	snprintf(msg, size, "ok");
	return 0;
}

static int check_profile(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	const char *dirs[3];
	struct nk_profile prof;
	struct nk_err err;
	nk_paths_profile_dirs(d->paths, dirs);
	if (nk_profile_load(*v ? v : "default", dirs, &prof, &err) < 0) {
		dash_copy(msg, size, err.msg);
		nk_profile_free(&prof);
		return -1;
	}
	snprintf(msg, size, "ok%s: %s", *v ? "" : " (default)", prof.description ? prof.description : prof.name);
	nk_profile_free(&prof);
	return 0;
}

static int check_memory(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	(void)d;
	struct nk_limits l = {0};
	struct nk_err err;
	if (!*v) {
		snprintf(msg, size, "ok: no limit");
		return 0;
	}
	if (nk_limits_set_memory(&l, v, &err) < 0) {
		snprintf(msg, size, "%s", err.msg);
		return -1;
	}
	char h[16];
	dash_human(l.memory, h, sizeof(h));
	snprintf(msg, size, "ok: at most %s", h);
	return 0;
}

static int check_cpus(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	struct nk_limits l = {0};
	struct nk_err err;
	if (!*v) {
		snprintf(msg, size, "ok: %s", is_vm(d) ? "one vCPU" : "no limit");
		return 0;
	}
	if (is_vm(d)) {
		char *end;
		unsigned long n = strtoul(v, &end, 10);
		if (*end || n < 1 || n > 64) {
			snprintf(msg, size, "for a VM this is a number of vCPUs from 1 to 64");
			return -1;
		}
		snprintf(msg, size, "ok: %lu vCPU%s", n, n == 1 ? "" : "s");
		return 0;
	}
	if (nk_limits_set_cpus(&l, v, &err) < 0) {
		dash_copy(msg, size, err.msg);
		return -1;
	}
	snprintf(msg, size, "ok: %.2f of a core's time", (double)l.cpu_quota_us / NK_CPU_PERIOD_US);
	return 0;
}

static int check_network(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	struct nk_network net;
	struct nk_err err;
	if (is_vm(d)) {
		if (!*v || !strcmp(v, "none")) {
			snprintf(msg, size, "ok: none (a VM gets a network only when asked)");
			return 0;
		}
		if (!strcmp(v, "host")) {
			snprintf(msg, size, "a VM cannot share the host's network: none, bridge or a network's name");
			return -1;
		}
	}
	if (!*v || !strcmp(v, "bridge")) {
		snprintf(msg, size, "ok: the default network (%s)", NK_NETWORK_DEFAULT);
		return 0;
	}
	if (!strcmp(v, "none") || !strcmp(v, "host")) {
		snprintf(msg, size, "ok: %s", !strcmp(v, "none") ? "no network, only loopback" : "the host's own network");
		return 0;
	}
	if (nk_network_name_check(v, &err) < 0 || nk_network_load(d->paths->root, v, &net, &err) < 0) {
		if (err.code == ENOENT)
			snprintf(msg, size, "no network named %s: empty for the default, none, host, or create it", v);
		else
			dash_copy(msg, size, err.msg);
		return -1;
	}
	snprintf(msg, size, "ok: bridge %s", net.bridge);
	return 0;
}

static int check_command(struct nk_dash *d, const char *v, char *msg, size_t size)
{
	(void)d;
	if (!*v) {
		snprintf(msg, size, "ok: the image's default command");
		return 0;
	}
	struct nk_words w;
	struct nk_err err;
	if (nk_shell_split(v, 0, &w, &err) < 0) {
		dash_copy(msg, size, err.msg);
		return -1;
	}
	if (!w.argc)
		snprintf(msg, size, "ok: the image's default command (that was a comment)");
	else
		snprintf(msg, size, "ok: runs %s with %d argument%s", w.argv[0], w.argc - 1, w.argc == 2 ? "" : "s");
	nk_words_free(&w);
	return 0;
}

static const struct field fields[FORM_FIELDS] = {
    [F_IMAGE] = {"Image", "busybox", check_image, NULL},
    [F_KIND] = {"Kind", "container", check_kind, kinds},
    [F_NAME] = {"Name", "", check_name, NULL},
    [F_PROFILE] = {"Profile", "", check_profile, NULL},
    [F_MEMORY] = {"Memory", "", check_memory, NULL},
    [F_CPUS] = {"CPUs", "", check_cpus, NULL},
    [F_NETWORK] = {"Network", "", check_network, NULL},
    [F_COMMAND] = {"Command", "", check_command, NULL},
};

static void validate(struct nk_dash *d, int i)
{
	struct dash_form *f = &d->form;
	f->bad[i] = fields[i].check(d, f->val[i], f->msg[i], sizeof(f->msg[i])) < 0;
	d->dirty |= DIRTY_BODY;
}

static void validate_all(struct nk_dash *d)
{
	for (int i = 0; i < FORM_FIELDS; i++)
		validate(d, i);
}

static void form_draw(struct nk_dash *d, WINDOW *w)
{
	struct dash_form *f = &d->form;
	int h = getmaxy(w), width = getmaxx(w);
	int two = h >= 2 * FORM_FIELDS + 3; /* room for each field's message on its own line */
	int fw = width - 14 < 40 ? width - 14 : 40;
	werase(w);
	dash_put(d, w, 0, 1, "Each field is checked as you type. Tab moves, Enter creates, Esc cancels.", width - 1,
		 dash_attr(d, DR_DIM));
	for (int i = 0; i < FORM_FIELDS; i++) {
		int y = 1 + (two ? 2 * i : i);
		int focus = i == f->focus;
		dash_put(d, w, y, 1, fields[i].label, 9, focus ? A_BOLD : A_NORMAL);
		char shown[DASH_TEXT + 8];
		if (fields[i].choices)
			snprintf(shown, sizeof(shown), "< %s >", f->val[i]);
		else
			snprintf(shown, sizeof(shown), "%s", f->val[i]);
		/* Scroll a long value so the cursor stays inside the field. */
		char head[DASH_TEXT];
		memcpy(head, f->val[i], f->cur[i]);
		head[f->cur[i]] = '\0';
		int cw = dash_text_width(head);
		int skip = !fields[i].choices && cw >= fw ? cw - fw + 1 : 0;
		dash_put_ex(d, w, y, 11, shown, fw, skip, A_UNDERLINE | (focus ? A_BOLD : 0), NULL, 0);
		attr_t ma = dash_attr(d, f->bad[i] ? DR_ERROR : DR_OK);
		char mark[220];
		snprintf(mark, sizeof(mark), "%s %s", f->bad[i] ? "x" : "+", f->msg[i]);
		if (two)
			dash_put(d, w, y + 1, 11, mark, width - 12, ma);
		else if (width > fw + 14)
			dash_put(d, w, y, 12 + fw, mark, width - fw - 13, ma);
		if (focus && !fields[i].choices) {
			d->cursor_win = w;
			d->cursor_y = y;
			d->cursor_x = 11 + cw - skip;
		}
	}
	int y = 1 + (two ? 2 * FORM_FIELDS : FORM_FIELDS);
	if (y < h)
		dash_put(d, w, y, 1, "Enter: create and start it, detached with a console (like run -dit)", width - 1,
			 A_BOLD);
}

static void form_title(struct nk_dash *d, char *buf, size_t size)
{
	(void)d;
	snprintf(buf, size, "New instance");
}

static void act_next(struct nk_dash *d)
{
	d->form.focus = (d->form.focus + 1) % FORM_FIELDS;
	d->dirty |= DIRTY_BODY;
}

static void act_prev(struct nk_dash *d)
{
	d->form.focus = (d->form.focus + FORM_FIELDS - 1) % FORM_FIELDS;
	d->dirty |= DIRTY_BODY;
}

static void act_submit(struct nk_dash *d)
{
	validate_all(d);
	for (int i = 0; i < FORM_FIELDS; i++)
		if (d->form.bad[i]) {
			d->form.focus = i;
			dash_msg(d, 1, "%s: %s", fields[i].label, d->form.msg[i]);
			return;
		}
	dash_act_create(d, &d->form);
	dash_pop(d);
}

static void act_cancel(struct nk_dash *d)
{
	dash_pop(d);
	dash_msg(d, 0, "nothing created");
}

static void cycle_choice(struct nk_dash *d, int dir)
{
	struct dash_form *f = &d->form;
	const char *const *c = fields[f->focus].choices;
	int n = 0, at = 0;
	for (; c[n]; n++)
		if (!strcmp(c[n], f->val[f->focus]))
			at = n;
	at = (at + dir + n) % n;
	snprintf(f->val[f->focus], DASH_TEXT, "%s", c[at]);
	f->len[f->focus] = f->cur[f->focus] = strlen(c[at]);
	validate_all(d); /* CPUs and network read differently for a VM */
}

static int form_key(struct nk_dash *d, int ch)
{
	struct dash_form *f = &d->form;
	int i = f->focus;
	if (ch == '\t' || ch == KEY_BTAB || ch == KEY_DOWN || ch == KEY_UP || ch == '\r' || ch == '\n' ||
	    ch == KEY_ENTER || ch == 27)
		return 0; /* the keymap's */
	if (fields[i].choices) {
		if (ch == KEY_LEFT || ch == KEY_RIGHT || ch == ' ')
			cycle_choice(d, ch == KEY_LEFT ? -1 : 1);
		return 1;
	}
	if (!dash_edit_key(f->val[i], DASH_TEXT, &f->len[i], &f->cur[i], ch))
		return 0;
	validate(d, i);
	return 1;
}

static void form_mouse(struct nk_dash *d, const MEVENT *ev, int y, int x)
{
	(void)x;
	if (!(ev->bstate & BUTTON1_PRESSED))
		return;
	int two = getmaxy(d->body) >= 2 * FORM_FIELDS + 3;
	int i = two ? (y - 1) / 2 : y - 1;
	if (y >= 1 && i >= 0 && i < FORM_FIELDS) {
		d->form.focus = i;
		d->dirty |= DIRTY_BODY;
	}
}

static const struct dash_key form_keys[] = {
    {{'\t', KEY_DOWN}, "Tab", act_next, "next", "next field"},
    {{KEY_BTAB, KEY_UP}, "S-Tab", act_prev, "prev", "previous field"},
    {{'\r', '\n', KEY_ENTER}, "Enter", act_submit, "create", "create and start it (if every field is fine)"},
    {{27}, "Esc", act_cancel, "cancel", "close the form, create nothing"},
    {{0}, NULL, NULL, NULL, NULL},
};

const struct dash_view_ops dash_form_view = {
    .name = "the new instance form",
    .keys = form_keys,
    .title = form_title,
    .draw = form_draw,
    .key = form_key,
    .mouse = form_mouse,
    .modal = 1,
};

/* --- the images, listed in the background (sizing them walks their trees) ------------------ */

static void image_visit(const char *name, const char *source, unsigned long long bytes, void *opaque)
{
	(void)source;
	(void)bytes;
	dprintf(*(int *)opaque, "%s ", name);
}

static int images_run(struct nk_dash *d, struct dash_job *j, int out)
{
	(void)j;
	struct nk_err err;
	return nk_image_list(d->paths, image_visit, &out, &err) < 0;
}

static void images_done(struct nk_dash *d, struct dash_job *j, int status)
{
	if (status != 0 || !j->out)
		return;
	size_t n = strlen(j->out);
	while (n && j->out[n - 1] == ' ')
		j->out[--n] = '\0';
	snprintf(d->form.images, sizeof(d->form.images), "%s", j->out);
	d->form.images_known = 1;
	validate(d, F_IMAGE);
}

static const struct dash_job_ops images_ops = {.run = images_run, .done = images_done, .quiet = 1};

void dash_act_new(struct nk_dash *d)
{
	struct dash_form *f = &d->form;
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FORM_FIELDS; i++) {
		snprintf(f->val[i], DASH_TEXT, "%s", fields[i].initial);
		f->len[i] = f->cur[i] = strlen(f->val[i]);
	}
	validate_all(d);
	dash_push(d, &dash_form_view);
	dash_job_spawn(d, &images_ops, NULL, "", "images");
}
