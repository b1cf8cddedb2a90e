/* `nook drill [--profile NAME] [--json] IMAGE|NAME`: escape attempts, and which layer stopped
 * each, in a throwaway sandbox of IMAGE or inside the running container NAME. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/drill.h"
#include "tui/cmd.h"

static void print_table(const struct nk_drill_report *rep)
{
	if (rep->live)
		printf("drill inside the running instance %s (%s), ", rep->instance, rep->image);
	else
		printf("drill in a throwaway %s sandbox, ", rep->image);
	printf("profile %s (seccomp %s, pids %llu, memory %llu MiB)\n", rep->profile,
	       !rep->ctx.seccomp ? "off" : rep->ctx.seccomp_feed ? "on, live feed" : "on",
	       (unsigned long long)rep->ctx.pids_limit, (unsigned long long)(rep->ctx.memory_limit >> 20));
	printf("%-3s %-15s %-18s %-16s %s\n", "#", "ATTEMPT", "OUTCOME", "LAYER", "WHY");
	for (size_t i = 0; i < rep->count; i++) {
		const struct nk_drill_row *r = &rep->rows[i];
		printf("%-3d %-15s %-18s %-16s %s\n", r->seq, r->name, r->outcome, nk_drill_layer_name(r->layer), r->why);
	}
}

int nk_cmd_drill(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("drill");
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, 'P'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct nk_drill_opts opts = {0};
	int json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			opts.profile = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return nk_cli_usage_error(cmd, "one IMAGE or running instance NAME is needed (try busybox)");
	opts.image = argv[optind];
	struct nk_drill_report *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return nk_cli_usage_error(cmd, "out of memory");
	int r = nk_drill_run(&cli->paths, &opts, rep, &cli->err);
	if (r < 0) {
		free(rep);
		return nk_cli_fail(cli);
	}
	if (json) {
		char *text = nk_drill_to_json(rep);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else {
		print_table(rep);
	}
	free(rep);
	return 0;
}
