/* `nook oci ...` and the same binary named nook-runtime: the runc command-line contract that
 * podman, containerd and CRI-O drive. Errors exit 1, as runc's do. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/oci.h"
#include "core/util.h"
#include "tui/cmd.h"
#include "tui/version.h"

struct oci_cli {
	struct nk_cli *cli;
	struct nk_oci rt;
	const char *root, *log_file;
	int log_json;
};

static const char usage_text[] =
    "usage: nook oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID   (also: nook-runtime ...)\n\n"
    "nook's engine behind the runc command line, for podman, containerd and CRI-O.\n\n"
    "Global options:\n"
    "  --root DIR             where container records live (default " NK_OCI_DEFAULT_ROOT ")\n"
    "  --log FILE             also append errors to FILE\n"
    "  --log-format text|json how --log lines are written\n"
    "  --systemd-cgroup       refused: nook manages cgroupfs paths only\n\n"
    "Commands:\n"
    "  create --bundle DIR [--pid-file F] [--console-socket SOCK] [--no-pivot] [--preserve-fds N] ID\n"
    "  start ID               let the created container's process run\n"
    "  state ID               the OCI state JSON\n"
    "  kill [--all] ID [SIG]  signal the process (default SIGTERM)\n"
    "  delete [--force] ID    remove a stopped (or, with --force, any) container\n"
    "  exec [--process FILE.json] [--detach] [--tty] [--console-socket SOCK] [--pid-file F]\n"
    "       [--cwd DIR] [--env K=V] ID [CMD...]\n"
    "  list [--format table|json] [-q]\n"
    "  pause ID | resume ID\n"
    "  ps [--format table|json] ID\n"
    "  features               the OCI features document\n"
    "  --version\n\n"
    "docs/oci.md lists the config.json keys nook honours and the ones it refuses.\n";

static void log_error(const struct oci_cli *o, const char *msg)
{
	fprintf(stderr, "nook-runtime: %s\n", msg);
	if (!o->log_file)
		return;
	FILE *f = fopen(o->log_file, "ae");
	if (!f)
		return;
	char when[64];
	nk_time_iso(nk_wall_time_s(), when, sizeof(when));
	if (o->log_json) {
		fputs("{\"level\":\"error\",\"msg\":\"", f);
		for (const char *p = msg; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			if ((unsigned char)*p >= 0x20)
				fputc(*p, f);
		}
		fprintf(f, "\",\"time\":\"%s\"}\n", when);
	} else {
		fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", when, msg);
	}
	fclose(f);
}

static int fail(const struct oci_cli *o, const struct nk_err *err)
{
	log_error(o, err->msg);
	return 1;
}

static int usage_error(const struct oci_cli *o, const char *fmt, ...) NK_PRINTF(2, 3);
static int usage_error(const struct oci_cli *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error(o, msg);
	return 1;
}

/* "--name value", "--name=value" or (for short) "-n value": the value, advancing *i. */
static const char *option_value(int argc, char **argv, int *i, const char *lng, const char *shrt, int *matched)
{
	const char *a = argv[*i];
	size_t n = strlen(lng);
	*matched = 0;
	if (!strncmp(a, lng, n) && a[n] == '=') {
		*matched = 1;
		return a + n + 1;
	}
	if (!strcmp(a, lng) || (shrt && !strcmp(a, shrt))) {
		*matched = 1;
		if (*i + 1 < argc)
			return argv[++*i];
	}
	return NULL;
}

static int is_flag(const char *a, const char *lng, const char *shrt)
{
	return !strcmp(a, lng) || (shrt && !strcmp(a, shrt)) ||
	       (!strncmp(a, lng, strlen(lng)) && !strcmp(a + strlen(lng), "=true"));
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"TERM", SIGTERM},
		     {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH},
		     {"ALRM", SIGALRM}, {"PWR", SIGPWR}};
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end)
		return v > 0 && v < NSIG ? (int)v : -1;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < NK_ARRAY_SIZE(names); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return -1;
}

static int cmd_create(struct oci_cli *o, int argc, char **argv)
{
	struct nk_oci_create_opts opts = {0};
	const char *id = NULL;
	for (int i = 1; i < argc; i++) {
		int m;
		const char *v;
		if ((v = option_value(argc, argv, &i, "--bundle", "-b", &m)) || m) {
			if (!v)
				return usage_error(o, "--bundle needs a directory");
			opts.bundle = v;
		} else if ((v = option_value(argc, argv, &i, "--pid-file", NULL, &m)) || m) {
			opts.pid_file = v;
		} else if ((v = option_value(argc, argv, &i, "--console-socket", NULL, &m)) || m) {
			opts.console_socket = v;
		} else if ((v = option_value(argc, argv, &i, "--preserve-fds", NULL, &m)) || m) {
			opts.preserve_fds = v ? atoi(v) : -1;
			if (opts.preserve_fds < 0 || opts.preserve_fds > 1000)
				return usage_error(o, "--preserve-fds needs a count");
		} else if (is_flag(argv[i], "--no-pivot", NULL)) {
			opts.no_pivot = 1;
		} else if (is_flag(argv[i], "--no-new-keyring", NULL)) {
			/* nook never creates a session keyring: there is nothing to skip. */
		} else if (argv[i][0] == '-') {
			return usage_error(o, "create: unknown option %s", argv[i]);
		} else if (!id) {
			id = argv[i];
		} else {
			return usage_error(o, "create: unexpected argument %s", argv[i]);
		}
	}
	if (!id)
		return usage_error(o, "create needs a container id");
	return nk_oci_create(&o->rt, id, &opts, &o->cli->err) < 0 ? fail(o, &o->cli->err) : 0;
}

static int cmd_exec(struct oci_cli *o, int argc, char **argv)
{
	struct nk_oci_exec_opts opts = {0};
	const char *env[64];
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		int m;
		const char *v;
		if (!strcmp(argv[i], "--"))
			break;
		if ((v = option_value(argc, argv, &i, "--process", "-p", &m)) || m)
			opts.process_file = v;
		else if ((v = option_value(argc, argv, &i, "--console-socket", NULL, &m)) || m)
			opts.console_socket = v;
		else if ((v = option_value(argc, argv, &i, "--pid-file", NULL, &m)) || m)
			opts.pid_file = v;
		else if ((v = option_value(argc, argv, &i, "--cwd", NULL, &m)) || m)
			opts.cwd = v;
		else if ((v = option_value(argc, argv, &i, "--env", "-e", &m)) || m) {
			if (!v || !strchr(v, '=') || opts.env_count == NK_ARRAY_SIZE(env))
				return usage_error(o, "--env needs K=V");
			env[opts.env_count++] = v;
		} else if (is_flag(argv[i], "--detach", "-d"))
			opts.detach = 1;
		else if (is_flag(argv[i], "--tty", "-t"))
			opts.tty = 1;
		else
			return usage_error(o, "exec: unknown option %s", argv[i]);
	}
	opts.env = env;
	if (i >= argc)
		return usage_error(o, "exec needs a container id");
	const char *id = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	opts.args = argv + i;
	int code;
	return nk_oci_exec(&o->rt, id, &opts, &code, &o->cli->err) < 0 ? fail(o, &o->cli->err) : code;
}

static int cmd_state(struct oci_cli *o, const char *id)
{
	struct nk_oci_state st;
	if (nk_oci_state_read(&o->rt, id, &st, &o->cli->err) < 0)
		return fail(o, &o->cli->err);
	char *json = nk_oci_state_json(&st);
	printf("%s\n", json);
	free(json);
	nk_oci_state_free(&st);
	return 0;
}

static int cmd_list(struct oci_cli *o, int argc, char **argv)
{
	int json = 0, quiet = 0;
	for (int i = 1; i < argc; i++) {
		int m;
		const char *v = option_value(argc, argv, &i, "--format", "-f", &m);
		if (m && v && (!strcmp(v, "json") || !strcmp(v, "table")))
			json = !strcmp(v, "json");
		else if (is_flag(argv[i], "--quiet", "-q"))
			quiet = 1;
		else
			return usage_error(o, "list: unknown option %s", argv[i]);
	}
	struct nk_oci_state *list;
	size_t n;
	if (nk_oci_list(&o->rt, &list, &n, &o->cli->err) < 0)
		return fail(o, &o->cli->err);
	if (json)
		printf("[");
	else if (!quiet)
		printf("%-20s %-8s %-10s %-40s %-20s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			char *s = nk_oci_state_json(&list[i]);
			printf("%s%s", i ? "," : "", s);
			free(s);
		} else if (quiet) {
			printf("%s\n", list[i].id);
		} else {
			char when[64];
			nk_time_iso(list[i].created, when, sizeof(when));
			printf("%-20s %-8d %-10s %-40s %-20s\n", list[i].id,
			       strcmp(list[i].status, "stopped") ? (int)list[i].pid : 0, list[i].status, list[i].bundle, when);
		}
		nk_oci_state_free(&list[i]);
	}
	if (json)
		printf("]\n");
	free(list);
	return 0;
}

static int cmd_ps(struct oci_cli *o, int argc, char **argv)
{
	int json = 0;
	const char *id = NULL;
	for (int i = 1; i < argc; i++) {
		int m;
		const char *v = option_value(argc, argv, &i, "--format", "-f", &m);
		if (m && v)
			json = !strcmp(v, "json");
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			return usage_error(o, "ps: unexpected argument %s", argv[i]);
	}
	if (!id)
		return usage_error(o, "ps needs a container id");
	pid_t *pids;
	size_t n;
	if (nk_oci_pids(&o->rt, id, &pids, &n, &o->cli->err) < 0)
		return fail(o, &o->cli->err);
	if (!json)
		printf("%-8s %s\n", "PID", "CMD");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("%s%d", i ? "," : "[", (int)pids[i]);
			continue;
		}
		char cmd[256];
		nk_proc_comm(pids[i], cmd, sizeof(cmd));
		printf("%-8d %s\n", (int)pids[i], cmd);
	}
	if (json)
		printf("%s]\n", n ? "" : "[");
	free(pids);
	return 0;
}

/* Commands that take just an ID (and kill's signal, delete's --force). */
static int cmd_simple(struct oci_cli *o, const char *name, int argc, char **argv)
{
	int force = 0, all = 0;
	const char *args[2] = {NULL, NULL};
	size_t nargs = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(name, "delete") && is_flag(argv[i], "--force", "-f"))
			force = 1;
		else if (!strcmp(name, "kill") && is_flag(argv[i], "--all", "-a"))
			all = 1;
		else if (argv[i][0] == '-' || nargs == 2)
			return usage_error(o, "unexpected argument %s", argv[i]);
		else
			args[nargs++] = argv[i];
	}
	if (!args[0])
		return usage_error(o, "%s needs a container id", name);
	if (nargs > 1 && strcmp(name, "kill"))
		return usage_error(o, "unexpected argument %s", args[1]);
	struct nk_err *err = &o->cli->err;
	int r;
	if (!strcmp(name, "start"))
		r = nk_oci_start(&o->rt, args[0], err);
	else if (!strcmp(name, "state"))
		return cmd_state(o, args[0]);
	else if (!strcmp(name, "delete"))
		r = nk_oci_delete(&o->rt, args[0], force, err);
	else if (!strcmp(name, "pause") || !strcmp(name, "resume"))
		r = nk_oci_pause(&o->rt, args[0], !strcmp(name, "pause"), err);
	else {
		int sig = args[1] ? parse_signal(args[1]) : SIGTERM;
		if (sig < 0)
			return usage_error(o, "unknown signal %s", args[1]);
		r = nk_oci_kill(&o->rt, args[0], sig, all, err);
	}
	return r < 0 ? fail(o, err) : 0;
}

int nk_cmd_oci(struct nk_cli *cli, int argc, char **argv)
{
	struct oci_cli o = {.cli = cli};
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		int m;
		const char *v;
		if ((v = option_value(argc, argv, &i, "--root", NULL, &m)) || m) {
			o.root = v;
		} else if ((v = option_value(argc, argv, &i, "--log", NULL, &m)) || m) {
			o.log_file = v;
		} else if ((v = option_value(argc, argv, &i, "--log-format", NULL, &m)) || m) {
			if (!v || (strcmp(v, "text") && strcmp(v, "json")))
				return usage_error(&o, "--log-format is text or json, not '%s'", v ? v : "");
			o.log_json = !strcmp(v, "json");
		} else if (is_flag(argv[i], "--systemd-cgroup", NULL)) {
			return usage_error(&o, "--systemd-cgroup is not supported: nook manages cgroupfs paths "
					       "(use --cgroup-manager cgroupfs with podman)");
		} else if (!strcmp(argv[i], "--systemd-cgroup=false") || !strcmp(argv[i], "--debug") ||
			   !strcmp(argv[i], "--rootless=false")) {
			/* The defaults already: nothing to change. */
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("nook-runtime version %s\nspec: %s\n", NOOK_VERSION, NK_OCI_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage_error(&o, "unknown global option %s (see --help)", argv[i]);
		}
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		return 1;
	}
	const char *cmd = argv[i];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "features")) {
		char *json = nk_oci_features_json();
		printf("%s\n", json);
		free(json);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (nk_oci_init(&o.rt, o.root, &cli->paths, &cli->err) < 0)
		return fail(&o, &cli->err);
	if (!strcmp(cmd, "create"))
		return cmd_create(&o, argc, argv);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(&o, argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list(&o, argc, argv);
	if (!strcmp(cmd, "ps"))
		return cmd_ps(&o, argc, argv);
	static const char *const simple[] = {"start", "state", "kill", "delete", "pause", "resume"};
	for (size_t k = 0; k < NK_ARRAY_SIZE(simple); k++)
		if (!strcmp(cmd, simple[k]))
			return cmd_simple(&o, cmd, argc, argv);
	return usage_error(&o, "unknown command %s (see --help)", cmd);
}
