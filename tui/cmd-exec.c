/* `nook exec [-i] [-t] NAME -- CMD...`: run a command inside a running instance. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/exec.h"
#include "core/parse.h"
#include "core/util.h"
#include "tui/cmd.h"
#include "tui/relay.h"

/* Copy between our stdio and the process's until its output ends. */
static void pump(struct nk_exec_io *io, int interactive)
{
	int in_open = interactive;
	int out = io->master >= 0 ? io->master : io->out;
	for (;;) {
		struct pollfd p[3] = {{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
				      {.fd = out, .events = POLLIN},
				      {.fd = io->errout, .events = POLLIN}};
		if (out < 0 && io->errout < 0)
			return;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		char buf[16384];
		ssize_t n;
		if (p[0].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			int dest = io->master >= 0 ? io->master : io->in;
			if (n <= 0 || nk_write_all(dest, buf, (size_t)n) < 0) {
				in_open = 0;
				if (io->master < 0)
					nk_closep(&io->in);
			}
		}
		if (p[1].revents) {
			n = read(out, buf, sizeof(buf));
			if (n <= 0)
				out = -1; /* EIO on the master: the process closed its terminal */
			else
				(void)nk_write_all(STDOUT_FILENO, buf, (size_t)n);
		}
		if (p[2].revents) {
			n = read(io->errout, buf, sizeof(buf));
			if (n <= 0)
				nk_closep(&io->errout);
			else
				(void)nk_write_all(STDERR_FILENO, buf, (size_t)n);
		}
	}
}

int nk_cmd_exec(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("exec");
	static const struct option longopts[] = {
	    {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},   {"workdir", required_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0}};
	struct nk_exec_opts opts = {0};
	const char *env[128];
	int interactive = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+ite:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			interactive = 1;
			break;
		case 't':
			opts.tty = 1;
			break;
		case 'e':
			if (opts.env_count >= NK_ARRAY_SIZE(env) || !strchr(optarg, '=') ||
			    nk_env_check(optarg, &cli->err) < 0)
				return nk_cli_usage_error(cmd, "invalid -e '%s': use NAME=VALUE", optarg);
			env[opts.env_count++] = optarg;
			break;
		case 'w':
			if (optarg[0] != '/')
				return nk_cli_usage_error(cmd, "the working directory must be absolute");
			opts.workdir = optarg;
			break;
		default:
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return nk_cli_usage_error(cmd, "which instance? give a NAME");
	const char *name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return nk_cli_usage_error(cmd, "what command? give it after --");
	opts.args = argv + optind;
	opts.env = env;
	struct nk_exec_io io;
	pid_t pid;
	if (nk_exec_start(&cli->paths, name, &opts, interactive, &io, &pid, &cli->err) < 0)
		return nk_cli_fail(cli);
	if (opts.tty && isatty(STDIN_FILENO)) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			ioctl(io.master, TIOCSWINSZ, &ws);
		nk_tty_raw(STDIN_FILENO);
	}
	signal(SIGPIPE, SIG_IGN);
	pump(&io, interactive);
	nk_tty_restore();
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	nk_closep(&io.master);
	nk_closep(&io.in);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
