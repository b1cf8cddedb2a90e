/* The command table: one entry per command, shared by the CLI (and later the shell and
 * the dashboard's ':' prompt), so a command, its usage and its help exist once. */
#ifndef NOOK_TUI_CMD_H
#define NOOK_TUI_CMD_H

#include "core/err.h"
#include "core/paths.h"

/* What every command gets: resolved paths and a place for its error. */
struct nk_cli {
	struct nk_paths paths;
	struct nk_err err;
	const char *prog;
};

struct nk_cmd {
	const char *name;
	const char *alias;   /* Docker's other spelling, or NULL */
	const char *usage;   /* arguments after the name */
	const char *summary; /* one line for the command list */
	const char *help;    /* options, one per line */
	int (*exec)(struct nk_cli *cli, int argc, char **argv);
	int hidden;
};

extern const struct nk_cmd nk_cmds[];

const struct nk_cmd *nk_cmd_find(const char *name);
void nk_cmd_usage(const struct nk_cmd *cmd, int to_stderr);
/* True (after printing help) when argv asks for --help / -h. */
int nk_cmd_wants_help(const struct nk_cmd *cmd, int argc, char **argv);
/* Print "nook: message" and return the exit code for nook's own failures. */
int nk_cli_fail(struct nk_cli *cli);
int nk_cli_usage_error(const struct nk_cmd *cmd, const char *fmt, ...) NK_PRINTF(2, 3);
/* -t SECS for stop and restart; leaves optind at the first NAME. */
int nk_cli_parse_grace(const struct nk_cmd *cmd, int argc, char **argv, int *grace);

#define NK_EXIT_FAILURE 125

/* Print (and with -f follow) one of an instance's append-only files, for logs and events. */
int nk_cli_print_instance_file(struct nk_cli *cli, const char *cmd_name, const char *file, int argc, char **argv);

/* Relay this terminal over an attached control connection; returns the exit code. */
int nk_cli_attach_fd(struct nk_cli *cli, const char *name, int fd, int tty, int stdin_on);

/* Handlers, one per tui/cmd-<name>.c. */
int nk_cmd_run(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_create(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_start(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_stop(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_kill(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_restart(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_rm(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_ls(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_inspect(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_logs(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_attach(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_exec(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_image(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_version(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_oci(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_help(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_monitor(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_pause(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_resume(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_stats(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_info(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_shell(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_tui(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_net(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_profile(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_events(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_drill(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_compare(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_diff(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_cp(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_commit(struct nk_cli *cli, int argc, char **argv);
int nk_cmd_kernel(struct nk_cli *cli, int argc, char **argv);

/* Run one command line's words through the table (the shell and the dashboard's ':'
 * prompt use this). Returns the command's exit code. */
int nk_cmd_dispatch(struct nk_cli *cli, int argc, char **argv);

#endif
