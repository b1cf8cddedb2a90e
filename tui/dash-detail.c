/* The detail view of one instance, in tabs: Overview, Resources (graphs), Isolation (as
 * the kernel reports it), Events (what the dashboard saw happen) and KVM (VMs). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "tui/dash.h"

enum { TAB_OVERVIEW, TAB_RESOURCES, TAB_ISOLATION, TAB_EVENTS, TAB_KVM, TAB_COUNT };
static const char *const tab_names[TAB_COUNT] = {"Overview", "Resources", "Isolation", "Events", "KVM"};

static void local_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t || !localtime_r(&tt, &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void overview(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r)
{
	const struct nk_instance_info *i = &r->info;
	const struct nk_state *s = &i->state;
	struct dash_lines l = {0};
	char state[32], t1[40], t2[40], a[16], b[24];
	int role;
	dash_state_text(r, state, sizeof(state), &role);
	dash_lines_add(&l, DR_NORMAL, "Name        %s", i->name);
	dash_lines_add(&l, DR_NORMAL, "Kind        %s", i->kind);
	dash_lines_add(&l, DR_NORMAL, "Image       %s", i->image);
	dash_lines_add(&l, DR_NORMAL, "Command     %s", i->command[0] ? i->command : "(the image's default)");
	dash_lines_add(&l, DR_NORMAL, "Terminal    %s, stdin %s", i->tty ? "yes (-t): attach gets a console" : "no",
		       i->interactive ? "open (-i)" : "closed");
	dash_lines_add(&l, role, "State       %s%s%s", state, r->busy ? ", now " : "", r->busy ? r->busy_verb : "");
	local_time(s->created_at, t1, sizeof(t1));
	dash_lines_add(&l, DR_NORMAL, "Created     %s", t1);
	local_time(s->started_at, t1, sizeof(t1));
	if (dash_row_live(r)) {
		dash_duration(nk_wall_time_s() - s->started_at, t2, sizeof(t2));
		dash_lines_add(&l, DR_NORMAL, "Started     %s (up %s)", t1, t2);
		dash_lines_add(&l, DR_NORMAL, "Processes   init pid %d, monitor pid %d (host pid namespace)", (int)s->init_pid,
			       (int)s->monitor_pid);
	} else if (s->status == NK_STOPPED) {
		local_time(s->finished_at, t2, sizeof(t2));
		dash_lines_add(&l, DR_NORMAL, "Ran         %s to %s", t1, t2);
		dash_lines_add(&l, s->exit_code ? DR_ERROR : DR_NORMAL, "Exit        code %d (%s)", s->exit_code,
			       s->exit_reason[0] ? s->exit_reason : "exited");
	}
	if (s->timeline.start_ns || s->timeline.vm_count) {
		uint64_t total = dash_timeline_total_ns(&s->timeline);
		if (total)
			dash_lines_add(&l, DR_NORMAL, "Start-up    %.2f ms, phase by phase (%s)", (double)total / 1e6,
				       s->timeline.vm_count ? "the VMM's steps, then the guest's boot as far as it got"
							    : "each stretch ends where that phase ended");
		dash_timeline_lines(d, &l, &s->timeline, getmaxx(w), "            ");
	}
	if (s->oom_kills)
		dash_lines_add(&l, DR_ERROR, "OOM kills   %llu", (unsigned long long)s->oom_kills);
	if (s->error[0])
		dash_lines_add(&l, DR_ERROR, "Last error  %s", s->error);
	dash_lines_add(&l, DR_NORMAL, "%s", "");
	if (r->have_st) {
		const struct nk_stats *st = &r->st;
		if (st->cpu_percent >= 0)
			dash_lines_add(&l, DR_NORMAL, "CPU         %.1f%% of one core (%.1f%% of the host)", st->cpu_percent,
				       st->cpu_host_percent);
		if (st->cg.have & NK_STAT_MEM) {
			dash_human(st->cg.mem_current, a, sizeof(a));
			if (st->cg.mem_limit == NK_UNLIMITED)
				snprintf(b, sizeof(b), "no limit");
			else
				dash_human(st->cg.mem_limit, b, sizeof(b));
			dash_lines_add(&l, DR_NORMAL, "Memory      %s of %s", a, b);
		}
		if (st->cg.have & NK_STAT_PIDS) {
			if (st->cg.pids_limit == NK_UNLIMITED)
				snprintf(b, sizeof(b), "no limit");
			else
				snprintf(b, sizeof(b), "%llu", (unsigned long long)st->cg.pids_limit);
			dash_lines_add(&l, DR_NORMAL, "Processes   %llu (limit: %s)", (unsigned long long)st->cg.pids_current, b);
		}
	}
	if (s->ip[0] && dash_row_live(r))
		dash_lines_add(&l, DR_NORMAL, "IP          %s", s->ip);
	else
		dash_lines_add(&l, DR_DIM, "IP          - (no address: network none or host, or not running)");
	if (r->have_st && r->st.have_net && r->st.net_rx_rate >= 0) {
		dash_human((uint64_t)r->st.net_rx_rate, a, sizeof(a));
		dash_human((uint64_t)r->st.net_tx_rate, b, sizeof(b));
		dash_lines_add(&l, DR_NORMAL, "Network     received %s/s, sent %s/s (%llu and %llu bytes in all)", a, b,
			       (unsigned long long)r->st.net_rx_bytes, (unsigned long long)r->st.net_tx_bytes);
	}
	dash_lines_add(&l, DR_NORMAL, "%s", "");
	dash_lines_add(&l, DR_DIM, "%s", "s start/stop  p pause  r restart  d delete  a attach  e shell  l logs");
	dash_lines_draw(d, w, y0, &l);
	dash_lines_free(&l);
}

static void detail_draw(struct nk_dash *d, WINDOW *w)
{
	int width = getmaxx(w);
	werase(w);
	int x = 0;
	for (int t = 0; t < TAB_COUNT; t++) {
		char label[32];
		snprintf(label, sizeof(label), " %d %s ", t + 1, tab_names[t]);
		int lw = dash_text_width(label);
		if (x + lw > width)
			break;
		dash_put(d, w, 0, x, label, lw, t == d->detail.tab ? A_REVERSE | A_BOLD : dash_attr(d, DR_TITLE));
		x += lw + 1;
	}
	const struct dash_row *r = dash_row_find(d, d->detail.name);
	if (!r) {
		dash_put(d, w, 2, 1, "This instance is gone (deleted). Esc goes back.", width - 1, dash_attr(d, DR_DIM));
		return;
	}
	switch (d->detail.tab) {
	case TAB_OVERVIEW:
		overview(d, w, 2, r);
		break;
	case TAB_RESOURCES:
		dash_detail_tab_resources(d, w, 2, r);
		break;
	case TAB_ISOLATION:
		dash_detail_tab_isolation(d, w, 2, r);
		break;
	case TAB_KVM:
		dash_detail_tab_kvm(d, w, 2, r);
		break;
	default:
		dash_detail_tab_events(d, w, 2, r);
	}
}

static void detail_title(struct nk_dash *d, char *buf, size_t size)
{
	snprintf(buf, size, "Instance %s  [%s]", d->detail.name, tab_names[d->detail.tab]);
}

static void load_isolation(struct nk_dash *d)
{
	struct dash_detail *dt = &d->detail;
	if (dt->have_iso)
		nk_isolation_free(&dt->iso);
	struct nk_err err;
	dt->iso_age = 0;
	dt->have_iso = nk_isolation_read(d->paths, dt->name, &dt->iso, &err) == 0;
	if (!dt->have_iso)
		dash_copy(dt->iso_err, sizeof(dt->iso_err), err.msg);
}

static void set_tab(struct nk_dash *d, int tab)
{
	d->detail.tab = (tab + TAB_COUNT) % TAB_COUNT;
	d->detail.scroll = 0;
	d->detail.kvm_prev_ns = 0; /* rates start over on this tab */
	if (d->detail.tab == TAB_ISOLATION)
		load_isolation(d);
	/* The events feed is followed only while someone looks at it. */
	if (d->detail.tab == TAB_EVENTS)
		dash_feed_open(d);
	else
		dash_feed_close(d);
	d->dirty |= DIRTY_BODY | DIRTY_HEAD;
}

static void detail_tick(struct nk_dash *d)
{
	/* Facts can change (a process exits, a mount appears): keep them fresh but cheap. */
	if (dash_top(d) == &dash_detail_view && d->detail.tab == TAB_ISOLATION && ++d->detail.iso_age >= 3)
		load_isolation(d);
	/* KVM's counters move every second: sample them (one request to the monitor) each tick. */
	if (dash_top(d) == &dash_detail_view && d->detail.tab == TAB_KVM)
		d->dirty |= DIRTY_BODY;
}

static void detail_leave(struct nk_dash *d)
{
	dash_feed_close(d);
	if (d->detail.have_iso)
		nk_isolation_free(&d->detail.iso);
	d->detail.have_iso = 0;
}

static void act_next_tab(struct nk_dash *d)
{
	set_tab(d, d->detail.tab + 1);
}

static void act_prev_tab(struct nk_dash *d)
{
	set_tab(d, d->detail.tab - 1);
}

static void act_tab1(struct nk_dash *d)
{
	set_tab(d, 0);
}

static void act_tab2(struct nk_dash *d)
{
	set_tab(d, 1);
}

static void act_tab3(struct nk_dash *d)
{
	set_tab(d, 2);
}

static void act_tab4(struct nk_dash *d)
{
	set_tab(d, 3);
}

static void act_tab5(struct nk_dash *d)
{
	set_tab(d, 4);
}

static void act_down(struct nk_dash *d)
{
	d->detail.scroll++;
	d->dirty |= DIRTY_BODY;
}

static void act_up(struct nk_dash *d)
{
	if (d->detail.scroll > 0)
		d->detail.scroll--;
	d->dirty |= DIRTY_BODY;
}

static const struct dash_key detail_keys[] = {
    {{'\t', KEY_RIGHT}, "Tab", act_next_tab, "next tab", "next tab"},
    {{KEY_BTAB, KEY_LEFT}, "S-Tab", act_prev_tab, NULL, "previous tab"},
    {{'1'}, "1", act_tab1, NULL, "Overview"},
    {{'2'}, "2", act_tab2, NULL, "Resources: CPU, memory, processes and IO over time"},
    {{'3'}, "3", act_tab3, NULL, "Isolation: namespaces, capabilities, seccomp, limits, mounts"},
    {{'4'}, "4", act_tab4, NULL, "Events"},
    {{'5'}, "5", act_tab5, NULL, "KVM: a VM's exits by reason, per vCPU, and their rates"},
    {{KEY_DOWN, 'j'}, "j/k", act_down, "scroll", "scroll down"},
    {{KEY_UP, 'k'}, "k/Up", act_up, NULL, "scroll up"},
    {{'s'}, "s", dash_act_startstop, "start/stop", "start or stop it"},
    {{'p'}, "p", dash_act_pause, "pause", "pause or resume it"},
    {{'r'}, "r", dash_act_restart, NULL, "restart it"},
    {{'d'}, "d", dash_act_delete, NULL, "delete it (asks first)"},
    {{'a'}, "a", dash_act_attach, "attach", "attach to its console (Ctrl-P Ctrl-Q comes back)"},
    {{'e'}, "e", dash_act_exec, "exec", "a shell inside it"},
    {{'l'}, "l", dash_act_logs, "logs", "its console log"},
    {{27, 'q'}, "Esc", dash_act_back, "back", "back to the list"},
    {{0}, NULL, NULL, NULL, NULL},
};

static void detail_mouse(struct nk_dash *d, const MEVENT *ev, int y, int x)
{
	if (ev->bstate & BUTTON4_PRESSED) {
		act_up(d);
		return;
	}
	if (ev->bstate & BUTTON5_PRESSED) {
		act_down(d);
		return;
	}
	if (y != 0 || !(ev->bstate & BUTTON1_PRESSED))
		return;
	for (int t = 0, tx = 0; t < TAB_COUNT; t++) {
		int lw = (int)strlen(tab_names[t]) + 4;
		if (x >= tx && x < tx + lw) {
			set_tab(d, t);
			return;
		}
		tx += lw + 1;
	}
}

const struct dash_view_ops dash_detail_view = {
    .name = "the detail view",
    .keys = detail_keys,
    .title = detail_title,
    .draw = detail_draw,
    .mouse = detail_mouse,
    .tick = detail_tick,
    .leave = detail_leave,
};

void dash_act_detail(struct nk_dash *d)
{
	struct dash_row *r = dash_row_selected(d);
	if (!r)
		return;
	memset(&d->detail, 0, sizeof(d->detail));
	snprintf(d->detail.name, sizeof(d->detail.name), "%s", r->info.name);
	dash_push(d, &dash_detail_view);
}
