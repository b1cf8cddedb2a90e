/* `nook compare`: placeholder until it lands. */
#include <stdio.h>

#include "tui/cmd.h"

int nk_cmd_compare(struct nk_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	fprintf(stderr, "nook: compare is not built yet\n");
	return NK_EXIT_FAILURE;
}
