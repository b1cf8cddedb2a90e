/* nook's entry point: pick the command, prepare paths, run it, turn errors into exit codes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tui/cmd.h"
#include "tui/version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: nook COMMAND [OPTIONS]\n\n"
		   "Containers from one terminal: real namespaces, cgroups, overlay roots.\n\n"
		   "Commands:\n");
	for (const struct nk_cmd *c = nk_cmds; c->name; c++)
		if (!c->hidden)
			fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\nRun `nook COMMAND --help` for a command's options.\n"
		   "State lives in NOOK_ROOT (default /var/lib/nook) and NOOK_RUN (default /run/nook).\n");
}

int nk_cmd_help(struct nk_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 1) {
		const struct nk_cmd *c = nk_cmd_find(argv[1]);
		if (!c) {
			fprintf(stderr, "nook: no such command: %s (see `nook help`)\n", argv[1]);
			return NK_EXIT_FAILURE;
		}
		nk_cmd_usage(c, 0);
		return 0;
	}
	usage(stdout);
	return 0;
}

int nk_cmd_version(struct nk_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	printf("nook %s\n", NOOK_VERSION);
	return 0;
}

int nk_cmd_dispatch(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find(argv[0]);
	if (!cmd) {
		fprintf(stderr, "nook: no such command: %s (see `help`)\n", argv[0]);
		return NK_EXIT_FAILURE;
	}
	if (nk_cmd_wants_help(cmd, argc, argv))
		return 0;
	nk_err_clear(&cli->err);
	return cmd->exec(cli, argc, argv);
}

int main(int argc, char **argv)
{
	struct nk_cli cli = {.prog = argv[0]};
	/* Installed as nook-runtime, the binary speaks runc's command line and nothing else. */
	const char *base = strrchr(argv[0], '/');
	if (!strcmp(base ? base + 1 : argv[0], "nook-runtime")) {
		if (nk_paths_init(&cli.paths, &cli.err) < 0) {
			fprintf(stderr, "nook-runtime: %s\n", cli.err.msg);
			return 1;
		}
		return nk_cmd_oci(&cli, argc, argv);
	}
	if (argc < 2) {
		/* In a terminal, nook alone opens the dashboard. */
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			if (nk_paths_init(&cli.paths, &cli.err) < 0)
				return nk_cli_fail(&cli);
			return nk_cmd_tui(&cli, 1, argv);
		}
		usage(stderr);
		return NK_EXIT_FAILURE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return nk_cmd_help(&cli, 1, argv);
	if (!strcmp(argv[1], "--version"))
		return nk_cmd_version(&cli, 1, argv);
	const struct nk_cmd *cmd = nk_cmd_find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "nook: no such command: %s (see `nook --help`)\n", argv[1]);
		return NK_EXIT_FAILURE;
	}
	if (nk_cmd_wants_help(cmd, argc - 1, argv + 1))
		return 0;
	if (cmd->exec != nk_cmd_help && cmd->exec != nk_cmd_version && nk_paths_init(&cli.paths, &cli.err) < 0)
		return nk_cli_fail(&cli);
	return cmd->exec(&cli, argc - 1, argv + 1);
}
