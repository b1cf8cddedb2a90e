/* `nook compare [--json] [IMAGE] [-- CMD]`: the same workload as a container and as a VM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compare.h"
#include "tui/cmd.h"

static void row(const char *what, const char *ctr, const char *vm)
{
	printf("%-26s %-40s %s\n", what, ctr, vm);
}

static void print_report(const struct nk_compare_report *rep)
{
	const struct nk_compare_side *c = &rep->container;
	char a[512], vm[64];
	snprintf(vm, sizeof(vm), "%s", rep->vm.ran ? "measured" : "not measured (see below)");
	printf("host: kernel %s, %d cores; image %s\n", rep->host_kernel, rep->host_cpus, rep->image);
	row("", "CONTAINER", "VM");
	snprintf(a, sizeof(a), "%.2f ms", c->startup_ms);
	row("start-up", a, vm);
	nk_timeline_format(&c->timeline, a, sizeof(a));
	printf("  phases: %s\n", a);
	snprintf(a, sizeof(a), "%ld KiB", c->monitor_rss_kib);
	row("monitor RSS", a, "-");
	snprintf(a, sizeof(a), "%lld KiB", c->memory_current >= 0 ? c->memory_current / 1024 : -1);
	row("cgroup memory in use", a, "-");
	snprintf(a, sizeof(a), "%s (host: %s)", c->kernel, rep->host_kernel);
	row("kernel inside", a, "-");
	snprintf(a, sizeof(a), "%ld processes, %ld mounts, %ld netifs", c->processes, c->mounts, c->net_ifs);
	row("sees", a, "-");
	row("host kernel log", c->kmsg_readable == 1 ? "readable" : "not readable", "-");
	row("namespaces shared w/ host", c->ns_shared[0] ? c->ns_shared : "none", "none (a separate kernel)");
	snprintf(a, sizeof(a), "host kernel, %d seccomp filter(s)", c->seccomp_filters);
	row("syscall surface", a, "a separate guest kernel");
	row("vCPUs beyond host cores", "no (the host's cores)", "-");
	if (!rep->vm.ran)
		printf("\nVM: %s\n", rep->vm.reason);
	if (c->output[0])
		printf("\nworkload output (container):\n%s\n", c->output);
}

int nk_cmd_compare(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("compare");
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	int json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (c != 'j')
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		json = 1;
	}
	const char *image = "busybox";
	/* getopt has already eaten a "--" that came right after the options. */
	int dashes = optind > 1 && !strcmp(argv[optind - 1], "--");
	if (!dashes && optind < argc && strcmp(argv[optind], "--"))
		image = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	char **workload = optind < argc ? argv + optind : NULL;
	struct nk_compare_report *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return nk_cli_usage_error(cmd, "out of memory");
	if (nk_compare_run(&cli->paths, image, workload, rep, &cli->err) < 0) {
		free(rep);
		return nk_cli_fail(cli);
	}
	if (json) {
		char *text = nk_compare_to_json(rep);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else {
		print_report(rep);
	}
	free(rep);
	return 0;
}
