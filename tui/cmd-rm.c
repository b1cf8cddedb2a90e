/* `nook rm [-f] NAME...`: remove instances and everything they left. */
#include <getopt.h>
#include <stdio.h>

#include "core/instance.h"
#include "tui/cmd.h"

int nk_cmd_rm(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("rm");
	static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	int force = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
		if (c != 'f')
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		force = 1;
	}
	if (optind >= argc)
		return nk_cli_usage_error(cmd, "which instance? give a NAME");
	int status = 0;
	for (int i = optind; i < argc; i++) {
		if (nk_inst_remove(&cli->paths, argv[i], force, &cli->err) < 0)
			status = nk_cli_fail(cli);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}
