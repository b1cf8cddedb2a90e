/* `nook shell`: every nook command at a readline prompt, or a script of them from stdin. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "tui/cmd.h"
#include "tui/shell.h"

#define HISTORY_LINES 1000

struct shell {
	struct nk_cli *cli;
	int interactive;
	int keep_going;
	unsigned long lineno;
	int status;     /* a script's verdict: its first failure's exit code, or 0 */
	int quit;       /* exit, quit or Ctrl-D */
	int exit_code;  /* what `exit N` asked for */
	char history[PATH_MAX]; /* "" when there is no home to keep it in */
	struct termios tty;
	sigset_t orig_mask;
};

/* Leave the shell? `exit` and `quit` are the only words the shell keeps for itself. */
static int builtin_exit(struct shell *sh, const struct nk_words *w)
{
	if (strcmp(w->argv[0], "exit") && strcmp(w->argv[0], "quit"))
		return 0;
	sh->quit = 1;
	sh->exit_code = sh->interactive ? 0 : sh->status;
	if (w->argc > 1) {
		char *end;
		long n = strtol(w->argv[1], &end, 10);
		if (*end || end == w->argv[1] || n < 0 || n > 255 || w->argc > 2) {
			fprintf(stderr, "nook shell: usage: %s [CODE], CODE 0-255\n", w->argv[0]);
			sh->quit = 0;
			return -1;
		}
		sh->exit_code = (int)n;
	}
	return 1;
}

static void set_signal(int sig, void (*handler)(int))
{
	struct sigaction sa = {.sa_handler = handler};
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* Run one command in a child, so Ctrl-C can end it (stats streams until stopped) without
 * ending the shell, and so no command's getopt or static state reaches the next one. */
static int run_child(struct shell *sh, int argc, char **argv)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		set_signal(SIGINT, SIG_DFL);
		set_signal(SIGQUIT, SIG_DFL);
		set_signal(SIGWINCH, SIG_DFL);
		set_signal(SIGTERM, SIG_DFL);
		set_signal(SIGHUP, SIG_DFL);
		set_signal(SIGCONT, SIG_DFL);
		sigprocmask(SIG_SETMASK, &sh->orig_mask, NULL);
		/* A script's commands must not eat the script: stdin is the script itself. */
		if (!sh->interactive) {
			int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, STDIN_FILENO);
				close(null);
			}
		}
		int rc = nk_cmd_dispatch(sh->cli, argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	int status = 0, rc;
	if (pid < 0) {
		fprintf(stderr, "nook shell: cannot start %s: %s; free some memory or processes and retry\n",
			argv[0], strerror(errno));
		rc = NK_EXIT_FAILURE;
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status)) {
			rc = WEXITSTATUS(status);
		} else {
			int sig = WTERMSIG(status);
			/* Ctrl-C was the user's doing and the terminal already shows it. */
			if (sig == SIGINT) {
				if (sh->interactive)
					putchar('\n');
			} else {
				fprintf(stderr, "nook shell: %s ended by signal %s\n", argv[0],
					strsignal(sig));
			}
			rc = 128 + sig;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	/* A command that put the terminal in raw mode and died must not leave it so. */
	if (sh->interactive)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &sh->tty);
	return rc;
}

/* Run one line; returns its exit code (0 for a blank line or a comment). A line that
 * cannot be split fills err and returns NK_EXIT_FAILURE; err.msg stays "" otherwise. */
static int run_line(struct shell *sh, const char *line, struct nk_err *err)
{
	struct nk_words w;
	nk_err_clear(err);
	if (nk_shell_split(line, 0, &w, err) < 0)
		return NK_EXIT_FAILURE;
	int rc = 0;
	if (w.argc > 0) {
		int builtin = builtin_exit(sh, &w);
		if (builtin < 0)
			rc = NK_EXIT_FAILURE;
		else if (!builtin)
			rc = run_child(sh, w.argc, w.argv);
		if (rc == 0 && sh->interactive && w.argc == 1 && !strcmp(w.argv[0], "help"))
			printf("\nIn the shell: Tab completes, Up recalls, Ctrl-C drops the line or stops\n"
			       "a command; exit, quit or Ctrl-D leaves.\n");
	}
	nk_words_free(&w);
	return rc;
}

/* --- script mode ------------------------------------------------------------------------ */

static int run_script(struct shell *sh)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while (!sh->quit && (len = getline(&line, &cap, stdin)) >= 0) {
		sh->lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		struct nk_err err;
		int rc = run_line(sh, line, &err);
		if (rc == 0 || sh->quit)
			continue;
		if (err.msg[0])
			fprintf(stderr, "nook shell: line %lu: %s\n", sh->lineno, err.msg);
		else
			fprintf(stderr, "nook shell: line %lu: `%s` failed with exit code %d\n", sh->lineno,
				line + strspn(line, " \t"), rc);
		if (!sh->status)
			sh->status = rc;
		if (!sh->keep_going) {
			fprintf(stderr, "nook shell: stopped at line %lu (with -k it carries on after errors)\n",
				sh->lineno);
			break;
		}
	}
	free(line);
	return sh->quit ? sh->exit_code : sh->status;
}

/* --- interactive mode ------------------------------------------------------------------- */

/* Set by signal handlers, acted on by the loop outside them. */
static volatile sig_atomic_t got_sigint, got_sigwinch, got_sigcont, got_hangup /* its number */;

static void on_signal(int sig)
{
	if (sig == SIGINT)
		got_sigint = 1;
	else if (sig == SIGWINCH)
		got_sigwinch = 1;
	else if (sig == SIGCONT)
		got_sigcont = 1;
	else
		got_hangup = sig;
}

/* readline's line callback takes no opaque pointer. */
static struct shell *current;

static void history_open(struct shell *sh)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	int len = home ? snprintf(sh->history, sizeof(sh->history), "%s/.nook_history", home) : -1;
	if (len < 0 || (size_t)len >= sizeof(sh->history)) {
		sh->history[0] = '\0';
		return;
	}
	using_history();
	stifle_history(HISTORY_LINES);
	/* append_history needs the file to exist; private, as a shell's history is. */
	int fd = open(sh->history, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "nook shell: history will not be kept: cannot open %s: %s\n", sh->history,
			strerror(errno));
		sh->history[0] = '\0';
		return;
	}
	close(fd);
	read_history(sh->history);
}

static void history_add(struct shell *sh, const char *line)
{
	if (!line[strspn(line, " \t")])
		return;
	HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
	if (last && !strcmp(last->line, line))
		return;
	add_history(line);
	/* Appended line by line, so a shell that is killed, or two shells at once, lose nothing. */
	if (sh->history[0])
		append_history(1, sh->history);
}

static void on_line(char *line)
{
	struct shell *sh = current;
	if (!line) {
		/* Ctrl-D: end the prompt's line so the caller's prompt starts clean. */
		putchar('\n');
		sh->quit = 1;
		rl_callback_handler_remove();
		return;
	}
	history_add(sh, line);
	struct nk_err err;
	if (run_line(sh, line, &err) && err.msg[0])
		fprintf(stderr, "nook shell: %s\n", err.msg);
	free(line);
	if (sh->quit)
		rl_callback_handler_remove();
}

/* Ctrl-C at the prompt: forget what was typed and prompt again, as bash does. */
static void drop_line(void)
{
	rl_free_line_state();
	rl_callback_sigcleanup();
	rl_echo_signal_char(SIGINT);
	rl_replace_line("", 0);
	rl_crlf();
	rl_on_new_line();
	rl_redisplay();
}

static int run_interactive(struct shell *sh)
{
	tcgetattr(STDIN_FILENO, &sh->tty);
	history_open(sh);
	nk_shell_complete_init(&sh->cli->paths);
	/* The shell handles its signals itself, between keys, through ppoll: readline's own
	 * handlers would run its code inside a signal handler. */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCONT);
	sigprocmask(SIG_BLOCK, &block, &sh->orig_mask);
	set_signal(SIGINT, on_signal);
	set_signal(SIGWINCH, on_signal);
	set_signal(SIGTERM, on_signal);
	set_signal(SIGHUP, on_signal);
	set_signal(SIGCONT, on_signal);
	current = sh;
	rl_callback_handler_install("nook> ", on_line);
	while (!sh->quit) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		int n = ppoll(&pfd, 1, NULL, &sh->orig_mask);
		int poll_errno = errno; /* before readline's calls below change it */
		if (got_hangup) {
			putchar('\n');
			break;
		}
		if (got_sigint) {
			got_sigint = 0;
			drop_line();
		}
		if (got_sigwinch) {
			got_sigwinch = 0;
			rl_resize_terminal();
		}
		if (got_sigcont) {
			/* Back from Ctrl-Z: the shell we were stopped from reset the terminal. */
			got_sigcont = 0;
			rl_deprep_terminal();
			rl_prep_terminal(1);
			rl_forced_update_display();
		}
		if (n > 0)
			rl_callback_read_char();
		else if (n < 0 && poll_errno != EINTR)
			break;
	}
	rl_callback_handler_remove(); /* gives the terminal back as it was */
	if (sh->history[0])
		history_truncate_file(sh->history, HISTORY_LINES);
	sigprocmask(SIG_SETMASK, &sh->orig_mask, NULL);
	if (got_hangup)
		return 128 + got_hangup;
	return sh->quit ? sh->exit_code : 0;
}

int nk_cmd_shell(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("shell");
	static const struct option longopts[] = {{"keep-going", no_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	struct shell sh = {.cli = cli};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+k", longopts, NULL)) != -1) {
		if (c != 'k')
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		sh.keep_going = 1;
	}
	if (optind < argc)
		return nk_cli_usage_error(cmd, "unexpected '%s'; give a script on stdin: nook shell < FILE",
					  argv[optind]);
	sh.interactive = isatty(STDIN_FILENO);
	sigprocmask(SIG_SETMASK, NULL, &sh.orig_mask);
	return sh.interactive ? run_interactive(&sh) : run_script(&sh);
}
