/* `nook restart [-t SECS] NAME...`: stop if running, then start in the background. */
#include <getopt.h>
#include <stdio.h>

#include "core/instance.h"
#include "tui/cmd.h"

int nk_cmd_restart(struct nk_cli *cli, int argc, char **argv)
{
	int grace;
	if (nk_cli_parse_grace(nk_cmd_find("restart"), argc, argv, &grace) < 0)
		return NK_EXIT_FAILURE;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct nk_instance_info info;
		if (nk_inst_get(&cli->paths, argv[i], &info, &cli->err) < 0 ||
		    ((info.state.status == NK_RUNNING || info.state.status == NK_PAUSED) &&
		     nk_inst_stop(&cli->paths, argv[i], grace, &cli->err) < 0) ||
		    nk_inst_start(&cli->paths, argv[i], 0, NULL, &cli->err) < 0) {
			status = nk_cli_fail(cli);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return status;
}
