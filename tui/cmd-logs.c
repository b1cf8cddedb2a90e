/* `nook logs [-f] [-n N] NAME`: print the console log, optionally following it. */
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

/* logs and events: the same options over a different file of the instance. */
int nk_cli_print_instance_file(struct nk_cli *cli, const char *cmd_name, const char *file, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find(cmd_name);
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'}, {"tail", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
	int follow = 0, c;
	long tail = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fn:", longopts, NULL)) != -1) {
		if (c == 'f') {
			follow = 1;
		} else if (c == 'n') {
			char *end;
			tail = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || tail < 0)
				return nk_cli_usage_error(cmd, "invalid line count '%s'", optarg);
		} else {
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return nk_cli_usage_error(cmd, "give exactly one instance NAME");
	if (nk_logs_read_file(&cli->paths, argv[optind], file, tail, follow, to_stdout, NULL, &cli->err) < 0)
		return nk_cli_fail(cli);
	return 0;
}

int nk_cmd_logs(struct nk_cli *cli, int argc, char **argv)
{
	return nk_cli_print_instance_file(cli, "logs", "console.log", argc, argv);
}
