/* `nook commit NAME IMAGE`: keep what an instance did as a new image. */
#include <stdio.h>

#include "core/changes.h"
#include "tui/cmd.h"

int nk_cmd_commit(struct nk_cli *cli, int argc, char **argv)
{
	if (argc != 3)
		return nk_cli_usage_error(nk_cmd_find("commit"), "give an instance NAME and a new IMAGE name");
	if (nk_changes_commit(&cli->paths, argv[1], argv[2], &cli->err) < 0)
		return nk_cli_fail(cli);
	printf("%s\n", argv[2]);
	return 0;
}
