/* `nook cp NAME:PATH HOSTPATH` and `nook cp HOSTPATH NAME:PATH`. */
#include <stdio.h>
#include <string.h>

#include "core/changes.h"
#include "tui/cmd.h"

/* "NAME:/path" → name and path; a host path has no colon before its first slash. */
static int split(char *arg, char **name, char **path)
{
	char *colon = strchr(arg, ':');
	char *slash = strchr(arg, '/');
	if (!colon || (slash && slash < colon))
		return 0;
	*colon = '\0';
	*name = arg;
	*path = colon + 1;
	return 1;
}

int nk_cmd_cp(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("cp");
	if (argc != 3)
		return nk_cli_usage_error(cmd, "give a source and a destination");
	char *name, *path;
	int r;
	if (split(argv[1], &name, &path))
		r = nk_changes_copy(&cli->paths, name, path, argv[2], 1, &cli->err);
	else if (split(argv[2], &name, &path))
		r = nk_changes_copy(&cli->paths, name, path, argv[1], 0, &cli->err);
	else
		return nk_cli_usage_error(cmd, "one side must be NAME:PATH");
	return r < 0 ? nk_cli_fail(cli) : 0;
}
