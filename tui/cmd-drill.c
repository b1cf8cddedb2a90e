/* `nook drill`: placeholder until it lands. */
#include <stdio.h>

#include "tui/cmd.h"

int nk_cmd_drill(struct nk_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	fprintf(stderr, "nook: drill is not built yet\n");
	return NK_EXIT_FAILURE;
}
