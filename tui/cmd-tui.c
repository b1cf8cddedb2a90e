/* `nook tui`: the dashboard, every instance live with keys for everything. */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tui/cmd.h"
#include "tui/dash.h"

int nk_cmd_tui(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("tui");
	if (argc > 1)
		return nk_cli_usage_error(cmd, "unexpected '%s' (the dashboard takes no arguments)", argv[1]);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "nook: the dashboard needs a terminal; try `nook ls` or `nook stats` instead\n");
		return NK_EXIT_FAILURE;
	}
	/* Each running instance's sampler keeps its cgroup files open: allow for hundreds. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (nk_dash_run(cli) < 0)
		return nk_cli_fail(cli);
	return 0;
}
