/* `nook monitor NAME FLAGS`: hidden; the per-instance monitor, started by nook itself. */
#include <stdio.h>
#include <stdlib.h>

#include "core/monitor.h"
#include "tui/cmd.h"

int nk_cmd_monitor(struct nk_cli *cli, int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "nook monitor is started by nook itself, not by hand\n");
		return NK_EXIT_FAILURE;
	}
	return nk_monitor_main(&cli->paths, argv[1], NK_MONITOR_FD, (unsigned)strtoul(argv[2], NULL, 10));
}
