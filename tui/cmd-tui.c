/* `nook tui`: placeholder until the dashboard lands. */
#include <stdio.h>

#include "tui/cmd.h"

int nk_cmd_tui(struct nk_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	fprintf(stderr, "nook: the dashboard is not built yet\n");
	return NK_EXIT_FAILURE;
}
