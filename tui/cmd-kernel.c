/* `nook kernel fetch|ls|initramfs|rm`: guest kernels for VMs, kept in NOOK_ROOT/kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm-initramfs.h"
#include "core/vm-kernel.h"
#include "tui/cmd.h"

static int kernel_fetch(struct nk_cli *cli, const struct nk_cmd *cmd, int argc, char **argv)
{
	if (argc > 3)
		return nk_cli_usage_error(cmd, "kernel fetch takes at most one PACKAGE");
	const char *package = argc == 3 ? argv[2] : NULL;
	fprintf(stderr, "nook: fetching %s with apt-get download...\n", package ? package : NK_KERNEL_PACKAGE);
	struct nk_kernel k;
	int fresh;
	char initramfs[4096];
	if (nk_kernel_fetch(&cli->paths, package, &k, &fresh, &cli->err) < 0 ||
	    nk_initramfs_ensure(&k, initramfs, sizeof(initramfs), &cli->err) < 0)
		return nk_cli_fail(cli);
	if (!fresh)
		fprintf(stderr, "nook: kernel %s was already there\n", k.version);
	char gaps[512];
	if (nk_kernel_vmm_gaps(&k, gaps, sizeof(gaps)) == 0 && gaps[0])
		fprintf(stderr, "nook: note: %s %s\n", k.version, gaps);
	printf("%s\n", k.version);
	return 0;
}

static int kernel_ls(struct nk_cli *cli, const struct nk_cmd *cmd, int argc)
{
	if (argc != 2)
		return nk_cli_usage_error(cmd, "kernel ls takes no arguments");
	struct nk_kernel *all;
	size_t n;
	if (nk_kernel_list(&cli->paths, &all, &n, &cli->err) < 0)
		return nk_cli_fail(cli);
	printf("%-28s %-44s %s\n", "VERSION", "PACKAGE", "INITRAMFS");
	for (size_t i = 0; i < n; i++) {
		char p[4096];
		int built = nk_initramfs_path(&all[i], p, sizeof(p)) == 0 && access(p, R_OK) == 0;
		printf("%-28s %-44s %s\n", all[i].version, all[i].package[0] ? all[i].package : "-",
		       built ? "built" : "on first use");
	}
	if (n == 0)
		printf("no guest kernels yet: `nook kernel fetch` downloads Debian's cloud kernel\n");
	free(all);
	return 0;
}

static int kernel_initramfs(struct nk_cli *cli, const struct nk_cmd *cmd, int argc, char **argv)
{
	if (argc > 3)
		return nk_cli_usage_error(cmd, "kernel initramfs takes at most one VERSION");
	struct nk_kernel k;
	char path[4096];
	if (nk_kernel_find(&cli->paths, argc == 3 ? argv[2] : NULL, &k, &cli->err) < 0)
		return nk_cli_fail(cli);
	if (nk_initramfs_path(&k, path, sizeof(path)) < 0)
		return NK_EXIT_FAILURE;
	/* Built again on request: the host's busybox may have changed since. */
	if (nk_initramfs_build(k.modules, k.version, NULL, path, &cli->err) < 0)
		return nk_cli_fail(cli);
	printf("%s\n", path);
	return 0;
}

int nk_cmd_kernel(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("kernel");
	if (argc < 2)
		return nk_cli_usage_error(cmd, "give a subcommand: fetch, ls, initramfs or rm");
	const char *sub = argv[1];
	if (!strcmp(sub, "fetch"))
		return kernel_fetch(cli, cmd, argc, argv);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return kernel_ls(cli, cmd, argc);
	if (!strcmp(sub, "initramfs"))
		return kernel_initramfs(cli, cmd, argc, argv);
	if (!strcmp(sub, "rm")) {
		if (argc < 3)
			return nk_cli_usage_error(cmd, "kernel rm takes one or more VERSIONs");
		int status = 0;
		for (int i = 2; i < argc; i++) {
			if (nk_kernel_remove(&cli->paths, argv[i], &cli->err) < 0)
				status = nk_cli_fail(cli);
			else
				printf("%s\n", argv[i]);
		}
		return status;
	}
	return nk_cli_usage_error(cmd, "unknown subcommand '%s'", sub);
}
