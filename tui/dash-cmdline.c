/* The ':' prompt: any nook command, through the same command table as the CLI and the
 * shell. Quick ones run in the background with their output collected; the ones that
 * need the terminal (attach, a foreground run, logs -f...) get it. */
#include <stdio.h>
#include <string.h>

#include "tui/dash.h"
#include "tui/shell.h"

static int has_flag(char **argv, int argc, const char *shortf, const char *longf)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (longf && !strcmp(argv[i], longf))
			return 1;
		/* Bundled short options: -it, -dit. */
		if (shortf && argv[i][0] == '-' && argv[i][1] != '-' && strpbrk(argv[i] + 1, shortf))
			return 1;
	}
	return 0;
}

/* Commands that talk to the user's terminal rather than print and end. */
static int needs_terminal(char **argv, int argc)
{
	const char *c = argv[0];
	if (!strcmp(c, "attach") || !strcmp(c, "shell") || !strcmp(c, "tui") || !strcmp(c, "dashboard"))
		return 1;
	if (!strcmp(c, "run"))
		return !has_flag(argv, argc, "d", "--detach");
	if (!strcmp(c, "start"))
		return has_flag(argv, argc, "a", "--attach");
	if (!strcmp(c, "exec"))
		return has_flag(argv, argc, "it", "--interactive") || has_flag(argv, argc, NULL, "--tty");
	if (!strcmp(c, "logs") || !strcmp(c, "events"))
		return has_flag(argv, argc, "f", "--follow");
	if (!strcmp(c, "stats"))
		return !has_flag(argv, argc, NULL, "--no-stream") && !has_flag(argv, argc, NULL, "--json");
	return 0;
}

static int cmd_run(struct nk_dash *d, struct dash_job *j, int out)
{
	(void)out;
	struct nk_words w;
	struct nk_err err;
	if (nk_shell_split(j->arg, 0, &w, &err) < 0 || !w.argc)
		return NK_EXIT_FAILURE;
	int rc = nk_cmd_dispatch(d->cli, w.argc, w.argv);
	nk_words_free(&w);
	return rc;
}

static void cmd_done(struct nk_dash *d, struct dash_job *j, int status)
{
	const char *out = j->out ? j->out : "";
	size_t len = strlen(out);
	while (len && out[len - 1] == '\n')
		len--;
	/* One line fits the message line; more deserves the pager. */
	if (!memchr(out, '\n', len)) {
		char line[400];
		snprintf(line, sizeof(line), "%.*s", (int)(len < 300 ? len : 300), out);
		if (status == 0)
			dash_msg(d, 0, "%s", line[0] ? line : "done");
		else
			dash_msg(d, 1, "%s (exit %d)", line[0] ? line : j->arg, status);
		return;
	}
	char title[sizeof(j->arg) + 32];
	snprintf(title, sizeof(title), ":%s  (exit %d)", j->arg, status);
	dash_pager_open(d, title, NULL);
	dash_pager_feed(d, out, len);
	dash_pager_feed(d, "\n", 1);
	d->pager.follow = 0;
	d->pager.top = 0;
}

static const struct dash_job_ops cmd_ops = {.run = cmd_run, .done = cmd_done, .capture_stdio = 1};

static void command_done(struct nk_dash *d, int accepted)
{
	if (!accepted)
		return;
	const char *line = d->prompt.buf;
	while (*line == ' ')
		line++;
	dash_history_add(d, line);
	/* Typing the program's name out of habit is fine. */
	if (!strncmp(line, "nook ", 5))
		line += 5;
	struct nk_words w;
	struct nk_err err;
	if (nk_shell_split(line, 0, &w, &err) < 0) {
		dash_msg(d, 1, "%s", err.msg);
		return;
	}
	char **argv = w.argv;
	int argc = w.argc;
	if (!argc) {
		nk_words_free(&w);
		return;
	}
	if (!strcmp(argv[0], "q") || !strcmp(argv[0], "quit") || !strcmp(argv[0], "exit")) {
		d->quit = 1;
	} else if (!nk_cmd_find(argv[0]) || nk_cmd_find(argv[0])->hidden) {
		dash_msg(d, 1, "no such command: %s (:help lists them)", argv[0]);
	} else if (needs_terminal(argv, argc)) {
		dash_run_in_terminal(d, argv, argc, line);
	} else {
		dash_job_spawn(d, &cmd_ops, NULL, "", line);
	}
	nk_words_free(&w);
}

void dash_act_command(struct nk_dash *d)
{
	dash_prompt_open(d, ":", NULL, NULL, command_done);
	d->prompt.history = 1;
}
