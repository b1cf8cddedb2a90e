/* `nook events [-f] [-n N] NAME`: what happened to an instance: denied system calls (teach
 * mode), OOM kills, exits; one JSON object per line. */
#include "tui/cmd.h"

int nk_cmd_events(struct nk_cli *cli, int argc, char **argv)
{
	return nk_cli_print_instance_file(cli, "events", "events.log", argc, argv);
}
