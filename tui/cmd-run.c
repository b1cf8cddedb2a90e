/* `nook run` and `nook create`: flags into run options, then create (and start, attach). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/ctl.h"
#include "core/instance.h"
#include "core/parse.h"
#include "core/util.h"
#include "core/vm-disk.h"
#include "core/vm-kernel.h"
#include "core/vm/vmm.h"
#include "tui/cmd.h"
#include "tui/relay.h"
#include "tui/run-timings.h"

struct run_args {
	struct nk_run_opts opts;
	int timings; /* print the start-up phases */
	const char *cpus; /* --cpus as given */
	int boot_given;   /* --boot, even "auto" (which leaves opts.vm_boot NULL) */
	char pwd[4096];
	const char *env[256];
	struct nk_volume volumes[64];
	char *env_owned[256];
};

/* "NET_ADMIN", "CAP_SYS_TIME,CHOWN" or "ALL" into a capability mask. */
static int parse_caps(const char *list, uint64_t *mask, struct nk_err *err)
{
	char buf[512];
	*mask = 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return nk_err_msg(err, EINVAL, "capability list too long");
	for (char *save = NULL, *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		if (!strcasecmp(c, "ALL")) {
			*mask |= nk_caps_bounding(); /* all that nook itself holds */
			continue;
		}
		int n = nk_cap_from_name(c);
		if (n < 0)
			return nk_err_msg(err, EINVAL, "unknown capability '%s' (names like NET_ADMIN or CAP_SYS_TIME, or ALL)", c);
		*mask |= 1ull << n;
	}
	return 0;
}

/* --memory and friends, in the order of the option enum. */
static int parse_limit(int which, const char *value, struct nk_limits *l, struct nk_err *err)
{
	static int (*const setters[])(struct nk_limits *, const char *, struct nk_err *) = {
	    nk_limits_set_memory, nk_limits_set_memory_swap, nk_limits_set_cpus,      nk_limits_set_cpuset,
	    nk_limits_set_pids,   nk_limits_set_cpu_weight,  nk_limits_set_io_weight,
	};
	return setters[which](l, value, err);
}

/* Parse the options shared by run and create; returns 0 or an exit code. */
static int parse_run_args(const struct nk_cmd *cmd, struct nk_cli *cli, int argc, char **argv,
			  struct run_args *a)
{
	enum { OPT_NAME = 256, OPT_RM, OPT_HOSTNAME, OPT_MEMORY, OPT_SWAP, OPT_CPUS, OPT_CPUSET, OPT_PIDS,
	       OPT_CPU_WEIGHT, OPT_IO_WEIGHT, OPT_NET, OPT_TIMINGS, OPT_PROFILE, OPT_SECCOMP, OPT_CAP_ADD,
	       OPT_CAP_DROP, OPT_READ_ONLY, OPT_VM, OPT_KERNEL, OPT_INITRD, OPT_CMDLINE, OPT_DISK_SIZE,
	       OPT_BOOT };
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, OPT_NAME}, {"detach", no_argument, NULL, 'd'},
	    {"interactive", no_argument, NULL, 'i'},     {"tty", no_argument, NULL, 't'},
	    {"rm", no_argument, NULL, OPT_RM},           {"hostname", required_argument, NULL, OPT_HOSTNAME},
	    {"env", required_argument, NULL, 'e'},       {"volume", required_argument, NULL, 'v'},
	    {"workdir", required_argument, NULL, 'w'},   {"memory", required_argument, NULL, OPT_MEMORY},
	    {"memory-swap", required_argument, NULL, OPT_SWAP}, {"cpus", required_argument, NULL, OPT_CPUS},
	    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET}, {"pids", required_argument, NULL, OPT_PIDS},
	    {"cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT},
	    {"io-weight", required_argument, NULL, OPT_IO_WEIGHT}, {"net", required_argument, NULL, OPT_NET},
	    {"network", required_argument, NULL, OPT_NET},     {"publish", required_argument, NULL, 'p'},
	    {"timings", no_argument, NULL, OPT_TIMINGS},     {"profile", required_argument, NULL, OPT_PROFILE},
	    {"seccomp", required_argument, NULL, OPT_SECCOMP}, {"cap-add", required_argument, NULL, OPT_CAP_ADD},
	    {"cap-drop", required_argument, NULL, OPT_CAP_DROP}, {"read-only", no_argument, NULL, OPT_READ_ONLY},
	    {"vm", no_argument, NULL, OPT_VM},                {"kernel", required_argument, NULL, OPT_KERNEL},
	    {"initrd", required_argument, NULL, OPT_INITRD},  {"cmdline", required_argument, NULL, OPT_CMDLINE},
	    {"disk-size", required_argument, NULL, OPT_DISK_SIZE}, {"boot", required_argument, NULL, OPT_BOOT},
	    {NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+dite:v:w:p:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			a->opts.name = optarg;
			break;
		case 'd':
			a->opts.detach = 1;
			break;
		case 'i':
			a->opts.interactive = 1;
			break;
		case 't':
			a->opts.tty = 1;
			break;
		case OPT_RM:
			a->opts.remove = 1;
			break;
		case OPT_HOSTNAME:
			a->opts.hostname = optarg;
			break;
		case 'e': {
			if (a->opts.env_count >= NK_ARRAY_SIZE(a->env))
				return nk_cli_usage_error(cmd, "too many -e options");
			if (nk_env_check(optarg, &cli->err) < 0)
				return nk_cli_fail(cli);
			const char *entry = optarg;
			if (!strchr(optarg, '=')) {
				/* -e NAME passes the caller's value, as Docker does. */
				const char *v = getenv(optarg);
				if (!v)
					break;
				size_t len = strlen(optarg) + strlen(v) + 2;
				char *owned = malloc(len);
				if (!owned)
					return NK_EXIT_FAILURE;
				snprintf(owned, len, "%s=%s", optarg, v);
				a->env_owned[a->opts.env_count] = owned;
				entry = owned;
			}
			a->env[a->opts.env_count++] = entry;
			break;
		}
		case 'v':
			if (a->opts.volume_count >= NK_ARRAY_SIZE(a->volumes))
				return nk_cli_usage_error(cmd, "too many -v options");
			if (nk_volume_parse(optarg, &a->volumes[a->opts.volume_count], &cli->err) < 0)
				return nk_cli_fail(cli);
			a->opts.volume_count++;
			break;
		case 'w':
			a->opts.workdir = optarg;
			break;
		case OPT_NET:
			a->opts.network = optarg;
			break;
		case OPT_TIMINGS:
			a->timings = 1;
			break;
		case OPT_PROFILE:
			a->opts.profile = optarg;
			break;
		case OPT_SECCOMP:
			a->opts.seccomp = optarg;
			break;
		case OPT_READ_ONLY:
			a->opts.read_only = 1;
			break;
		case OPT_VM:
			a->opts.vm = 1;
			break;
		case OPT_KERNEL:
			a->opts.vm_kernel = optarg;
			break;
		case OPT_INITRD:
			a->opts.vm_initrd = optarg;
			break;
		case OPT_CMDLINE:
			a->opts.vm_cmdline = optarg;
			break;
		case OPT_BOOT:
			if (strcmp(optarg, "pvh") && strcmp(optarg, "linux64") && strcmp(optarg, "auto"))
				return nk_cli_usage_error(cmd, "--boot is auto, pvh or linux64, not '%s'", optarg);
			a->opts.vm_boot = strcmp(optarg, "auto") ? optarg : NULL;
			a->boot_given = 1;
			break;
		case OPT_DISK_SIZE:
			if (nk_size_parse(optarg, &a->opts.vm_disk_size, &cli->err) < 0)
				return nk_cli_fail(cli);
			if (a->opts.vm_disk_size < NK_VM_DISK_MIN || a->opts.vm_disk_size > NK_VM_DISK_MAX)
				return nk_cli_usage_error(cmd, "--disk-size is from 64M to 1T, not '%s'", optarg);
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP: {
			uint64_t mask;
			if (parse_caps(optarg, &mask, &cli->err) < 0)
				return nk_cli_fail(cli);
			if (c == OPT_CAP_ADD)
				a->opts.cap_add |= mask;
			else
				a->opts.cap_drop |= mask;
			break;
		}
		case 'p':
			if (a->opts.port_count >= NK_PORTS_MAX)
				return nk_cli_usage_error(cmd, "at most %d -p options", NK_PORTS_MAX);
			if (nk_port_parse(optarg, &a->opts.ports[a->opts.port_count], &cli->err) < 0)
				return nk_cli_fail(cli);
			a->opts.port_count++;
			break;
		case OPT_CPUS:
			a->cpus = optarg; /* a quota for containers, a vCPU count for VMs: decided below */
			break;
		case OPT_MEMORY:
		case OPT_SWAP:
		case OPT_CPUSET:
		case OPT_PIDS:
		case OPT_CPU_WEIGHT:
		case OPT_IO_WEIGHT:
			if (parse_limit(c - OPT_MEMORY, optarg, &a->opts.limits, &cli->err) < 0)
				return nk_cli_fail(cli);
			break;
		default:
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (a->cpus && a->opts.vm) {
		char *end;
		unsigned long v = strtoul(a->cpus, &end, 10);
		if (!*a->cpus || *end || v < 1 || v > 64)
			return nk_cli_usage_error(cmd, "with --vm, --cpus is a number of vCPUs from 1 to 64 (it may exceed "
						  "the host's cores), not '%s'", a->cpus);
		a->opts.vm_vcpus = (unsigned)v;
	} else if (a->cpus && parse_limit(OPT_CPUS - OPT_MEMORY, a->cpus, &a->opts.limits, &cli->err) < 0) {
		return nk_cli_fail(cli);
	}
	if (!a->opts.vm && (a->opts.vm_kernel || a->opts.vm_initrd || a->opts.vm_cmdline || a->opts.vm_disk_size ||
			    a->boot_given))
		return nk_cli_usage_error(cmd, "--kernel, --initrd, --cmdline, --disk-size and --boot are for --vm instances");
	if (a->opts.vm && !a->opts.network)
		a->opts.network = "none";
	if (optind >= argc)
		return nk_cli_usage_error(cmd, "an IMAGE is needed (try busybox or host)");
	a->opts.image = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	a->opts.cmd = argv + optind;
	a->opts.cmd_count = argc - optind;
	a->opts.env = a->env;
	a->opts.volumes = a->volumes;
	/* A profile's $PWD and $HOME are the caller's. */
	a->opts.pwd = getcwd(a->pwd, sizeof(a->pwd)) ? a->pwd : NULL;
	a->opts.home = getenv("HOME");
	if (a->opts.remove && a->opts.detach && a->opts.tty && !a->opts.interactive) {
		/* -dt --rm is allowed; nothing to check. */
	}
	return 0;
}

/* The first `run --vm` without --kernel downloads the default kernel: say so before the
 * wait (on a PVM host the create refuses first and nothing is fetched). */
static void note_kernel_fetch(struct nk_cli *cli, const struct nk_run_opts *opts)
{
	struct nk_kernel k;
	struct nk_vm_caps caps;
	struct nk_err ignored;
	if (!opts->vm || opts->vm_kernel || nk_vm_probe(&caps, &ignored) < 0 || caps.pvm ||
	    nk_kernel_find(&cli->paths, NULL, &k, &ignored) != -ENOENT)
		return;
	fprintf(stderr, "nook: no guest kernel yet: fetching %s with apt-get (once; see `nook kernel`)...\n",
		NK_KERNEL_PACKAGE);
}

static void free_run_args(struct run_args *a)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(a->env_owned); i++)
		free(a->env_owned[i]);
}

int nk_cmd_create(struct nk_cli *cli, int argc, char **argv)
{
	struct run_args a;
	int r = parse_run_args(nk_cmd_find("create"), cli, argc, argv, &a);
	if (r != 0)
		return r;
	char name[64];
	note_kernel_fetch(cli, &a.opts);
	r = nk_inst_create(&cli->paths, &a.opts, name, sizeof(name), &cli->err);
	free_run_args(&a);
	if (r < 0)
		return nk_cli_fail(cli);
	printf("%s\n", name);
	return 0;
}

/* Attach this terminal to an instance through an attached control connection; boot, when
 * given, collects a VM's boot boundaries on the way. */
static int attach_fd(struct nk_cli *cli, const char *name, int fd, int tty, int stdin_on,
		     struct nk_boot_report *boot)
{
	struct nk_relay relay = {.ctl_fd = fd, .tty = tty, .forward_stdin = stdin_on,
				 .on_timeline = boot ? nk_boot_report_update : NULL, .opaque = boot};
	if (tty && isatty(STDIN_FILENO))
		fprintf(stderr, "nook: attached to %s; detach with Ctrl-P Ctrl-Q\r\n", name);
	enum nk_relay_end end = nk_relay_run(&relay);
	close(fd);
	if (boot)
		nk_boot_report_finish(boot);
	if (end == NK_RELAY_DETACHED) {
		fprintf(stderr, "\nnook: detached from %s; it keeps running (`nook attach %s`)\n", name, name);
		return 0;
	}
	if (end == NK_RELAY_LOST) {
		(void)cli;
		fprintf(stderr, "nook: lost the connection to the monitor of %s\n", name);
		return NK_EXIT_FAILURE;
	}
	return relay.exit_code;
}

int nk_cli_attach_fd(struct nk_cli *cli, const char *name, int fd, int tty, int stdin_on)
{
	return attach_fd(cli, name, fd, tty, stdin_on, NULL);
}

int nk_cmd_run(struct nk_cli *cli, int argc, char **argv)
{
	struct run_args a;
	int r = parse_run_args(nk_cmd_find("run"), cli, argc, argv, &a);
	if (r != 0)
		return r;
	char name[64];
	note_kernel_fetch(cli, &a.opts);
	uint64_t plan_start = nk_now_ns();
	r = nk_inst_create(&cli->paths, &a.opts, name, sizeof(name), &cli->err);
	uint64_t plan_ns = nk_now_ns() - plan_start;
	if (r < 0) {
		free_run_args(&a);
		return nk_cli_fail(cli);
	}
	unsigned flags = a.opts.detach ? 0 : NK_ATTACH_OUTPUT | (a.opts.interactive ? NK_ATTACH_STDIN : 0);
	if (a.timings)
		flags |= NK_ATTACH_TIMELINE; /* a VM's boot boundaries come after the start */
	int fd = -1;
	struct nk_timeline timeline = {0};
	r = nk_inst_start_timed(&cli->paths, name, flags, a.opts.detach && !a.timings ? NULL : &fd, &timeline,
				&cli->err);
	struct nk_boot_report boot = {.name = name};
	if (r == 0 && a.timings) {
		char text[1024];
		nk_timeline_format(&timeline, text, sizeof(text));
		fprintf(stderr, "nook: %s started: plan %.2f ms, %s\n", name, (double)plan_ns / 1e6, text);
		if (a.opts.detach) {
			if (timeline.vm_count)
				nk_boot_report_wait(&boot, fd, 10000);
			close(fd);
		}
	}
	int tty = a.opts.tty, interactive = a.opts.interactive, detach = a.opts.detach, timings = a.timings;
	free_run_args(&a);
	if (r < 0) {
		/* The user got nothing usable: take the half-started instance away again. */
		struct nk_err saved = cli->err, ignored;
		(void)!nk_inst_remove(&cli->paths, name, 1, &ignored);
		cli->err = saved;
		return nk_cli_fail(cli);
	}
	if (detach) {
		printf("%s\n", name);
		return 0;
	}
	return attach_fd(cli, name, fd, tty, interactive, timings && timeline.vm_count ? &boot : NULL);
}
