/* `nook events [-f] [-n N] NAME`: what happened to an instance: denied system calls (teach
 * mode), OOM kills, exits; one JSON object per line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/logs.h"
#include "core/util.h"
#include "tui/cmd.h"

static int to_stdout(const char *buf, size_t len, void *opaque)
{
	(void)opaque;
	return nk_write_all(1, buf, len);
}

int nk_cmd_events(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("events");
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'}, {"tail", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
	int follow = 0, c;
	long tail = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fn:", longopts, NULL)) != -1) {
		char *end;
		if (c == 'f') {
			follow = 1;
		} else if (c == 'n' && (tail = strtol(optarg, &end, 10)) >= 0 && *optarg && !*end) {
			continue;
		} else {
			return nk_cli_usage_error(cmd, "bad option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return nk_cli_usage_error(cmd, "give exactly one instance NAME");
	if (nk_logs_read_file(&cli->paths, argv[optind], "events.log", tail, follow, to_stdout, NULL, &cli->err) < 0)
		return nk_cli_fail(cli);
	return 0;
}
