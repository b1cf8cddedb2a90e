/* `nook diff NAME`: what the instance added (A), changed (C) and deleted (D). */
#include <stdio.h>

#include "core/changes.h"
#include "tui/cmd.h"

static void print_change(char kind, const char *path, void *opaque)
{
	(*(int *)opaque)++;
	printf("%c %s\n", kind, path);
}

int nk_cmd_diff(struct nk_cli *cli, int argc, char **argv)
{
	if (argc != 2)
		return nk_cli_usage_error(nk_cmd_find("diff"), "give exactly one instance NAME");
	int n = 0;
	if (nk_changes_list(&cli->paths, argv[1], print_change, &n, &cli->err) < 0)
		return nk_cli_fail(cli);
	return 0;
}
