/* The detail view's Events tab: what nook recorded for the instance (events.log: denied
 * system calls in teach mode, exits, OOM kills), followed live, then what this dashboard
 * saw happen (state changes, actions taken from it). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/logs.h"
#include "core/util.h"
#include "tui/dash.h"

#define FEED_TAIL 200

static void feed_add(struct nk_dash *d, const char *text)
{
	struct dash_detail *dt = &d->detail;
	dash_copy(dt->feed[dt->feed_pos], sizeof(dt->feed[0]), text);
	dt->feed_pos = (dt->feed_pos + 1) % DASH_FEED;
	if (dt->feed_len < DASH_FEED)
		dt->feed_len++;
	d->dirty |= DIRTY_BODY;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* One JSON line of events.log into words; anything else is shown as it is. */
static void feed_line(struct nk_dash *d, const char *line)
{
	json_object *o = json_tokener_parse(line);
	if (!o || !json_object_is_type(o, json_type_object)) {
		if (o)
			json_object_put(o);
		if (*line)
			feed_add(d, line);
		return;
	}
	const char *when = str(o, "time"), *kind = str(o, "kind"), *msg = str(o, "message");
	char text[300];
	if (kind && !strcmp(kind, "seccomp"))
		snprintf(text, sizeof(text), "%s  seccomp: %s (nr %s) by pid %s refused with %s", when ? when : "?",
			 str(o, "syscall") ? str(o, "syscall") : "?", str(o, "nr") ? str(o, "nr") : "?",
			 str(o, "pid") ? str(o, "pid") : "?", str(o, "answer") ? str(o, "answer") : "EPERM");
	else
		snprintf(text, sizeof(text), "%s  %s: %s", when ? when : "?", kind ? kind : "event", msg ? msg : "");
	feed_add(d, text);
	json_object_put(o);
}

static int feed_sink(const char *buf, size_t len, void *opaque)
{
	return nk_write_all(*(int *)opaque, buf, len) < 0 ? -1 : 0;
}

static int feed_run(struct nk_dash *d, struct dash_job *j, int out)
{
	struct nk_err err;
	return nk_logs_read_file(d->paths, j->name, "events.log", FEED_TAIL, 1, feed_sink, &out, &err) < 0;
}

static void feed_data(struct nk_dash *d, struct dash_job *j, const char *buf, size_t len)
{
	struct dash_detail *dt = &d->detail;
	if (dt->feed_job != j)
		return;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || dt->feed_plen == sizeof(dt->feed_partial) - 1) {
			dt->feed_partial[dt->feed_plen] = '\0';
			feed_line(d, dt->feed_partial);
			dt->feed_plen = 0;
			if (buf[i] == '\n')
				continue;
		}
		dt->feed_partial[dt->feed_plen++] = buf[i];
	}
}

static void feed_done(struct nk_dash *d, struct dash_job *j, int status)
{
	(void)status;
	if (d->detail.feed_job == j)
		d->detail.feed_job = NULL;
}

static const struct dash_job_ops feed_ops = {.run = feed_run, .data = feed_data, .done = feed_done, .quiet = 1};

void dash_feed_open(struct nk_dash *d)
{
	struct dash_detail *dt = &d->detail;
	dash_feed_close(d);
	dt->feed_len = dt->feed_pos = 0;
	dt->feed_plen = 0;
	dt->feed_job = dash_job_spawn(d, &feed_ops, dt->name, "", "events");
}

void dash_feed_close(struct nk_dash *d)
{
	if (d->detail.feed_job)
		dash_jobs_kill(d, d->detail.feed_job);
	d->detail.feed_job = NULL;
}

static void local_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%H:%M:%S", &tm);
}

void dash_detail_tab_events(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r)
{
	const struct dash_detail *dt = &d->detail;
	struct dash_lines l = {0};
	dash_lines_add(&l, DR_TITLE, "Recorded by nook (events.log%s), newest first:", dt->feed_job ? ", live" : "");
	if (!dt->feed_len)
		dash_lines_add(&l, DR_DIM, "%s", "  nothing yet (the teach profile records every refused system call here)");
	for (unsigned k = 0; k < dt->feed_len; k++) {
		const char *e = dt->feed[(dt->feed_pos + DASH_FEED - 1 - k) % DASH_FEED];
		dash_lines_add(&l, strstr(e, "seccomp") || strstr(e, "oom") ? DR_ERROR : DR_NORMAL, "  %s", e);
	}
	dash_lines_add(&l, DR_NORMAL, "%s", "");
	dash_lines_add(&l, DR_TITLE, "%s", "Seen by this dashboard, newest first:");
	for (unsigned k = 0; k < r->ev_len; k++) {
		const struct dash_event *e = &r->ev[(r->ev_pos + DASH_EVENTS - 1 - k) % DASH_EVENTS];
		char t[16];
		local_time(e->at, t, sizeof(t));
		dash_lines_add(&l, strstr(e->text, "fail") || strstr(e->text, "OOM") ? DR_ERROR : DR_NORMAL, "  %s  %s", t,
			       e->text);
	}
	dash_lines_draw(d, w, y0, &l);
	dash_lines_free(&l);
}
