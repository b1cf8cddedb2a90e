/* `nook profile ls|show NAME`: the sandbox profiles nook ships and the user's own. */
#include <stdio.h>
#include <string.h>

#include "core/caps.h"
#include "core/profile.h"
#include "tui/cmd.h"

static int print_row(const char *name, const char *path, const struct nk_profile *p, const char *problem, void *ctx)
{
	int *rows = ctx;
	if ((*rows)++ == 0)
		printf("%-14s %s\n", "NAME", "DESCRIPTION");
	if (!p)
		printf("%-14s (cannot load %s: %s)\n", name, path, problem);
	else
		printf("%-14s %s\n", name, p->description ? p->description : "");
	return 0;
}

static void print_list(const char *label, char **v, size_t n)
{
	printf("%-16s", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", v[i]);
	printf("%s\n", n ? "" : "-");
}

static int show(struct nk_cli *cli, const char *name)
{
	const char *dirs[3];
	nk_paths_profile_dirs(&cli->paths, dirs);
	struct nk_profile p;
	if (nk_profile_load(name, dirs, &p, &cli->err) < 0) {
		nk_profile_free(&p);
		return nk_cli_fail(cli);
	}
	char caps[1024];
	nk_caps_format(nk_profile_caps(&p), caps, sizeof(caps));
	printf("%-16s%s\n", "name:", p.name);
	printf("%-16s%s\n", "file:", p.path);
	printf("%-16s%s\n", "description:", p.description ? p.description : "-");
	printf("%-16s%s%s\n", "seccomp:", p.seccomp ? p.seccomp : "none (no filter: not confined by seccomp)",
	       p.seccomp_notify ? " (denied calls reported live: `nook events -f`)" : "");
	printf("%-16s%s\n", "capabilities:", caps[0] ? caps : "none");
	printf("%-16s%s\n", "read-only root:", p.readonly_root ? "yes" : "no");
	printf("%-16s%s\n", "network:", p.network ? p.network : "bridge");
	print_list("masked paths:", p.masked_paths, p.masked_count);
	print_list("read-only paths:", p.readonly_paths, p.readonly_count);
	printf("%-16s", "mounts:");
	for (size_t i = 0; i < p.mount_count; i++)
		printf("%s%s %s%s%s%s", i ? ", " : "", p.mounts[i].type == NK_PROFILE_MOUNT_TMPFS ? "tmpfs" : "bind",
		       p.mounts[i].source ? p.mounts[i].source : "", p.mounts[i].source ? " " : "", p.mounts[i].dest,
		       p.mounts[i].readonly ? " ro" : "");
	printf("%s\n", p.mount_count ? "" : "-");
	printf("%-16smemory %s, cpus %s, pids %s\n", "limits:", p.memory ? p.memory : "-", p.cpus ? p.cpus : "-",
	       p.pids ? p.pids : "-");
	print_list("environment:", p.env, p.env_count);
	nk_profile_free(&p);
	return 0;
}

int nk_cmd_profile(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("profile");
	if (argc < 2)
		return nk_cli_usage_error(cmd, "give a subcommand: ls, show or generate");
	if (!strcmp(argv[1], "ls") || !strcmp(argv[1], "list")) {
		const char *dirs[3];
		int rows = 0;
		nk_paths_profile_dirs(&cli->paths, dirs);
		if (nk_profile_list(dirs, print_row, &rows, &cli->err) < 0)
			return nk_cli_fail(cli);
		return 0;
	}
	if (!strcmp(argv[1], "show")) {
		if (argc != 3)
			return nk_cli_usage_error(cmd, "profile show takes one NAME");
		return show(cli, argv[2]);
	}
	if (!strcmp(argv[1], "generate")) {
		if (argc != 5 || strcmp(argv[3], "--from") != 0)
			return nk_cli_usage_error(cmd, "profile generate NAME --from INSTANCE");
		char path[4096];
		if (nk_profile_generate(&cli->paths, argv[2], argv[4], path, sizeof(path), &cli->err) < 0)
			return nk_cli_fail(cli);
		printf("%s\n", path);
		return 0;
	}
	return nk_cli_usage_error(cmd, "unknown subcommand '%s'", argv[1]);
}
