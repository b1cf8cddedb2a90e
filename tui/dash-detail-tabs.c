/* The detail view's Resources tab (graphs of the last minutes) and Isolation tab (the
 * namespaces, capabilities, no_new_privs, seccomp, limits and mounts the kernel reports). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "tui/dash.h"

static double series_max(const float *h, const struct dash_row *r, int width)
{
	double m = 0;
	for (int a = 0; a < width; a++)
		if (dash_hist_at(h, r, (unsigned)a) > m)
			m = dash_hist_at(h, r, (unsigned)a);
	return m;
}

static int graph(struct nk_dash *d, WINDOW *w, int y, int gh, const char *title, const float *h,
		 const struct dash_row *r, double top, enum dash_role role)
{
	int width = getmaxx(w);
	dash_put(d, w, y, 0, title, width, dash_attr(d, DR_TITLE));
	dash_graph(d, w, y + 1, 0, gh, width, h, r, top, dash_attr(d, role));
	return y + 1 + gh;
}

void dash_detail_tab_resources(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r)
{
	int rows = getmaxy(w) - y0, width = getmaxx(w);
	int graphs = r->have_st && r->st.have_net ? 5 : 4;
	int gh = rows / graphs - 1;
	if (gh < 1) {
		dash_put(d, w, y0, 0, "Too little room for graphs: make the terminal taller.", width, dash_attr(d, DR_DIM));
		return;
	}
	if (!r->hist_len) {
		dash_put(d, w, y0, 0, "No samples yet: graphs appear once the instance runs.", width, dash_attr(d, DR_DIM));
		return;
	}
	char t[200], a[16], b[16];
	const struct nk_stats *st = &r->st;
	float now;
	int secs = width < DASH_HIST ? width : DASH_HIST;

	double top = series_max(r->cpu, r, secs);
	now = dash_hist_at(r->cpu, r, 0);
	snprintf(t, sizeof(t), "CPU %% of one core: now %.1f, peak %.1f (last %d s)", now < 0 ? 0 : now, top, secs);
	int y = graph(d, w, y0, gh, t, r->cpu, r, top > 100 ? top : 100, DR_SPARK);

	int limited = r->have_st && (st->cg.have & NK_STAT_MEM) && st->cg.mem_limit != NK_UNLIMITED;
	top = limited ? (double)st->cg.mem_limit : series_max(r->mem, r, secs) * 1.25;
	now = dash_hist_at(r->mem, r, 0);
	dash_human(now > 0 ? (uint64_t)now : 0, a, sizeof(a));
	if (limited)
		dash_human(st->cg.mem_limit, b, sizeof(b));
	snprintf(t, sizeof(t), "Memory: now %s, graph top %s", a, limited ? b : "the peak (no limit)");
	y = graph(d, w, y, gh, t, r->mem, r, top, DR_RUNNING);

	limited = r->have_st && (st->cg.have & NK_STAT_PIDS) && st->cg.pids_limit != NK_UNLIMITED;
	top = limited ? (double)st->cg.pids_limit : series_max(r->pids, r, secs) * 1.25 + 1;
	now = dash_hist_at(r->pids, r, 0);
	snprintf(t, sizeof(t), "Processes: now %.0f%s", now < 0 ? 0 : now, limited ? " (graph top: the limit)" : "");
	y = graph(d, w, y, gh, t, r->pids, r, top, DR_CREATED);

	top = series_max(r->io, r, secs);
	now = dash_hist_at(r->io, r, 0);
	dash_human(now > 0 ? (uint64_t)now : 0, a, sizeof(a));
	dash_human((uint64_t)top, b, sizeof(b));
	snprintf(t, sizeof(t), "Disk IO (read + write): now %s/s, peak %s/s", a, b);
	y = graph(d, w, y, gh, t, r->io, r, top, DR_PAUSED);

	if (graphs == 5) {
		top = series_max(r->net, r, secs);
		now = dash_hist_at(r->net, r, 0);
		dash_human(now > 0 ? (uint64_t)now : 0, a, sizeof(a));
		dash_human((uint64_t)top, b, sizeof(b));
		snprintf(t, sizeof(t), "Network (received + sent): now %s/s, peak %s/s", a, b);
		graph(d, w, y, gh, t, r->net, r, top, DR_TAG);
	}
}

/* A long comma-separated list, wrapped under an indent. */
static void wrapped(struct dash_lines *l, const char *label, const char *list, int width)
{
	char line[512];
	int room = width - 14 > 20 ? width - 14 : 20;
	size_t used = 0;
	const char *p = list;
	int first = 1;
	line[0] = '\0';
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (used && (int)(used + n + 2) > room) {
			dash_lines_add(l, DR_NORMAL, "  %-10s  %s", first ? label : "", line);
			first = 0;
			used = 0;
			line[0] = '\0';
		}
		if (used + n + 3 < sizeof(line))
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%.*s", used ? ", " : "", (int)n, p);
		p += n + (comma != NULL);
	}
	dash_lines_add(l, DR_NORMAL, "  %-10s  %s", first ? label : "", used ? line : "none");
}

static void caps_list(uint64_t mask, char *buf, size_t size)
{
	if (!mask) {
		snprintf(buf, size, "none");
		return;
	}
	nk_caps_format(mask, buf, size);
}

static int popcount64(uint64_t v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

static void limit_text(uint64_t v, char *buf, size_t size)
{
	if (!v || v == NK_UNLIMITED)
		snprintf(buf, size, "none");
	else
		dash_human(v, buf, size);
}

void dash_detail_tab_isolation(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r)
{
	(void)r;
	int width = getmaxx(w);
	const struct dash_detail *dt = &d->detail;
	if (!dt->have_iso) {
		dash_put(d, w, y0, 0, dt->iso_err[0] ? dt->iso_err : "Not known yet.", width, dash_attr(d, DR_DIM));
		return;
	}
	const struct nk_isolation *iso = &dt->iso;
	struct dash_lines l = {0};
	char buf[2048];
	int nns = 0, own_ns = 0;
	for (int i = 0; i < NK_NS_COUNT; i++) {
		nns += iso->ns[i].inode || iso->ns[i].host_inode;
		own_ns += iso->ns[i].inode && iso->ns[i].host_inode && iso->ns[i].inode != iso->ns[i].host_inode;
	}
	/* The whole story on one line first; the evidence follows. */
	dash_lines_add(&l, DR_TITLE, "In short: %d of %d namespaces its own, %d capabilities, NoNewPrivs %s, seccomp %s",
		       own_ns, nns, popcount64(iso->cap_eff), iso->no_new_privs == 1 ? "yes" : "no",
		       iso->seccomp_mode == 2 ? "filter" : iso->seccomp_mode == 1 ? "strict" : "off");
	dash_lines_add(&l, DR_NORMAL, "Process     pid %d (%s), uid %u as the host sees it", (int)iso->pid, iso->comm,
		       (unsigned)iso->uid);
	dash_lines_add(&l, DR_TITLE, "%s", "Namespaces  instance    host        (a different inode: its own namespace)");
	for (int i = 0; i < NK_NS_COUNT; i++) {
		const struct nk_ns_fact *n = &iso->ns[i];
		if (!n->inode && !n->host_inode)
			continue; /* this kernel has no such namespace */
		int own = n->inode && n->host_inode && n->inode != n->host_inode;
		dash_lines_add(&l, own ? DR_OK : DR_NORMAL, "  %-8s  %-10llu  %-10llu  %s", n->name,
			       (unsigned long long)n->inode, (unsigned long long)n->host_inode,
			       own ? "isolated" : n->host_inode ? "shared with the host" : "unknown");
	}
	if (iso->have_caps) {
		int last = nk_cap_last();
		uint64_t all = last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;
		dash_lines_add(&l, DR_TITLE, "Capabilities  %d of %d effective, %d in the bounding set", popcount64(iso->cap_eff),
			       last + 1, popcount64(iso->cap_bnd));
		caps_list(iso->cap_eff, buf, sizeof(buf));
		wrapped(&l, "effective", buf, width);
		caps_list(all & ~iso->cap_bnd, buf, sizeof(buf));
		wrapped(&l, "dropped", buf, width);
		caps_list(iso->cap_amb, buf, sizeof(buf));
		wrapped(&l, "ambient", buf, width);
	}
	dash_lines_add(&l, iso->no_new_privs == 1 ? DR_OK : DR_ERROR, "NoNewPrivs  %s",
		       iso->no_new_privs == 1   ? "yes: setuid programs cannot gain privileges"
		       : iso->no_new_privs == 0 ? "no: a setuid program could gain privileges"
						: "unknown (an old kernel)");
	if (iso->seccomp_mode == 2)
		dash_lines_add(&l, DR_OK, "Seccomp     filter (mode 2, %d filter%s): system calls are checked", iso->seccomp_filters,
			       iso->seccomp_filters == 1 ? "" : "s");
	else if (iso->seccomp_mode == 1)
		dash_lines_add(&l, DR_OK, "%s", "Seccomp     strict (mode 1): read, write, exit and sigreturn only");
	else
		dash_lines_add(&l, DR_ERROR, "Seccomp     %s", iso->seccomp_mode == 0 ? "off (mode 0): every system call is allowed"
											: "unknown");
	char mem[16], cpus[32], pids[32];
	limit_text(iso->limits.memory, mem, sizeof(mem));
	if (iso->limits.cpu_quota_us)
		snprintf(cpus, sizeof(cpus), "%.2f", (double)iso->limits.cpu_quota_us / NK_CPU_PERIOD_US);
	else
		snprintf(cpus, sizeof(cpus), "none");
	if (iso->limits.pids && iso->limits.pids != NK_UNLIMITED)
		snprintf(pids, sizeof(pids), "%llu", (unsigned long long)iso->limits.pids);
	else
		snprintf(pids, sizeof(pids), "none");
	dash_lines_add(&l, DR_TITLE, "Cgroup      %s", iso->cgroup[0] ? iso->cgroup : "-");
	dash_lines_add(&l, DR_NORMAL, "  limits    memory %s, cpus %s, pids %s, cpuset %s", mem, cpus, pids,
		       iso->limits.cpuset[0] ? iso->limits.cpuset : "all");
	dash_lines_add(&l, DR_TITLE, "Mounts      %zu, as the instance sees them", iso->mount_count);
	for (size_t i = 0; i < iso->mount_count; i++) {
		const struct nk_mount_fact *m = &iso->mounts[i];
		dash_lines_add(&l, DR_NORMAL, "  %-22s %-9s %s", m->target,
			       m->fstype, m->options);
	}
	dash_lines_draw(d, w, y0, &l);
	dash_lines_free(&l);
}
