/* `nook start [-a] NAME`: start under a new monitor, optionally attached. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/ctl.h"
#include "core/instance.h"
#include "tui/cmd.h"

int nk_cmd_start(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("start");
	static const struct option longopts[] = {{"attach", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	int attach = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+a", longopts, NULL)) != -1) {
		if (c != 'a')
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		attach = 1;
	}
	if (optind >= argc)
		return nk_cli_usage_error(cmd, "which instance? give a NAME");
	if (attach && argc - optind > 1)
		return nk_cli_usage_error(cmd, "-a takes one instance");
	int status = 0;
	for (int i = optind; i < argc; i++) {
		const char *name = argv[i];
		struct nk_instance_info info;
		if (nk_inst_get(&cli->paths, name, &info, &cli->err) < 0) {
			status = nk_cli_fail(cli);
			continue;
		}
		unsigned flags = attach ? NK_ATTACH_OUTPUT | (info.interactive ? NK_ATTACH_STDIN : 0) : 0;
		int fd = -1;
		if (nk_inst_start(&cli->paths, name, flags, attach ? &fd : NULL, &cli->err) < 0) {
			status = nk_cli_fail(cli);
			continue;
		}
		if (attach)
			return nk_cli_attach_fd(cli, name, fd, info.tty, info.interactive);
		printf("%s\n", name);
	}
	return status;
}
