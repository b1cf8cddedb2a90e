/* A start-up as one bar: each phase a stretch as long as its share of the time, named
 * where the name fits, with the durations listed under it. For the Overview tab and the
 * Compare view. */
#include <stdio.h>
#include <string.h>

#include "tui/dash.h"

#define SEGS (NK_PHASE_COUNT + NK_VM_PHASES)

struct seg {
	const char *name;
	uint64_t ns;
};

/* The stretches that tile the start from its beginning to its last boundary, in the
 * order the boundaries were reached (a container wires its network while it mounts: the
 * bar shows when each ended, the list below how long each took). */
static size_t segments(const struct nk_timeline *t, struct seg *s)
{
	size_t n = 0;
	if (t->vm_count) {
		for (unsigned i = 0; i < t->vm_count && i < NK_VM_PHASES; i++)
			s[n++] = (struct seg){t->vm[i].name, (uint64_t)t->vm[i].us * 1000};
		return n;
	}
	int done[NK_PHASE_COUNT] = {0};
	uint64_t prev = t->start_ns;
	for (;;) {
		int next = -1;
		for (int p = 0; p < NK_PHASE_COUNT; p++)
			if (t->at_ns[p] && !done[p] && (next < 0 || t->at_ns[p] < t->at_ns[next]))
				next = p;
		if (next < 0)
			break;
		done[next] = 1;
		uint64_t at = t->at_ns[next];
		s[n++] = (struct seg){nk_phase_name((enum nk_phase)next), at > prev ? at - prev : 0};
		if (at > prev)
			prev = at;
	}
	return n;
}

static void append(char *buf, size_t size, size_t *used, const char *s)
{
	size_t len = strlen(s);
	if (*used + len < size) {
		memcpy(buf + *used, s, len + 1);
		*used += len;
	}
}

int dash_timeline_lines(const struct nk_dash *d, struct dash_lines *l, const struct nk_timeline *t, int width,
			const char *indent)
{
	struct seg s[SEGS];
	size_t n = segments(t, s);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += s[i].ns;
	if (!n || !total)
		return 0;
	int ind = (int)strlen(indent);
	int bw = width - ind - 2;
	if (bw > 100)
		bw = 100;
	if (bw < 10)
		bw = 10;
	/* Two fills, one phase in each in turn, so neighbours stay apart without colour. */
	const char *fill[2] = {d->utf8 ? "\u2588" : "#", d->utf8 ? "\u2591" : "="};
	char bar[2048];
	size_t used = 0;
	bar[0] = '\0';
	append(bar, sizeof(bar), &used, indent);
	append(bar, sizeof(bar), &used, "[");
	uint64_t cum = 0;
	int x = 0, drawn = 0;
	for (size_t i = 0; i < n; i++) {
		cum += s[i].ns;
		int x1 = (int)((cum * (uint64_t)bw + total / 2) / total);
		int cells = x1 - x;
		int name_len = (int)strlen(s[i].name);
		int c = 0;
		if (cells >= name_len + 1) {
			append(bar, sizeof(bar), &used, s[i].name);
			c = name_len;
		}
		for (; c < cells; c++)
			append(bar, sizeof(bar), &used, fill[drawn % 2]);
		drawn += cells > 0; /* a phase too short for a cell does not break the alternation */
		x = x1;
	}
	append(bar, sizeof(bar), &used, "]");
	dash_lines_add(l, DR_SPARK, "%s", bar);
	/* The list: how long each phase took, wrapped to the width. */
	char line[512];
	size_t lu = 0;
	line[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char item[64];
		uint64_t ns = t->vm_count ? s[i].ns : 0;
		if (!t->vm_count)
			for (int p = 0; p < NK_PHASE_COUNT; p++)
				if (!strcmp(nk_phase_name((enum nk_phase)p), s[i].name))
					ns = nk_timeline_phase_ns(t, (enum nk_phase)p);
		snprintf(item, sizeof(item), "%s %.2f ms", s[i].name, (double)ns / 1e6);
		if (lu && ind + (int)(lu + 2 + strlen(item)) > width) {
			dash_lines_add(l, DR_NORMAL, "%s%s", indent, line);
			lu = 0;
			line[0] = '\0';
		}
		if (lu)
			append(line, sizeof(line), &lu, "  ");
		append(line, sizeof(line), &lu, item);
	}
	if (lu)
		dash_lines_add(l, DR_NORMAL, "%s%s", indent, line);
	return 1;
}

uint64_t dash_timeline_total_ns(const struct nk_timeline *t)
{
	struct seg s[SEGS];
	size_t n = segments(t, s);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += s[i].ns;
	return total;
}
