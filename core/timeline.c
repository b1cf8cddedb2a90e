/* Start-up phases, measured at their boundaries. */
#include "timeline.h"

#include <stdio.h>
#include <string.h>

static const char *const names[NK_PHASE_COUNT] = {
    [NK_PHASE_CGROUP] = "cgroup", [NK_PHASE_CLONE] = "clone",   [NK_PHASE_NETWORK] = "network",
    [NK_PHASE_MOUNTS] = "mounts", [NK_PHASE_PIVOT] = "pivot_root", [NK_PHASE_CAPS] = "capabilities",
    [NK_PHASE_SECCOMP] = "seccomp", [NK_PHASE_EXEC] = "exec",
};

const char *nk_phase_name(enum nk_phase p)
{
	return (unsigned)p < NK_PHASE_COUNT ? names[p] : "?";
}

/* Where each phase starts: network and mounts run side by side from the clone (the monitor
 * wires the network while the child builds its root); the command starts after both. */
static uint64_t phase_begin(const struct nk_timeline *t, enum nk_phase p)
{
	switch (p) {
	case NK_PHASE_CGROUP:
		return t->start_ns;
	case NK_PHASE_NETWORK:
	case NK_PHASE_MOUNTS:
		return t->at_ns[NK_PHASE_CLONE];
	case NK_PHASE_CAPS:
		return t->at_ns[NK_PHASE_PIVOT] > t->at_ns[NK_PHASE_NETWORK] ? t->at_ns[NK_PHASE_PIVOT]
										 : t->at_ns[NK_PHASE_NETWORK];
	default:
		return t->at_ns[p - 1];
	}
}

uint64_t nk_timeline_phase_ns(const struct nk_timeline *t, enum nk_phase p)
{
	if ((unsigned)p >= NK_PHASE_COUNT || !t->at_ns[p])
		return 0;
	uint64_t begin = phase_begin(t, p);
	return begin && t->at_ns[p] > begin ? t->at_ns[p] - begin : 0;
}

void nk_timeline_format(const struct nk_timeline *t, char *buf, size_t size)
{
	size_t used = 0;
	uint64_t last = t->start_ns;
	buf[0] = '\0';
	if (t->vm_count) {
		uint64_t total = 0;
		for (unsigned i = 0; i < t->vm_count && i < NK_VM_PHASES && used < size; i++) {
			int w = snprintf(buf + used, size - used, "%s%s %.2f ms", used ? ", " : "", t->vm[i].name,
					 (double)t->vm[i].us / 1000);
			if (w < 0)
				return;
			used += (size_t)w;
			total += t->vm[i].us;
		}
		/* Until the guest's own boundaries arrive, the total is only the VMM's part. */
		if (used < size)
			snprintf(buf + used, size - used, ", total %.2f ms%s", (double)total / 1000,
				 nk_timeline_vm_phase_us(t, "first-instruction") < 0 ? " (then the guest boots)" : "");
		return;
	}
	for (int p = 0; p < NK_PHASE_COUNT && used < size; p++) {
		if (!t->at_ns[p])
			continue;
		int w = snprintf(buf + used, size - used, "%s%s %.2f ms", used ? ", " : "", names[p],
				 (double)nk_timeline_phase_ns(t, (enum nk_phase)p) / 1e6);
		if (w < 0)
			return;
		used += (size_t)w;
		if (t->at_ns[p] > last)
			last = t->at_ns[p];
	}
	if (used < size)
		snprintf(buf + used, size - used, "%stotal %.2f ms", used ? ", " : "",
			 (double)(last - t->start_ns) / 1e6);
}

int64_t nk_timeline_vm_phase_us(const struct nk_timeline *t, const char *name)
{
	for (unsigned i = 0; i < t->vm_count && i < NK_VM_PHASES; i++)
		if (!strcmp(t->vm[i].name, name))
			return t->vm[i].us;
	return -1;
}
