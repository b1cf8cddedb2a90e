/* `nook image ls|import|rm`: manage images. */
#include <stdio.h>
#include <string.h>

#include "core/image.h"
#include "tui/cmd.h"

static void print_image(const char *name, const char *source, unsigned long long bytes, void *opaque)
{
	int *rows = opaque;
	if ((*rows)++ == 0)
		printf("%-20s %-10s %s\n", "NAME", "SIZE", "SOURCE");
	char size[32];
	if (bytes == 0)
		snprintf(size, sizeof(size), "-");
	else if (bytes < 1024 * 1024)
		snprintf(size, sizeof(size), "%.1fK", (double)bytes / 1024);
	else
		snprintf(size, sizeof(size), "%.1fM", (double)bytes / (1024 * 1024));
	printf("%-20s %-10s %s\n", name, size, source);
}

int nk_cmd_image(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("image");
	if (argc < 2)
		return nk_cli_usage_error(cmd, "give a subcommand: ls, import or rm");
	const char *sub = argv[1];
	if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
		int rows = 0;
		if (argc != 2)
			return nk_cli_usage_error(cmd, "image ls takes no arguments");
		return nk_image_list(&cli->paths, print_image, &rows, &cli->err) < 0 ? nk_cli_fail(cli) : 0;
	}
	if (!strcmp(sub, "import")) {
		if (argc != 4)
			return nk_cli_usage_error(cmd, "image import takes NAME and PATH");
		if (nk_image_import(&cli->paths, argv[2], argv[3], &cli->err) < 0)
			return nk_cli_fail(cli);
		printf("%s\n", argv[2]);
		return 0;
	}
	if (!strcmp(sub, "rm")) {
		if (argc < 3)
			return nk_cli_usage_error(cmd, "image rm takes one or more NAMEs");
		int status = 0;
		for (int i = 2; i < argc; i++) {
			if (nk_image_remove(&cli->paths, argv[i], &cli->err) < 0)
				status = nk_cli_fail(cli);
			else
				printf("%s\n", argv[i]);
		}
		return status;
	}
	return nk_cli_usage_error(cmd, "unknown subcommand '%s'", sub);
}
