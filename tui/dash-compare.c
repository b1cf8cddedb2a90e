/* The Compare view: `nook compare` (the same workload as a throwaway container and as a VM)
 * run in a child process while the screen stays live, then shown side by side, with each
 * side's start-up as a bar. The last result stays until it is run again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/compare.h"
#include "core/util.h"
#include "tui/dash.h"

#define COMPARE_IMAGE "busybox"

/* What the child sends back: 'R' and the report, or 'E' and the error message. */
static int compare_run(struct nk_dash *d, struct dash_job *j, int out)
{
	(void)j;
	struct nk_compare_report *rep = calloc(1, sizeof(*rep));
	struct nk_err err = {0};
	if (!rep)
		return 1;
	if (nk_compare_run(d->paths, COMPARE_IMAGE, NULL, rep, &err) < 0) {
		(void)!write(out, "E", 1);
		(void)nk_write_all(out, err.msg, strlen(err.msg));
		free(rep);
		return 1;
	}
	int r = nk_write_all(out, "R", 1) < 0 || nk_write_all(out, rep, sizeof(*rep)) < 0;
	free(rep);
	return r;
}

static void compare_done(struct nk_dash *d, struct dash_job *j, int status)
{
	struct dash_compare *c = &d->compare;
	c->job = NULL;
	c->err[0] = '\0';
	if (j->out_len == 1 + sizeof(*c->rep) && j->out[0] == 'R') {
		if (!c->rep)
			c->rep = malloc(sizeof(*c->rep));
		if (c->rep) {
			memcpy(c->rep, j->out + 1, sizeof(*c->rep));
			c->have = 1;
		}
	} else if (j->out_len > 1 && j->out[0] == 'E') {
		snprintf(c->err, sizeof(c->err), "%.*s", (int)(j->out_len - 1), j->out + 1);
	} else {
		snprintf(c->err, sizeof(c->err), "the comparison ended without a result (status %d)", status);
	}
	c->took_s = (double)(nk_now_ns() - c->started_ns) / 1e9;
	if (c->err[0])
		dash_msg(d, 1, "compare: %s", c->err);
	else
		dash_msg(d, 0, "compare: done in %.1f s", c->took_s);
	d->dirty |= DIRTY_BODY;
}

static const struct dash_job_ops compare_ops = {.run = compare_run, .done = compare_done};

static void start(struct nk_dash *d)
{
	struct dash_compare *c = &d->compare;
	if (c->job)
		return;
	c->started_ns = nk_now_ns();
	c->job = dash_job_spawn(d, &compare_ops, NULL, NULL, "compare " COMPARE_IMAGE);
	c->scroll = 0;
	d->dirty |= DIRTY_BODY;
}

static void row(struct dash_lines *l, int role, const char *what, const char *ctr, const char *vm)
{
	dash_lines_add(l, role, "%-28s %-38s %s", what, ctr, vm);
}

static void side_lines(struct nk_dash *d, struct dash_lines *l, const struct nk_compare_report *rep, int width)
{
	const struct nk_compare_side *c = &rep->container, *v = &rep->vm;
	char a[256], b[256];
	dash_lines_add(l, DR_NORMAL, "Image %s, host kernel %s, %d cores. Measured on this machine, just now.",
		       rep->image, rep->host_kernel, rep->host_cpus);
	dash_lines_add(l, DR_NORMAL, "%s", "");
	row(l, DR_HEADER, "", "CONTAINER", "VM");
#define VM(fmt, ...) (v->ran ? (snprintf(b, sizeof(b), fmt, __VA_ARGS__), b) : "-")
	snprintf(a, sizeof(a), "%.2f ms", c->startup_ms);
	row(l, DR_NORMAL, "start-up", a, v->ran ? VM("%.2f ms", v->startup_ms) : "not measured (below)");
	snprintf(a, sizeof(a), "%ld KiB", c->monitor_rss_kib);
	row(l, DR_NORMAL, "memory: monitor / VMM RSS", a, VM("%ld KiB", v->monitor_rss_kib));
	snprintf(a, sizeof(a), "%lld KiB", c->memory_current >= 0 ? c->memory_current / 1024 : -1);
	row(l, DR_NORMAL, "memory: the kernel's count", a, VM("%lld KiB", v->memory_current >= 0 ? v->memory_current / 1024 : -1));
	snprintf(a, sizeof(a), "%s%s", c->kernel, strcmp(c->kernel, rep->host_kernel) ? "" : " (the host's)");
	row(l, DR_NORMAL, "kernel inside (uname -r)", a, VM("%s", v->kernel));
	snprintf(a, sizeof(a), "%ld processes, %ld mounts, %ld interfaces", c->processes, c->mounts, c->net_ifs);
	row(l, DR_NORMAL, "what the workload sees", a, VM("%ld processes, %ld mounts, %ld interfaces", v->processes, v->mounts, v->net_ifs));
	row(l, DR_NORMAL, "the host's kernel log", c->kmsg_readable == 1 ? "readable" : "not readable",
	    v->ran ? "its own kernel's log" : "-");
	row(l, DR_NORMAL, "namespaces shared w/ host", c->ns_shared[0] ? c->ns_shared : "none", "none (a separate kernel)");
	snprintf(a, sizeof(a), "the host kernel, %d seccomp filter(s)", c->seccomp_filters);
	row(l, DR_NORMAL, "system call surface", a, "a separate guest kernel");
	snprintf(a, sizeof(a), "up to %d (the host's cores)", rep->host_cpus);
	row(l, DR_NORMAL, "CPUs", a, "vCPUs, may exceed the host's cores");
#undef VM
	dash_lines_add(l, DR_NORMAL, "%s", "");
	dash_lines_add(l, DR_TITLE, "Container start-up, %.2f ms", c->startup_ms);
	if (!dash_timeline_lines(d, l, &c->timeline, width, "  "))
		dash_lines_add(l, DR_DIM, "%s", "  (no phases recorded)");
	dash_lines_add(l, DR_TITLE, "%s", "VM start-up");
	if (!v->ran || !dash_timeline_lines(d, l, &v->timeline, width, "  ")) {
		/* The reason, wrapped: it is the lesson on a host that cannot boot the guest. */
		const char *p = v->ran ? "no phases recorded" : v->reason[0] ? v->reason : "not measured";
		int room = width - 4 > 20 ? width - 4 : 20;
		while (*p) {
			int len = (int)strlen(p);
			int cut = len <= room ? len : room;
			while (cut < len && cut > room / 2 && p[cut] != ' ')
				cut--;
			dash_lines_add(l, DR_DIM, "  %.*s", cut, p);
			p += cut;
			while (*p == ' ')
				p++;
		}
	}
	/* A VM this machine did start, as its monitor measured it: the nearest real number. */
	for (size_t i = 0; !v->ran && i < d->nrows; i++) {
		const struct nk_instance_info *info = &d->rows[i]->info;
		if (strcmp(info->kind, "vm") || !info->state.timeline.vm_count)
			continue;
		dash_lines_add(l, DR_NORMAL, "  Meanwhile the VM %s on this machine (its own guest kernel) started in %.2f ms:",
			       info->name, (double)dash_timeline_total_ns(&info->state.timeline) / 1e6);
		dash_timeline_lines(d, l, &info->state.timeline, width, "  ");
		break;
	}
	if (c->output[0]) {
		dash_lines_add(l, DR_NORMAL, "%s", "");
		dash_lines_add(l, DR_TITLE, "%s", "The workload's output (container)");
		char out[sizeof(c->output)];
		snprintf(out, sizeof(out), "%s", c->output);
		for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			dash_lines_add(l, DR_NORMAL, "  %s", line);
	}
}

static void compare_draw(struct nk_dash *d, WINDOW *w)
{
	struct dash_compare *c = &d->compare;
	int width = getmaxx(w);
	werase(w);
	struct dash_lines l = {0};
	if (c->job) {
		dash_lines_add(&l, DR_BUSY, "%s Running the comparison: a throwaway %s container, then the VM side... %.0f s",
			       dash_spinner(d), COMPARE_IMAGE, (double)(nk_now_ns() - c->started_ns) / 1e9);
		dash_lines_add(&l, DR_DIM, "%s", "The screen stays live: Esc goes back, the result waits here.");
		if (c->have)
			dash_lines_add(&l, DR_DIM, "%s", "The last result, until the new one is in:");
		dash_lines_add(&l, DR_NORMAL, "%s", "");
	} else if (c->err[0]) {
		dash_lines_add(&l, DR_ERROR, "The comparison failed: %s", c->err);
		dash_lines_add(&l, DR_DIM, "%s", "r runs it again.");
	}
	if (c->have)
		side_lines(d, &l, c->rep, width);
	int save = d->detail.scroll;
	d->detail.scroll = c->scroll;
	dash_lines_draw(d, w, 0, &l);
	c->scroll = d->detail.scroll;
	d->detail.scroll = save;
	dash_lines_free(&l);
}

static void compare_title(struct nk_dash *d, char *buf, size_t size)
{
	struct dash_compare *c = &d->compare;
	if (c->job)
		snprintf(buf, size, "Compare: container vs VM  [running]");
	else if (c->have)
		snprintf(buf, size, "Compare: container vs VM  [result of %.1f s ago]",
			 (double)(nk_now_ns() - c->started_ns) / 1e9 - c->took_s);
	else
		snprintf(buf, size, "Compare: container vs VM");
}

static void act_again(struct nk_dash *d)
{
	start(d);
}

static void act_down(struct nk_dash *d)
{
	d->compare.scroll++;
	d->dirty |= DIRTY_BODY;
}

static void act_up(struct nk_dash *d)
{
	if (d->compare.scroll > 0)
		d->compare.scroll--;
	d->dirty |= DIRTY_BODY;
}

static const struct dash_key compare_keys[] = {
    {{'r'}, "r", act_again, "run again", "run the comparison again (in the background)"},
    {{KEY_DOWN, 'j'}, "j/k", act_down, "scroll", "scroll down"},
    {{KEY_UP, 'k'}, "k/Up", act_up, NULL, "scroll up"},
    {{27, 'q'}, "Esc", dash_act_back, "back", "back (a comparison in flight carries on)"},
    {{0}, NULL, NULL, NULL, NULL},
};

static void compare_tick(struct nk_dash *d)
{
	if (dash_top(d) == &dash_compare_view)
		d->dirty |= DIRTY_HEAD;
}

const struct dash_view_ops dash_compare_view = {
    .name = "the Compare view (container vs VM)",
    .keys = compare_keys,
    .title = compare_title,
    .draw = compare_draw,
    .tick = compare_tick,
};

void dash_act_compare(struct nk_dash *d)
{
	if (dash_top(d) != &dash_compare_view)
		dash_push(d, &dash_compare_view);
	/* The first visit runs it; later ones show the last result (r runs it again). */
	if (!d->compare.have && !d->compare.job)
		start(d);
}

void dash_compare_free(struct nk_dash *d)
{
	free(d->compare.rep);
	d->compare.rep = NULL;
	d->compare.have = 0;
}
