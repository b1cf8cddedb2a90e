/* The command table: names, usage and help for every command, in one place. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tui/cmd.h"

#include "core/vm-kernel.h"

#define RUN_OPTIONS \
	"  --name NAME          name the instance ([a-zA-Z0-9][a-zA-Z0-9_.-]{0,62})\n" \
	"  -d, --detach         run in the background and print the name\n" \
	"  -i, --interactive    keep stdin open and forward it\n" \
	"  -t, --tty            give the command its own terminal\n" \
	"  --rm                 remove the instance when it ends\n" \
	"  --hostname NAME      the hostname inside (default: the instance name)\n" \
	"  -e, --env K=V        set an environment variable (repeatable)\n" \
	"  -v, --volume H:D[:ro]  bind host path H at D (repeatable)\n" \
	"  -w, --workdir DIR    working directory inside\n" \
	"  --memory SIZE        memory limit (256M, 1G; at least 4M)\n" \
	"  --memory-swap SIZE   memory plus swap (default: no swap beyond --memory; -1: unlimited)\n" \
	"  --cpus N             CPU time, in cores (0.5, 2; at most the host's CPUs)\n" \
	"  --cpuset-cpus LIST   run only on these CPUs (0-1,3)\n" \
	"  --pids N             at most N processes (-1: unlimited)\n" \
	"  --cpu-weight N       relative CPU share, 1-10000 (default 100)\n" \
	"  --io-weight N        relative IO share, 1-10000, where the host's scheduler has weights\n" \
	"  --net NET            bridge (the default network `nook`), none (loopback only),\n" \
	"                       host (the host's network: not isolated) or a network's name\n" \
	"  -p, --publish [127.0.0.1:]HOST:CTR[/tcp|udp]  forward a port of the host's loopback\n" \
	"                       to the container (repeatable; a forwarder in the monitor)\n" \
	"  --profile NAME       sandbox profile: default, strict, devbox, teach, unconfined, or yours\n" \
	"                       (see `nook profile ls`); the flags here override it\n" \
	"  --seccomp FILE.json  a seccomp profile in Docker's format (or `unconfined`)\n" \
	"  --cap-add CAP        add a capability (NET_ADMIN, SYS_TIME..., or ALL; repeatable)\n" \
	"  --cap-drop CAP       drop a capability (repeatable)\n" \
	"  --read-only          mount the root file system read-only\n" \
	"  --vm                 a microVM (nook's own KVM monitor) instead of a container:\n" \
	"    --kernel PATH      the guest kernel (bzImage or ELF); --initrd PATH, --cmdline ARGS\n" \
	"    --boot PROTOCOL    pvh (an ELF kernel's 32-bit PVH entry), linux64 (the 64-bit boot\n" \
	"                       protocol) or auto (the default: pvh when the kernel has the entry)\n" \
	"    --cpus N           vCPUs (may exceed the host's cores); --memory SIZE: guest RAM (256M)\n" \
	"    --disk-size SIZE   the root disk: the image as ext4, made with each instance\n" \
	"                       (default: the image's files + 256M, at least 64M; 64M to 1T)\n" \
	"    without --kernel:  Debian's cloud kernel, fetched on first use (`nook kernel fetch`),\n" \
	"                       with nook's initramfs; the command runs on the console\n" \
	"    --net NET          none (the default for VMs), bridge or a network's name: a tap on its\n" \
	"                       bridge, the address on the kernel command line (nook.ip=, nook.gw=)\n"

const struct nk_cmd nk_cmds[] = {
    {"run", NULL, "[OPTIONS] IMAGE [-- CMD ARG...]", "create and start an instance, attached unless -d",
     RUN_OPTIONS "  --timings            print the start-up phases and their durations (also in inspect);\n"
     "                       a VM's go on to its first instruction, console byte and init\n"
		 "Exit status: the command's; 125 when nook fails, 126 when CMD cannot run, 127 when "
		 "it is not found.\nImages: busybox (built in), host (this machine behind a throwaway layer),\n"
		 "or one imported with `nook image import`.\n",
     nk_cmd_run, 0},
    {"create", NULL, "[OPTIONS] IMAGE [-- CMD ARG...]", "create an instance without starting it",
     RUN_OPTIONS, nk_cmd_create, 0},
    {"start", NULL, "[-a] NAME", "start a created or stopped instance",
     "  -a, --attach         attach to its output (and input with -i) until it ends\n", nk_cmd_start, 0},
    {"stop", NULL, "[-t SECS] NAME...", "stop: SIGTERM, then SIGKILL after the grace time",
     "  -t, --time SECS      grace time before SIGKILL (default 10)\n", nk_cmd_stop, 0},
    {"kill", NULL, "[-s SIGNAL] NAME...", "send a signal to an instance's command",
     "  -s, --signal SIG     signal name or number (default KILL)\n", nk_cmd_kill, 0},
    {"restart", NULL, "[-t SECS] NAME...", "stop, then start again",
     "  -t, --time SECS      grace time before SIGKILL (default 10)\n", nk_cmd_restart, 0},
    {"rm", NULL, "[-f] NAME...", "remove instances and everything they left",
     "  -f, --force          stop running instances first\n", nk_cmd_rm, 0},
    {"ls", "ps", "[-a] [--json]", "list instances (running ones unless -a)",
     "  -a, --all            include created and stopped instances\n"
     "  --json               machine-readable output\n",
     nk_cmd_ls, 0},
    {"pause", NULL, "NAME...", "freeze every process of an instance", "", nk_cmd_pause, 0},
    {"resume", "unpause", "NAME...", "thaw a paused instance", "", nk_cmd_resume, 0},
    {"stats", NULL, "[--no-stream] [--json] [NAME...]", "live CPU, memory, pids and IO of running instances",
     "  --no-stream          print one sample and exit\n"
     "  --json               machine-readable output (one sample)\n"
     "CPU% is of one core (200% = two cores busy); HOST% is of the whole machine.\n",
     nk_cmd_stats, 0},
    {"info", NULL, "", "what nook found on this host: cgroup layout, controllers, paths", "", nk_cmd_info, 0},
    {"inspect", NULL, "NAME...", "show an instance's spec, state and paths as JSON", "", nk_cmd_inspect, 0},
    {"logs", NULL, "[-f] [-n N] NAME", "show an instance's console output",
     "  -f, --follow         keep printing new output until the instance stops\n"
     "  -n, --tail N         only the last N lines\n",
     nk_cmd_logs, 0},
    {"attach", NULL, "NAME", "connect this terminal to a running instance",
     "Detach with Ctrl-P Ctrl-Q; the instance keeps running.\n", nk_cmd_attach, 0},
    {"exec", NULL, "[-i] [-t] [-e K=V] [-w DIR] NAME -- CMD ARG...", "run a command inside a running instance",
     "  -i, --interactive    forward stdin\n"
     "  -t, --tty            give the command a terminal\n"
     "  -e, --env K=V        extra environment variable (repeatable)\n"
     "  -w, --workdir DIR    working directory inside\n",
     nk_cmd_exec, 0},
    {"image", NULL, "ls | import NAME PATH | rm NAME...", "manage images",
     "  ls                   list images\n"
     "  import NAME PATH     import a directory, a rootfs tarball (.tar, .tar.gz, ...),\n"
     "                       an OCI image layout or a `docker save` tarball\n"
     "  rm NAME...           remove images no instance uses\n",
     nk_cmd_image, 0},
    {"kernel", NULL, "fetch [PACKAGE] | ls | initramfs [VERSION] | rm VERSION...", "guest kernels for VMs",
     "  fetch [PACKAGE]      download Debian's cloud kernel (" NK_KERNEL_PACKAGE ") with\n"
     "                       apt-get and unpack it into NOOK_ROOT/kernels (never into /boot);\n"
     "                       then build nook's initramfs for it. `run --vm` does this on first use\n"
     "  ls                   list fetched kernels\n"
     "  initramfs [VERSION]  build the initramfs again (busybox, virtio modules, nook's /init)\n"
     "  rm VERSION...        remove kernels\n",
     nk_cmd_kernel, 0},
    {"shell", NULL, "[-k] [< SCRIPT]", "an interactive shell for every nook command",
     "  -k, --keep-going     in a script, carry on after a failing command\n"
     "With a terminal: history in ~/.nook_history, Tab completes commands, options and names.\n"
     "From a file or pipe: runs one command per line and stops at the first error.\n",
     nk_cmd_shell, 0},
    {"tui", "dashboard", "", "the dashboard: every instance live, with keys for everything", "", nk_cmd_tui, 0},
    {"net", "network", "create NAME [--subnet CIDR] | ls | inspect NAME | rm NAME...", "manage networks",
     "  create NAME          a new network with its own bridge (names up to 12 characters)\n"
     "    --subnet CIDR      its IPv4 subnet, required (e.g. 10.89.0.0/24); it may not overlap\n"
     "                       another network or any address or route of the host\n"
     "    --masquerade       NAT its IPv4 traffic leaving through any other interface; nook never\n"
     "                       turns forwarding on: enable it yourself (sysctl net.ipv4.ip_forward=1)\n"
     "  ls                   list networks\n"
     "  inspect NAME         its subnet, bridge, members, and the firewall the kernel holds, as JSON\n"
     "  rm NAME...           remove networks no instance uses (and their firewall rules)\n"
     "The default network `nook` is made on first use: bridge nook0 with NOOK_DEFAULT_SUBNET or\n"
     "10.88.0.0/16; under another NOOK_ROOT, bridge nook<hash> with a free /24 of 10.87.0.0/16.\n"
     "Firewall: nftables table inet nook (nook-<hash> for another root) drops traffic between\n"
     "different networks even when the host forwards; see docs/networking.md.\n",
     nk_cmd_net, 0},
    {"profile", NULL, "ls | show NAME | generate NAME --from INSTANCE", "sandbox profiles: seccomp, capabilities, mounts, defaults",
     "  ls                   list profiles (yours in NOOK_ROOT/profiles first, then nook's)\n"
     "  show NAME            what a profile sets up\n"
     "  generate NAME --from INSTANCE\n"
     "                       the smallest seccomp profile for what INSTANCE did under\n"
     "                       `--profile learn` (written to NOOK_ROOT/profiles)\n"
     "Use one with `nook run --profile NAME`; the format is in docs/profiles.md.\n",
     nk_cmd_profile, 0},
    {"events", NULL, "[-f] [-n N] NAME", "an instance's events: denied system calls, OOM kills, exits",
     "  -f, --follow         keep printing new events until the instance stops\n"
     "  -n, --tail N         only the last N events\n"
     "Denied system calls are reported live under a profile with seccomp-notify (teach).\n",
     nk_cmd_events, 0},
    {"drill", NULL, "[--profile NAME] NAME|IMAGE", "escape attempts inside a sandbox, and which layer stopped each",
     "  --profile NAME  the sandbox profile to drill (default: default); every denial is reported live\n"
     "  --json          the attempts as JSON\n"
     "IMAGE: a throwaway instance (--net none, --pids 48, --memory 32M) is made, drilled and removed.\n"
     "NAME: a running container is drilled as it is (its profile, limits, filter; denials reported live\n"
     "to the drill); the agent is copied into its root and removed after. Without a pids or memory limit\n"
     "the fork bomb or memory hog is not run (nothing but the host would stop it).",
     nk_cmd_drill, 0},
    {"compare", NULL, "[--json] [IMAGE] [-- CMD]", "the same workload as a container and as a VM, side by side",
     "  --json   every field; null and a reason where a side cannot be measured here\n"
     "IMAGE defaults to busybox; CMD runs after the facts are gathered.",
     nk_cmd_compare, 0},
    {"diff", NULL, "NAME", "what an instance added, changed and deleted (its overlay's upper layer)", "",
     nk_cmd_diff, 0},
    {"cp", NULL, "NAME:PATH HOSTPATH | HOSTPATH NAME:PATH", "copy files out of or into an instance", "",
     nk_cmd_cp, 0},
    {"commit", NULL, "NAME IMAGE", "keep an instance's root file system as a new image", "", nk_cmd_commit, 0},
    {"oci", NULL, "[--root DIR] COMMAND [OPTIONS] ID", "the OCI runtime interface (runc's command line) for podman and others",
     "create, start, state, kill, delete, exec, list, pause, resume, ps, features, --version.\n"
     "The same binary installed as nook-runtime answers to these directly.\n"
     "`nook oci help` lists every option; docs/oci.md what config.json may contain.\n",
     nk_cmd_oci, 0},
    {"version", NULL, "", "print nook's version", "", nk_cmd_version, 0},
    {"help", NULL, "[COMMAND]", "show help for nook or one command", "", nk_cmd_help, 0},
    {"monitor", NULL, "NAME FLAGS", "an instance's monitor (started by nook itself)", "", nk_cmd_monitor, 1},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};

const struct nk_cmd *nk_cmd_find(const char *name)
{
	for (const struct nk_cmd *c = nk_cmds; c->name; c++)
		if (!strcmp(c->name, name) || (c->alias && !strcmp(c->alias, name)))
			return c;
	return NULL;
}

void nk_cmd_usage(const struct nk_cmd *cmd, int to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	fprintf(f, "usage: nook %s %s\n\n%s.\n", cmd->name, cmd->usage, cmd->summary);
	if (cmd->help && *cmd->help)
		fprintf(f, "\n%s", cmd->help);
}

int nk_cmd_wants_help(const struct nk_cmd *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			nk_cmd_usage(cmd, 0);
			return 1;
		}
	}
	return 0;
}

int nk_cli_fail(struct nk_cli *cli)
{
	fprintf(stderr, "nook: %s\n", cli->err.msg[0] ? cli->err.msg : "failed");
	return NK_EXIT_FAILURE;
}

int nk_cli_usage_error(const struct nk_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "nook %s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: nook %s %s (see `nook %s --help`)\n", cmd->name, cmd->usage, cmd->name);
	return NK_EXIT_FAILURE;
}
