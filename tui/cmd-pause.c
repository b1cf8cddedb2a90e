/* `nook pause NAME...` and `nook resume NAME...`: the cgroup freezer. */
#include <stdio.h>

#include "core/instance.h"
#include "tui/cmd.h"

static int pause_or_resume(struct nk_cli *cli, const char *cmd_name, int paused, int argc, char **argv)
{
	if (argc < 2)
		return nk_cli_usage_error(nk_cmd_find(cmd_name), "which instance? give a NAME");
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return nk_cli_usage_error(nk_cmd_find(cmd_name), "unknown option '%s'", argv[i]);
		if (nk_inst_pause(&cli->paths, argv[i], paused, &cli->err) < 0)
			status = nk_cli_fail(cli);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}

int nk_cmd_pause(struct nk_cli *cli, int argc, char **argv)
{
	return pause_or_resume(cli, "pause", 1, argc, argv);
}

int nk_cmd_resume(struct nk_cli *cli, int argc, char **argv)
{
	return pause_or_resume(cli, "resume", 0, argc, argv);
}
