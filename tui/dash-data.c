/* The dashboard's model: one row per instance, read again only when the store says it
 * changed, sampled once a second from samplers kept open; plus filter, sort and the
 * events the dashboard saw happen. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "tui/dash.h"

#define ALIVE_CHECK_NS (5ull * 1000000000ull)

struct dash_row *dash_row_find(struct nk_dash *d, const char *name)
{
	for (size_t i = 0; i < d->nrows; i++)
		if (!strcmp(d->rows[i]->info.name, name))
			return d->rows[i];
	return NULL;
}

struct dash_row *dash_row_selected(struct nk_dash *d)
{
	return d->cur < d->nvis ? d->vis[d->cur] : NULL;
}

static void row_event(struct dash_row *r, const char *fmt, ...) NK_PRINTF(2, 3);
static void row_event(struct dash_row *r, const char *fmt, ...)
{
	struct dash_event *e = &r->ev[r->ev_pos];
	e->at = nk_wall_time_s();
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	r->ev_pos = (r->ev_pos + 1) % DASH_EVENTS;
	if (r->ev_len < DASH_EVENTS)
		r->ev_len++;
}

void dash_event(struct nk_dash *d, const char *name, const char *fmt, ...)
{
	struct dash_row *r = dash_row_find(d, name);
	if (!r)
		return;
	char text[sizeof(r->ev[0].text)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	row_event(r, "%s", text);
}

static void sampler_close(struct dash_row *r)
{
	if (r->sampling)
		nk_stats_close(&r->sampler);
	r->sampling = 0;
	r->have_st = 0;
}

static void sampler_open(struct nk_dash *d, struct dash_row *r)
{
	struct nk_err err;
	if (nk_stats_open(d->paths, r->info.name, &r->sampler, &err) == 0)
		r->sampling = 1;
}

static void row_free(struct dash_row *r)
{
	sampler_close(r);
	free(r);
}

/* What changed between two readings of an instance, as events. */
static void note_changes(struct dash_row *r, const struct nk_instance_info *now)
{
	const struct nk_state *was = &r->info.state, *is = &now->state;
	if (was->status != is->status || was->started_at != is->started_at) {
		if (is->status == NK_STOPPED)
			row_event(r, "stopped: %s, exit code %d%s%s", is->exit_reason[0] ? is->exit_reason : "exited",
				  is->exit_code, is->error[0] ? " - " : "", is->error);
		else if (is->status == NK_RUNNING && was->status == NK_PAUSED && was->started_at == is->started_at)
			row_event(r, "resumed");
		else if (is->status == NK_RUNNING)
			row_event(r, "started (init pid %d)", (int)is->init_pid);
		else
			row_event(r, "%s", nk_status_name(is->status));
	}
	if (is->oom_kills > was->oom_kills)
		row_event(r, "the OOM killer took %llu process(es)", (unsigned long long)(is->oom_kills - was->oom_kills));
}

/* Take a fresh reading into the row; samplers follow the instance's life. */
static void row_update(struct nk_dash *d, struct dash_row *r, const struct nk_instance_info *info, int fresh)
{
	int restarted = r->info.state.started_at != info->state.started_at ||
			r->info.state.monitor_pid != info->state.monitor_pid;
	if (!fresh)
		note_changes(r, info);
	r->info = *info;
	int live = dash_row_live(r);
	if (r->sampling && (!live || restarted))
		sampler_close(r); /* a restart made a new cgroup: the open files are stale */
	if (live && !r->sampling)
		sampler_open(d, r);
}

static struct dash_row *row_add(struct nk_dash *d, const struct nk_instance_info *info)
{
	if (d->nrows == d->rows_cap) {
		size_t cap = d->rows_cap ? d->rows_cap * 2 : 64;
		struct dash_row **n = realloc(d->rows, cap * sizeof(*n));
		struct dash_row **v = realloc(d->vis, cap * sizeof(*v));
		if (n)
			d->rows = n;
		if (v)
			d->vis = v;
		if (!n || !v)
			return NULL;
		d->rows_cap = cap;
	}
	struct dash_row *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->info = *info;
	row_event(r, "%s", info->state.status == NK_CREATED ? "created" : "found");
	d->rows[d->nrows++] = r;
	row_update(d, r, info, 1);
	return r;
}

static void row_remove(struct nk_dash *d, const char *name)
{
	for (size_t i = 0; i < d->nrows; i++)
		if (!strcmp(d->rows[i]->info.name, name)) {
			row_free(d->rows[i]);
			d->rows[i] = d->rows[--d->nrows];
			return;
		}
}

static void visit(const struct nk_instance_info *info, void *opaque)
{
	struct nk_dash *d = opaque;
	struct dash_row *r = dash_row_find(d, info->name);
	if (r)
		row_update(d, r, info, 0);
	else
		r = row_add(d, info);
	if (r)
		r->seen = 1;
}

static void reload_all(struct nk_dash *d)
{
	struct nk_err err;
	for (size_t i = 0; i < d->nrows; i++)
		d->rows[i]->seen = 0;
	if (nk_inst_list(d->paths, visit, d, &err) < 0) {
		dash_msg(d, 1, "%s", err.msg);
		return;
	}
	for (size_t i = 0; i < d->nrows;)
		if (!d->rows[i]->seen) {
			row_free(d->rows[i]);
			d->rows[i] = d->rows[--d->nrows];
		} else
			i++;
}

void dash_data_touch(struct nk_dash *d, const char *name)
{
	if (!name) {
		d->reload_all = 1;
		return;
	}
	for (size_t i = 0; i < d->npending; i++)
		if (!strcmp(d->pending[i], name))
			return;
	if (d->npending == d->pending_cap) {
		size_t cap = d->pending_cap ? d->pending_cap * 2 : 32;
		char(*n)[64] = realloc(d->pending, cap * sizeof(*n));
		if (!n) {
			d->reload_all = 1;
			return;
		}
		d->pending = n;
		d->pending_cap = cap;
	}
	snprintf(d->pending[d->npending++], 64, "%s", name);
}

static void watch_cb(const char *name, void *opaque)
{
	dash_data_touch(opaque, name);
}

void dash_data_watch(struct nk_dash *d)
{
	nk_inst_watch_read(&d->watch, watch_cb, d);
}

/* Read again what the watch (or an action) said changed; one instance at a time. */
void dash_data_apply(struct nk_dash *d)
{
	if (!d->reload_all && !d->npending)
		return;
	if (d->reload_all) {
		reload_all(d);
	} else {
		for (size_t i = 0; i < d->npending; i++) {
			struct nk_instance_info info;
			struct nk_err err;
			struct dash_row *r = dash_row_find(d, d->pending[i]);
			if (nk_inst_get_any(d->paths, d->pending[i], &info, &err) < 0) {
				if (err.code == ENOENT && r)
					row_remove(d, d->pending[i]);
			} else if (r) {
				row_update(d, r, &info, 0);
			} else {
				row_add(d, &info);
			}
		}
	}
	d->reload_all = 0;
	d->npending = 0;
	dash_jobs_mark_rows(d);
	dash_data_refilter(d);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void hist_push(struct dash_row *r, float cpu, float mem, float pids, float io, float net)
{
	r->cpu[r->hist_pos] = cpu;
	r->mem[r->hist_pos] = mem;
	r->pids[r->hist_pos] = pids;
	r->io[r->hist_pos] = io;
	r->net[r->hist_pos] = net;
	r->hist_pos = (r->hist_pos + 1) % DASH_HIST;
	if (r->hist_len < DASH_HIST)
		r->hist_len++;
}

void dash_data_sample(struct nk_dash *d)
{
	if (d->have_load)
		nk_host_load_sample(&d->load, &d->hs);
	for (size_t i = 0; i < d->nrows; i++) {
		struct dash_row *r = d->rows[i];
		if (!r->sampling) {
			if (r->hist_len)
				hist_push(r, -1, -1, -1, -1, -1); /* the graph scrolls the old run away */
			continue;
		}
		nk_stats_sample(&r->sampler, &r->st);
		r->have_st = 1;
		const struct nk_stats *s = &r->st;
		hist_push(r, s->cpu_percent >= 0 ? (float)s->cpu_percent : 0,
			  (s->cg.have & NK_STAT_MEM) ? (float)s->cg.mem_current : -1,
			  (s->cg.have & NK_STAT_PIDS) ? (float)s->cg.pids_current : -1,
			  s->io_read_rate >= 0 ? (float)(s->io_read_rate + s->io_write_rate) : 0,
			  s->have_net && s->net_rx_rate >= 0 ? (float)(s->net_rx_rate + s->net_tx_rate) : s->have_net ? 0 : -1);
		if ((s->cg.have & NK_STAT_OOM) && s->cg.oom_kills > r->info.state.oom_kills) {
			/* The state catches up when the run ends; tell it as it happens. */
			row_event(r, "the OOM killer took a process (%llu so far)", (unsigned long long)s->cg.oom_kills);
			r->info.state.oom_kills = s->cg.oom_kills;
		}
	}
	if (d->sort_col >= 0 && dash_cols[d->sort_col].cmp)
		dash_data_refilter(d);
}

/* A monitor killed outright writes no state: catch it by its pid every few seconds. */
void dash_data_check_alive(struct nk_dash *d)
{
	uint64_t now = nk_now_ns();
	if (now - d->last_alive_ns < ALIVE_CHECK_NS)
		return;
	d->last_alive_ns = now;
	/* Runtime containers (kind oci) are not watched: a change of their root, or any of
	 * them listed (their status lives in their own directories), means a fresh listing. */
	uint64_t stamp = nk_inst_oci_stamp();
	int have_oci = 0;
	for (size_t i = 0; i < d->nrows && !have_oci; i++)
		have_oci = !strcmp(d->rows[i]->info.kind, "oci");
	if (!d->watching || stamp != d->oci_stamp || have_oci) {
		d->oci_stamp = stamp;
		d->reload_all = 1;
		return;
	}
	for (size_t i = 0; i < d->nrows; i++) {
		const struct nk_state *s = &d->rows[i]->info.state;
		/* A runtime container (kind oci) has no monitor: its own process is what lives. */
		int oci = !strcmp(d->rows[i]->info.kind, "oci");
		pid_t pid = oci ? s->init_pid : s->monitor_pid;
		uint64_t start = oci ? s->init_start : s->monitor_start;
		if ((s->status == NK_RUNNING || s->status == NK_PAUSED || (oci && s->status == NK_CREATED)) &&
		    !nk_proc_alive(pid, start))
			dash_data_touch(d, d->rows[i]->info.name);
	}
}

static int matches(const struct nk_dash *d, const struct dash_row *r)
{
	if (!d->filter[0])
		return 1;
	char state[32];
	int role;
	dash_state_text(r, state, sizeof(state), &role);
	return dash_ci_find(r->info.name, d->filter) >= 0 || dash_ci_find(r->info.image, d->filter) >= 0 ||
	       dash_ci_find(state, d->filter) >= 0 || dash_ci_find(r->info.kind, d->filter) >= 0;
}

static int cmp_rows(const void *a, const void *b, void *opaque)
{
	return dash_row_cmp(opaque, *(struct dash_row *const *)a, *(struct dash_row *const *)b);
}

void dash_data_refilter(struct nk_dash *d)
{
	d->nvis = 0;
	for (size_t i = 0; i < d->nrows; i++)
		if (matches(d, d->rows[i]))
			d->vis[d->nvis++] = d->rows[i];
	qsort_r(d->vis, d->nvis, sizeof(*d->vis), cmp_rows, d);
	/* The selection follows its instance, wherever sorting put it. */
	size_t at = d->cur;
	for (size_t i = 0; i < d->nvis; i++)
		if (!strcmp(d->vis[i]->info.name, d->sel)) {
			at = i;
			break;
		}
	if (at >= d->nvis)
		at = d->nvis ? d->nvis - 1 : 0;
	d->cur = at;
	if (d->nvis)
		snprintf(d->sel, sizeof(d->sel), "%s", d->vis[at]->info.name);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

int dash_data_open(struct nk_dash *d)
{
	struct nk_err err;
	if (nk_host_info(d->paths, &d->host, &err) < 0)
		memset(&d->host, 0, sizeof(d->host));
	d->have_load = nk_host_load_open(&d->load, &err) == 0;
	if (d->have_load)
		nk_host_load_sample(&d->load, &d->hs);
	d->watching = nk_inst_watch_open(d->paths, &d->watch, &err) == 0;
	if (!d->watching)
		dash_msg(d, 1, "%s; the list refreshes every few seconds instead", err.msg);
	d->reload_all = 1;
	d->oci_stamp = nk_inst_oci_stamp();
	dash_data_apply(d);
	/* Memory and pids show at once; CPU%, a rate, a second later. */
	dash_data_sample(d);
	d->last_sample_ns = nk_now_ns();
	return 0;
}

void dash_data_close(struct nk_dash *d)
{
	for (size_t i = 0; i < d->nrows; i++)
		row_free(d->rows[i]);
	free(d->rows);
	free(d->vis);
	free(d->pending);
	d->rows = d->vis = NULL;
	d->nrows = d->nvis = 0;
	if (d->watching)
		nk_inst_watch_close(&d->watch);
	if (d->have_load)
		nk_host_load_close(&d->load);
}
