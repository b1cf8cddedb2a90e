/* `nook stop [-t SECS] NAME...`: SIGTERM, SIGKILL after the grace time. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/instance.h"
#include "tui/cmd.h"

/* Parse -t SECS for stop and restart; returns -1 after printing a usage error. */
int nk_cli_parse_grace(const struct nk_cmd *cmd, int argc, char **argv, int *grace)
{
	static const struct option longopts[] = {{"time", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
	int c;
	*grace = 10;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+t:", longopts, NULL)) != -1) {
		char *end;
		long v = c == 't' ? strtol(optarg, &end, 10) : -1;
		if (c != 't') {
			nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
		if (*optarg == '\0' || *end || v < 0 || v > 86400) {
			nk_cli_usage_error(cmd, "invalid grace time '%s': give seconds from 0 to 86400", optarg);
			return -1;
		}
		*grace = (int)v;
	}
	if (optind >= argc) {
		nk_cli_usage_error(cmd, "which instance? give a NAME");
		return -1;
	}
	return 0;
}

int nk_cmd_stop(struct nk_cli *cli, int argc, char **argv)
{
	int grace;
	if (nk_cli_parse_grace(nk_cmd_find("stop"), argc, argv, &grace) < 0)
		return NK_EXIT_FAILURE;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		if (nk_inst_stop(&cli->paths, argv[i], grace, &cli->err) < 0)
			status = nk_cli_fail(cli);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}
