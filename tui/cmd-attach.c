/* `nook attach NAME`: this terminal to a running instance; Ctrl-P Ctrl-Q detaches. */
#include <stdio.h>

#include "core/ctl.h"
#include "core/instance.h"
#include "tui/cmd.h"

int nk_cmd_attach(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("attach");
	if (argc != 2)
		return nk_cli_usage_error(cmd, "give exactly one instance NAME");
	struct nk_instance_info info;
	if (nk_inst_get(&cli->paths, argv[1], &info, &cli->err) < 0)
		return nk_cli_fail(cli);
	unsigned flags = NK_ATTACH_OUTPUT | (info.interactive ? NK_ATTACH_STDIN : 0);
	int fd = nk_inst_attach(&cli->paths, argv[1], flags, &cli->err);
	if (fd < 0)
		return nk_cli_fail(cli);
	return nk_cli_attach_fd(cli, argv[1], fd, info.tty, info.interactive);
}
