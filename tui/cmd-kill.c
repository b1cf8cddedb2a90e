/* `nook kill [-s SIG] NAME...`: deliver a signal to the instance's command. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "core/instance.h"
#include "core/parse.h"
#include "tui/cmd.h"

int nk_cmd_kill(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("kill");
	static const struct option longopts[] = {{"signal", required_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
	int sig = SIGKILL, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:", longopts, NULL)) != -1) {
		if (c != 's')
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		if (nk_signal_parse(optarg, &sig, &cli->err) < 0)
			return nk_cli_fail(cli);
	}
	if (optind >= argc)
		return nk_cli_usage_error(cmd, "which instance? give a NAME");
	int status = 0;
	for (int i = optind; i < argc; i++) {
		if (nk_inst_kill(&cli->paths, argv[i], sig, &cli->err) < 0)
			status = nk_cli_fail(cli);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}
