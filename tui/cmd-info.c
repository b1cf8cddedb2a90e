/* `nook info`: what nook found on this host. */
#include <stdio.h>

#include "core/hostinfo.h"
#include "tui/cmd.h"

int nk_cmd_info(struct nk_cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return nk_cli_usage_error(nk_cmd_find("info"), "unexpected argument '%s'", argv[1]);
	struct nk_host_info h;
	if (nk_host_info(&cli->paths, &h, &cli->err) < 0)
		return nk_cli_fail(cli);
	printf("kernel:        %s\n", h.kernel);
	printf("cpus:          %d\n", h.cpus);
	printf("memory:        %.1f GiB\n", (double)h.memory_bytes / (1024.0 * 1024 * 1024));
	printf("cgroups:       %s%s at %s\n", h.cgroup_layout,
	       h.cgroup_hybrid ? " (hybrid: controllers on v1, a v2 mount beside them)" : "", h.cgroup_mount);
	printf("controllers:   %s\n", h.controllers);
	printf("kvm:           %s\n", h.kvm);
	printf("NOOK_ROOT:     %s\n", cli->paths.root);
	printf("NOOK_RUN:      %s\n", cli->paths.run);
	printf("instances:     %d (%d running)\n", h.instances, h.running);
	return 0;
}
