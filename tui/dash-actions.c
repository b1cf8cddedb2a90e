/* What the dashboard does to instances: start, stop, pause, restart, delete (after a
 * question) and create, each in a background job, on the tagged rows or the selection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/instance.h"
#include "core/parse.h"
#include "core/resources.h"
#include "tui/dash.h"
#include "tui/shell.h"

#define STOP_GRACE_S 10

size_t dash_collect_targets(struct nk_dash *d, int allow_tags)
{
	free(d->targets);
	d->targets = calloc(d->nrows + 1, sizeof(*d->targets));
	d->ntargets = 0;
	if (!d->targets)
		return 0;
	if (dash_top(d) == &dash_detail_view) {
		if (dash_row_find(d, d->detail.name))
			snprintf(d->targets[d->ntargets++], 64, "%s", d->detail.name);
		return d->ntargets;
	}
	if (allow_tags)
		for (size_t i = 0; i < d->nvis; i++)
			if (d->vis[i]->tagged)
				snprintf(d->targets[d->ntargets++], 64, "%s", d->vis[i]->info.name);
	if (!d->ntargets && dash_row_selected(d))
		snprintf(d->targets[d->ntargets++], 64, "%s", dash_row_selected(d)->info.name);
	if (!d->ntargets)
		dash_msg(d, 1, "no instance selected: create one with n");
	return d->ntargets;
}

/* --- the jobs -------------------------------------------------------------------------- */

struct act_def {
	const char *verb, *done, *what;
	int (*fn)(const struct nk_paths *paths, const char *name, struct nk_err *err);
};

static int do_start(const struct nk_paths *p, const char *name, struct nk_err *err)
{
	return nk_inst_start(p, name, 0, NULL, err);
}

static int do_stop(const struct nk_paths *p, const char *name, struct nk_err *err)
{
	return nk_inst_stop(p, name, STOP_GRACE_S, err);
}

static int do_pause(const struct nk_paths *p, const char *name, struct nk_err *err)
{
	return nk_inst_pause(p, name, 1, err);
}

static int do_resume(const struct nk_paths *p, const char *name, struct nk_err *err)
{
	return nk_inst_pause(p, name, 0, err);
}

static int do_restart(const struct nk_paths *p, const char *name, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(p, name, &info, err);
	if (r == 0 && (info.state.status == NK_RUNNING || info.state.status == NK_PAUSED))
		r = nk_inst_stop(p, name, STOP_GRACE_S, err);
	return r < 0 ? r : nk_inst_start(p, name, 0, NULL, err);
}

static int do_delete(const struct nk_paths *p, const char *name, struct nk_err *err)
{
	return nk_inst_remove(p, name, 1, err);
}

static const struct act_def acts[] = {
    {"starting", "started", "start", do_start},     {"stopping", "stopped", "stop", do_stop},
    {"pausing", "paused", "pause", do_pause},       {"resuming", "resumed", "resume", do_resume},
    {"restarting", "restarted", "restart", do_restart}, {"deleting", "deleted", "delete", do_delete},
};
enum { A_START, A_STOP, A_PAUSE, A_RESUME, A_RESTART, A_DELETE };

static const struct act_def *act_of(const struct dash_job *j)
{
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (!strcmp(acts[i].verb, j->verb))
			return &acts[i];
	return NULL;
}

static int act_run(struct nk_dash *d, struct dash_job *j, int out)
{
	const struct act_def *a = act_of(j);
	struct nk_err err = {0};
	if (a && a->fn(d->paths, j->name, &err) == 0)
		return 0;
	dprintf(out, "%s", err.msg[0] ? err.msg : "failed");
	return 1;
}

static void act_done(struct nk_dash *d, struct dash_job *j, int status)
{
	const struct act_def *a = act_of(j);
	if (!a)
		return;
	if (status == 0) {
		dash_msg(d, 0, "%s %s", a->done, j->name);
		dash_event(d, j->name, "%s from the dashboard", a->done);
	} else {
		const char *why = j->out && j->out[0] ? j->out : "its helper process died";
		dash_msg(d, 1, "cannot %s %s: %s", a->what, j->name, why);
		dash_event(d, j->name, "%s failed: %s", a->what, why);
	}
	dash_data_touch(d, j->name);
}

static const struct dash_job_ops act_ops = {.run = act_run, .done = act_done};

static void launch(struct nk_dash *d, int act, const char *name)
{
	dash_job_spawn(d, &act_ops, name, acts[act].verb, NULL);
}

static int busy_skip(struct nk_dash *d, const struct dash_row *r)
{
	if (!r)
		return 1;
	if (r->busy) {
		dash_msg(d, 1, "%s is busy (%s): wait for it to finish", r->info.name, r->busy_verb);
		return 1;
	}
	return 0;
}

void dash_act_startstop(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 1))
		return;
	/* With a mix, stop what runs: the safer reading of one key on many rows. */
	int any_live = 0;
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dash_row *r = dash_row_find(d, d->targets[i]);
		any_live |= r && dash_row_live(r);
	}
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dash_row *r = dash_row_find(d, d->targets[i]);
		if (busy_skip(d, r) || dash_row_live(r) != any_live)
			continue;
		launch(d, any_live ? A_STOP : A_START, r->info.name);
	}
}

void dash_act_pause(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 1))
		return;
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dash_row *r = dash_row_find(d, d->targets[i]);
		if (busy_skip(d, r))
			continue;
		if (r->info.state.status == NK_RUNNING)
			launch(d, A_PAUSE, r->info.name);
		else if (r->info.state.status == NK_PAUSED)
			launch(d, A_RESUME, r->info.name);
		else
			dash_msg(d, 1, "%s is not running: start it with s", r->info.name);
	}
}

void dash_act_restart(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 1))
		return;
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dash_row *r = dash_row_find(d, d->targets[i]);
		if (!busy_skip(d, r))
			launch(d, A_RESTART, r->info.name);
	}
}

static void delete_yes(struct nk_dash *d)
{
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dash_row *r = dash_row_find(d, d->targets[i]);
		if (busy_skip(d, r))
			continue;
		r->tagged = 0;
		launch(d, A_DELETE, r->info.name);
	}
	/* The detail of a deleted instance has nothing left to show. */
	if (dash_top(d) == &dash_detail_view)
		dash_pop(d);
}

void dash_act_delete(struct nk_dash *d)
{
	if (!dash_collect_targets(d, 1))
		return;
	size_t live = 0;
	for (size_t i = 0; i < d->ntargets; i++) {
		struct dash_row *r = dash_row_find(d, d->targets[i]);
		live += r && dash_row_live(r);
	}
	struct dash_confirm *c = &d->confirm;
	if (d->ntargets == 1)
		snprintf(c->question, sizeof(c->question), "Delete %s?%s", d->targets[0],
			 live ? " It is running: it will be stopped first." : "");
	else
		snprintf(c->question, sizeof(c->question), "Delete %zu instances (%s, %s%s)?%s", d->ntargets,
			 d->targets[0], d->targets[1], d->ntargets > 2 ? ", ..." : "",
			 live ? " Running ones are stopped first." : "");
	c->yes = delete_yes;
	dash_push(d, &dash_confirm_view);
}

/* --- create ------------------------------------------------------------------------------ */

static int create_run(struct nk_dash *d, struct dash_job *j, int out)
{
	(void)j;
	const struct dash_form *f = &d->form;
	struct nk_run_opts o;
	struct nk_err err = {0};
	char name[64], pwd[4096];
	struct nk_words words = {0};
	memset(&o, 0, sizeof(o));
	o.image = f->val[F_IMAGE];
	o.name = f->val[F_NAME][0] ? f->val[F_NAME] : NULL;
	o.profile = f->val[F_PROFILE][0] ? f->val[F_PROFILE] : NULL;
	o.network = f->val[F_NETWORK][0] ? f->val[F_NETWORK] : NULL;
	/* A profile's $PWD and $HOME are the user's, as with `nook run`. */
	o.pwd = getcwd(pwd, sizeof(pwd)) ? pwd : NULL;
	o.home = getenv("HOME");
	/* -dit: a console to attach to, and a shell that waits for it. */
	o.detach = o.tty = o.interactive = 1;
	o.vm = !strcmp(f->val[F_KIND], "vm");
	if (o.vm) {
		/* As `run --vm`: CPUs counts vCPUs, and no network unless one is named. */
		o.vm_vcpus = f->val[F_CPUS][0] ? (unsigned)strtoul(f->val[F_CPUS], NULL, 10) : 0;
		if (!o.network)
			o.network = "none";
	}
	if ((f->val[F_MEMORY][0] && nk_limits_set_memory(&o.limits, f->val[F_MEMORY], &err) < 0) ||
	    (!o.vm && f->val[F_CPUS][0] && nk_limits_set_cpus(&o.limits, f->val[F_CPUS], &err) < 0))
		goto fail;
	if (f->val[F_COMMAND][0]) {
		if (nk_shell_split(f->val[F_COMMAND], 0, &words, &err) < 0)
			goto fail;
		o.cmd = words.argv;
		o.cmd_count = words.argc;
	}
	if (nk_inst_create(d->paths, &o, name, sizeof(name), &err) < 0)
		goto fail;
	dprintf(out, "N %s\n", name);
	if (nk_inst_start(d->paths, name, 0, NULL, &err) < 0) {
		/* Nothing usable came of it: take the half-started instance away, as run does. */
		struct nk_err ignored;
		(void)!nk_inst_remove(d->paths, name, 1, &ignored);
		goto fail;
	}
	nk_words_free(&words);
	return 0;
fail:
	nk_words_free(&words);
	dprintf(out, "E %s\n", err.msg[0] ? err.msg : "failed");
	return 1;
}

static void create_data(struct nk_dash *d, struct dash_job *j, const char *buf, size_t len)
{
	/* Each report is one short write, so it arrives whole. */
	char line[1100];
	size_t n = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
	memcpy(line, buf, n);
	line[n] = '\0';
	for (char *p = line; p && *p;) {
		char *next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		if (p[0] == 'N' && p[1] == ' ') {
			snprintf(j->name, sizeof(j->name), "%s", p + 2);
			snprintf(j->verb, sizeof(j->verb), "starting");
			dash_jobs_mark_rows(d);
		} else if (p[0] == 'E' && p[1] == ' ') {
			free(j->out);
			j->out = strdup(p + 2);
		}
		p = next;
	}
}

static void create_done(struct nk_dash *d, struct dash_job *j, int status)
{
	if (status == 0) {
		dash_msg(d, 0, "created and started %s (a to attach, e for a shell)", j->name);
		dash_event(d, j->name, "created and started from the dashboard");
		dash_data_touch(d, j->name);
		dash_list_select(d, j->name);
	} else {
		dash_msg(d, 1, "cannot create %s: %s", j->name[0] ? j->name : "the instance",
			 j->out ? j->out : "its helper process died");
	}
}

static const struct dash_job_ops create_ops = {.run = create_run, .data = create_data, .done = create_done};

void dash_act_create(struct nk_dash *d, const struct dash_form *f)
{
	dash_job_spawn(d, &create_ops, f->val[F_NAME], "creating", f->val[F_IMAGE]);
}

/* --- yes or no ----------------------------------------------------------------------------- */

static void confirm_draw(struct nk_dash *d, WINDOW *w)
{
	int h = getmaxy(w), width = getmaxx(w);
	int bw = width - 4 < 70 ? width - 4 : 70, bh = 6;
	int y = (h - bh) / 2, x = (width - bw) / 2;
	dash_box(w, y, x, bh, bw, dash_attr(d, DR_ERROR));
	dash_put(d, w, y, x + 2, " Confirm ", 9, dash_attr(d, DR_ERROR));
	dash_put(d, w, y + 2, x + 2, d->confirm.question, bw - 4, A_BOLD);
	dash_put(d, w, y + 3, x + 2, "y: yes, delete    n or Esc: no", bw - 4, A_NORMAL);
}

static void confirm_yes(struct nk_dash *d)
{
	dash_action_fn yes = d->confirm.yes;
	dash_pop(d);
	if (yes)
		yes(d);
}

static void confirm_no(struct nk_dash *d)
{
	dash_pop(d);
	dash_msg(d, 0, "nothing deleted");
}

static void confirm_title(struct nk_dash *d, char *buf, size_t size)
{
	(void)d;
	snprintf(buf, size, "Are you sure?");
}

static const struct dash_key confirm_keys[] = {
    {{'y', 'Y'}, "y", confirm_yes, "yes", "yes, go ahead"},
    {{'n', 'N', 27}, "n/Esc", confirm_no, "no", "no, leave things as they are"},
    {{'q'}, "q", confirm_no, NULL, "the same as no"},
    {{0}, NULL, NULL, NULL, NULL},
};

const struct dash_view_ops dash_confirm_view = {
    .name = "the question",
    .keys = confirm_keys,
    .title = confirm_title,
    .draw = confirm_draw,
    .modal = 1,
};
