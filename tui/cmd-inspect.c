/* `nook inspect NAME...`: the spec, state and paths as JSON (an array for several). */
#include <stdio.h>
#include <stdlib.h>

#include "core/instance.h"
#include "tui/cmd.h"

int nk_cmd_inspect(struct nk_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return nk_cli_usage_error(nk_cmd_find("inspect"), "which instance? give a NAME");
	int status = 0;
	if (argc > 2)
		printf("[\n");
	for (int i = 1; i < argc; i++) {
		char *json = NULL;
		if (nk_inst_inspect(&cli->paths, argv[i], &json, &cli->err) < 0) {
			status = nk_cli_fail(cli);
			continue;
		}
		printf("%s%s\n", json, argc > 2 && i + 1 < argc ? "," : "");
		free(json);
	}
	if (argc > 2)
		printf("]\n");
	return status;
}
