/* `nook shell`: placeholder until the readline shell lands. */
#include <stdio.h>

#include "tui/cmd.h"

int nk_cmd_shell(struct nk_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	fprintf(stderr, "nook: the shell is not built yet\n");
	return NK_EXIT_FAILURE;
}
