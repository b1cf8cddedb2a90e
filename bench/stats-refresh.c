/* Cost of one stats refresh: sample every running instance ROUNDS times and report the
 * time per instance. Built and driven by bench/stats.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/instance.h"
#include "core/stats.h"
#include "core/util.h"

#define MAX 1024

static struct nk_stats_sampler samplers[MAX];
static int count;
static struct nk_paths paths;

static void add(const struct nk_instance_info *info, void *opaque)
{
	(void)opaque;
	struct nk_err err;
	if (count < MAX && info->state.status == NK_RUNNING &&
	    nk_stats_open(&paths, info->name, &samplers[count], &err) == 0)
		count++;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 100;
	struct nk_err err;
	if (nk_paths_init(&paths, &err) < 0 || nk_inst_list(&paths, add, NULL, &err) < 0) {
		fprintf(stderr, "stats-refresh: %s\n", err.msg);
		return 1;
	}
	if (count == 0) {
		fprintf(stderr, "stats-refresh: no running instances\n");
		return 1;
	}
	struct nk_stats st;
	double checksum = 0;
	uint64_t t0 = nk_now_ns();
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < count; i++) {
			nk_stats_sample(&samplers[i], &st);
			checksum += (double)st.cg.mem_current;
		}
	uint64_t ns = nk_now_ns() - t0;
	if (rounds > 0)
		printf("instances %d rounds %d: %.1f us per instance per refresh (%.2f ms per refresh)\n", count, rounds,
	       (double)ns / 1000.0 / rounds / count, (double)ns / 1e6 / rounds);
	for (int i = 0; i < count; i++)
		nk_stats_close(&samplers[i]);
	return checksum < 0;
}
