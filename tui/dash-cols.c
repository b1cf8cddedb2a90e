/* The main list's columns as data: title, widths, priority on narrow screens, how a cell
 * reads and how rows compare. Networking and VMs add an entry or fill in a cell here. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "tui/dash.h"

int dash_row_live(const struct dash_row *r)
{
	return r->info.state.status == NK_RUNNING || r->info.state.status == NK_PAUSED;
}

void dash_state_text(const struct dash_row *r, char *buf, size_t size, int *role)
{
	const struct nk_state *s = &r->info.state;
	switch (s->status) {
	case NK_RUNNING:
		snprintf(buf, size, "running");
		*role = DR_RUNNING;
		break;
	case NK_PAUSED:
		snprintf(buf, size, "paused");
		*role = DR_PAUSED;
		break;
	case NK_CREATED:
		snprintf(buf, size, "created");
		*role = DR_CREATED;
		break;
	case NK_STOPPED:
		if (!strcmp(s->exit_reason, "oom"))
			snprintf(buf, size, "oom-killed");
		else if (!strcmp(s->exit_reason, "failed"))
			snprintf(buf, size, "failed");
		else
			snprintf(buf, size, "exited %d", s->exit_code);
		*role = s->exit_code == 0 && strcmp(s->exit_reason, "failed") ? DR_STOPPED : DR_ERROR;
		break;
	}
}

static void cell_name(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	(void)role;
	snprintf(buf, size, "%s", r->info.name);
}

static void cell_kind(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	(void)role;
	snprintf(buf, size, "%s", !strcmp(r->info.kind, "container") ? "ctr" : r->info.kind);
}

static void cell_state(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (r->busy) {
		snprintf(buf, size, "%s", r->busy_verb);
		*role = DR_BUSY;
		return;
	}
	dash_state_text(r, buf, size, role);
}

static void cell_image(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	(void)role;
	snprintf(buf, size, "%s", r->info.image);
}

static void cell_ip(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (!r->info.state.ip[0] || !dash_row_live(r)) {
		*role = DR_DIM;
		snprintf(buf, size, "-");
	} else
		snprintf(buf, size, "%s", r->info.state.ip);
}

static void cell_cpu(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (!r->have_st || r->st.cpu_percent < 0) {
		*role = DR_DIM;
		snprintf(buf, size, "-");
	} else
		snprintf(buf, size, "%.1f", r->st.cpu_percent);
}

static void cell_spark(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	(void)r;
	(void)role;
	snprintf(buf, size, " ");
}

static void cell_mem(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (!r->have_st || !(r->st.cg.have & NK_STAT_MEM)) {
		*role = DR_DIM;
		snprintf(buf, size, "-");
		return;
	}
	char used[16], lim[16] = "-";
	dash_human(r->st.cg.mem_current, used, sizeof(used));
	if (r->st.cg.mem_limit != NK_UNLIMITED)
		dash_human(r->st.cg.mem_limit, lim, sizeof(lim));
	snprintf(buf, size, "%s/%s", used, lim);
	if (r->st.cg.mem_limit != NK_UNLIMITED && r->st.cg.mem_current * 10 >= r->st.cg.mem_limit * 9)
		*role = DR_ERROR; /* within 10% of the limit: the OOM killer is near */
}

static void cell_pids(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (!r->have_st || !(r->st.cg.have & NK_STAT_PIDS)) {
		*role = DR_DIM;
		snprintf(buf, size, "-");
	} else
		snprintf(buf, size, "%llu", (unsigned long long)r->st.cg.pids_current);
}

/* Per second, as the instance sees it: what it received / what it sent. */
static void cell_net(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (!r->have_st || !r->st.have_net || r->st.net_rx_rate < 0) {
		*role = DR_DIM;
		snprintf(buf, size, "-");
		return;
	}
	char rx[16], tx[16];
	dash_human((uint64_t)r->st.net_rx_rate, rx, sizeof(rx));
	dash_human((uint64_t)r->st.net_tx_rate, tx, sizeof(tx));
	snprintf(buf, size, "%s/%s", rx, tx);
}

static void cell_uptime(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role)
{
	(void)d;
	if (!dash_row_live(r) || !r->info.state.started_at) {
		*role = DR_DIM;
		snprintf(buf, size, "-");
		return;
	}
	dash_duration(nk_wall_time_s() - r->info.state.started_at, buf, size);
}

static int cmp_name(const struct dash_row *a, const struct dash_row *b)
{
	/* web2 before web10, as people number things. */
	return strverscmp(a->info.name, b->info.name);
}

static int cmp_kind(const struct dash_row *a, const struct dash_row *b)
{
	return strcmp(a->info.kind, b->info.kind);
}

static int cmp_state(const struct dash_row *a, const struct dash_row *b)
{
	/* Live first: running, paused, created, stopped. */
	static const int order[] = {[NK_RUNNING] = 0, [NK_PAUSED] = 1, [NK_CREATED] = 2, [NK_STOPPED] = 3};
	return order[a->info.state.status] - order[b->info.state.status];
}

static int cmp_image(const struct dash_row *a, const struct dash_row *b)
{
	return strcmp(a->info.image, b->info.image);
}

static int cmp_double(double x, double y)
{
	return x < y ? -1 : x > y;
}

static int cmp_cpu(const struct dash_row *a, const struct dash_row *b)
{
	return cmp_double(a->have_st ? a->st.cpu_percent : -1, b->have_st ? b->st.cpu_percent : -1);
}

static int cmp_mem(const struct dash_row *a, const struct dash_row *b)
{
	return cmp_double(a->have_st ? (double)a->st.cg.mem_current : -1, b->have_st ? (double)b->st.cg.mem_current : -1);
}

static int cmp_pids(const struct dash_row *a, const struct dash_row *b)
{
	return cmp_double(a->have_st ? (double)a->st.cg.pids_current : -1,
			  b->have_st ? (double)b->st.cg.pids_current : -1);
}

static int cmp_net(const struct dash_row *a, const struct dash_row *b)
{
	double x = a->have_st && a->st.have_net ? a->st.net_rx_rate + a->st.net_tx_rate : -1;
	double y = b->have_st && b->st.have_net ? b->st.net_rx_rate + b->st.net_tx_rate : -1;
	return cmp_double(x, y);
}

static int cmp_uptime(const struct dash_row *a, const struct dash_row *b)
{
	/* Longest up first when ascending reads oddly; compare start times instead. */
	int64_t sa = dash_row_live(a) ? a->info.state.started_at : INT64_MAX;
	int64_t sb = dash_row_live(b) ? b->info.state.started_at : INT64_MAX;
	return sa < sb ? 1 : sa > sb ? -1 : 0;
}

const struct dash_col dash_cols[] = {
    {"NAME", 12, 40, 0, 0, cell_name, cmp_name, 0},
    {"KIND", 4, 4, 6, 0, cell_kind, cmp_kind, 0},
    {"STATE", 10, 10, 1, 0, cell_state, cmp_state, 0},
    {"IMAGE", 7, 24, 5, 0, cell_image, cmp_image, 0},
    {"IP", 15, 15, 7, 0, cell_ip, NULL, 0},
    {"CPU%", 6, 6, 2, 1, cell_cpu, cmp_cpu, 0},
    {"CPU 1 MIN", 10, 20, 3, 0, cell_spark, NULL, 1},
    {"MEM/LIMIT", 13, 13, 2, 1, cell_mem, cmp_mem, 0},
    {"PIDS", 5, 5, 4, 1, cell_pids, cmp_pids, 0},
    {"NET RX/TX", 13, 13, 8, 1, cell_net, cmp_net, 0},
    {"UPTIME", 7, 7, 4, 1, cell_uptime, cmp_uptime, 0},
};
const int dash_ncols = (int)(sizeof(dash_cols) / sizeof(dash_cols[0]));

int dash_cols_layout(int width, int *idx, int *w)
{
	int on[32] = {0}, used = 0;
	/* Take columns by priority while they fit (a space between each)... */
	for (int prio = 0; prio <= 9; prio++)
		for (int c = 0; c < dash_ncols; c++)
			if (dash_cols[c].prio == prio && used + dash_cols[c].min + 1 <= width) {
				on[c] = dash_cols[c].min;
				used += dash_cols[c].min + 1;
			}
	/* ...then give what is left to the columns that can grow, in table order. */
	int left = width - used;
	for (int c = 0; c < dash_ncols && left > 0; c++)
		if (on[c] && dash_cols[c].max > on[c]) {
			int grow = dash_cols[c].max - on[c];
			if (grow > left)
				grow = left;
			on[c] += grow;
			left -= grow;
		}
	int n = 0;
	for (int c = 0; c < dash_ncols; c++)
		if (on[c]) {
			idx[n] = c;
			w[n++] = on[c];
		}
	return n;
}

int dash_row_cmp(const struct nk_dash *d, const struct dash_row *a, const struct dash_row *b)
{
	int r = 0;
	if (d->sort_col >= 0 && d->sort_col < dash_ncols && dash_cols[d->sort_col].cmp)
		r = dash_cols[d->sort_col].cmp(a, b);
	if (d->sort_desc)
		r = -r;
	return r ? r : strverscmp(a->info.name, b->info.name);
}
