/* The detail view's KVM tab: a VM's exits by reason, per vCPU, with their rates, as KVM's
 * own counters report them (through the monitor). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/instance.h"
#include "core/util.h"
#include "tui/dash.h"

/* The reasons a vCPU leaves guest mode that tell the most, in KVM's names. */
static const char *const counters[DASH_KVM_COUNTERS] = {
    "exits",      "io_exits",     "mmio_exits",       "halt_exits",     "irq_exits",  "signal_exits",
    "irq_window_exits", "insn_emulation", "insn_emulation_fail", "hypercalls", "halt_wakeup", "host_state_reload",
};

static uint64_t counter(json_object *vcpu, const char *name)
{
	json_object *v;
	return json_object_object_get_ex(vcpu, name, &v) ? json_object_get_uint64(v) : 0;
}

void dash_detail_tab_kvm(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r)
{
	struct dash_lines l = {0};
	if (strcmp(r->info.kind, "vm") != 0) {
		dash_lines_add(&l, DR_DIM, "%s", "A container has no KVM counters: it runs on the host's own kernel.");
		dash_lines_add(&l, DR_DIM, "%s", "Its isolation is namespaces, capabilities and seccomp (tab 3).");
		dash_lines_draw(d, w, y0, &l);
		return;
	}
	char *text = NULL;
	struct nk_err err;
	if (!dash_row_live(r) || nk_inst_kvm_stats(d->paths, r->info.name, &text, &err) < 0) {
		dash_lines_add(&l, DR_DIM, "%s", dash_row_live(r) ? err.msg : "The VM is not running: no counters.");
		dash_lines_draw(d, w, y0, &l);
		return;
	}
	json_object *o = json_tokener_parse(text), *per = NULL;
	free(text);
	if (!o || !json_object_object_get_ex(o, "vcpu", &per)) {
		json_object_put(o);
		dash_lines_add(&l, DR_ERROR, "%s", "The monitor's answer could not be read.");
		dash_lines_draw(d, w, y0, &l);
		return;
	}
	size_t vcpus = json_object_array_length(per);
	size_t shown = vcpus < DASH_KVM_VCPUS ? vcpus : DASH_KVM_VCPUS;
	uint64_t now = nk_now_ns();
	double secs = d->detail.kvm_prev_ns && now > d->detail.kvm_prev_ns ? (double)(now - d->detail.kvm_prev_ns) / 1e9 : 0;
	dash_lines_add(&l, DR_TITLE, "%zu vCPU%s: why each one left the guest (total, and per second since the last look)",
		       vcpus, vcpus == 1 ? "" : "s");
	char line[512];
	size_t used = (size_t)snprintf(line, sizeof(line), "%-20s", "reason");
	for (size_t c = 0; c < shown; c++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "  vCPU %-15zu", c);
	dash_lines_add(&l, DR_TITLE, "%s", line);
	for (int k = 0; k < DASH_KVM_COUNTERS; k++) {
		used = (size_t)snprintf(line, sizeof(line), "%-20s", counters[k]);
		for (size_t c = 0; c < shown && used < sizeof(line); c++) {
			uint64_t v = counter(json_object_array_get_idx(per, c), counters[k]);
			uint64_t prev = d->detail.kvm_prev[k][c];
			if (secs > 0 && v >= prev)
				used += (size_t)snprintf(line + used, sizeof(line) - used, "  %10llu %8.0f/s",
							 (unsigned long long)v, (double)(v - prev) / secs);
			else
				used += (size_t)snprintf(line + used, sizeof(line) - used, "  %10llu %10s",
							 (unsigned long long)v, "");
			d->detail.kvm_prev[k][c] = v;
		}
		dash_lines_add(&l, DR_NORMAL, "%s", line);
	}
	d->detail.kvm_prev_ns = now;
	if (vcpus > shown)
		dash_lines_add(&l, DR_DIM, "(%zu more vCPUs: `nook inspect %s` has them all)", vcpus - shown, r->info.name);
	json_object_put(o);
	dash_lines_draw(d, w, y0, &l);
}
