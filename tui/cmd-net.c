/* `nook net create|ls|inspect|rm`: nook's networks (a bridge, a subnet, leases). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/cidr.h"
#include "net/firewall.h"
#include "net/net.h"
#include "tui/cmd.h"

/* Masquerade without forwarding does nothing, and nook leaves that sysctl to the operator. */
static int forwarding_note(const char *name)
{
	int forwarding = nk_host_ip_forward();
	if (forwarding == 0)
		fprintf(stderr, "nook: note: %s masquerades, but this host does not forward IPv4 "
				"(net.ipv4.ip_forward=0): its instances reach only the host until you enable it\n",
			name);
	return forwarding;
}

static int net_create(struct nk_cli *cli, const struct nk_cmd *cmd, int argc, char **argv)
{
	enum { OPT_SUBNET = 256, OPT_MASQ };
	static const struct option longopts[] = {{"subnet", required_argument, NULL, OPT_SUBNET},
						 {"masquerade", no_argument, NULL, OPT_MASQ},
						 {NULL, 0, NULL, 0}};
	const char *subnet = NULL;
	int masq = 0, c;
	optind = 1;
	opterr = 0;
	/* Options may follow the name (getopt permutes here). */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == OPT_SUBNET)
			subnet = optarg;
		else if (c == OPT_MASQ)
			masq = 1;
		else
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return nk_cli_usage_error(cmd, "net create takes one NAME");
	struct nk_network net;
	if (nk_network_create(cli->paths.root, argv[optind], subnet, masq, &net, &cli->err) < 0)
		return nk_cli_fail(cli);
	printf("%s\n", net.name);
	if (masq)
		forwarding_note(net.name);
	return 0;
}

static size_t members(struct nk_cli *cli, const char *name, struct nk_lease **leases)
{
	size_t n = 0;
	struct nk_err err;
	*leases = NULL;
	if (nk_ipam_list(cli->paths.root, name, leases, &n, &err) < 0)
		return 0;
	return n;
}

static int net_ls(struct nk_cli *cli)
{
	struct nk_network *nets = NULL;
	size_t n = 0;
	if (nk_network_list(cli->paths.root, &nets, &n, &cli->err) < 0)
		return nk_cli_fail(cli);
	printf("%-14s %-18s %-16s %-16s %s\n", "NAME", "SUBNET", "GATEWAY", "BRIDGE", "INSTANCES");
	for (size_t i = 0; i < n; i++) {
		char subnet[32] = "?", gw[16] = "?";
		struct nk_lease *leases;
		size_t count = members(cli, nets[i].name, &leases);
		free(leases);
		if (nk_cidr_format(&nets[i].subnet, subnet, sizeof(subnet)) < 0 || nk_ip4_format(nets[i].gateway, gw, sizeof(gw)) < 0)
			continue;
		printf("%-14s %-18s %-16s %-16s %zu%s\n", nets[i].name, subnet, gw, nets[i].bridge, count,
		       nets[i].masquerade ? " (masquerade)" : "");
	}
	if (n == 0)
		printf("no networks yet (the default network `nook` is made by the first `nook run`)\n");
	free(nets);
	return 0;
}

static int net_inspect(struct nk_cli *cli, const char *name)
{
	struct nk_network net;
	if (nk_network_load(cli->paths.root, name, &net, &cli->err) < 0)
		return nk_cli_fail(cli);
	char *text = nk_network_to_json(&net);
	json_object *o = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (!o)
		return NK_EXIT_FAILURE;
	struct nk_lease *leases;
	size_t count = members(cli, name, &leases);
	json_object *m = json_object_new_array();
	for (size_t i = 0; i < count; i++) {
		char ip[16];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "instance", json_object_new_string(leases[i].instance));
		if (nk_ip4_format(leases[i].addr, ip, sizeof(ip)) == 0)
			json_object_object_add(e, "ip", json_object_new_string(ip));
		json_object_array_add(m, e);
	}
	free(leases);
	json_object_object_add(o, "instances", m);
	/* What the kernel holds, read back: the flags above are only what was asked for. */
	struct nk_firewall_status fw;
	struct nk_err fw_err;
	json_object *f = json_object_new_object();
	if (nk_firewall_status(cli->paths.root, &net, &fw, &fw_err) == 0) {
		json_object_object_add(f, "isolated", json_object_new_boolean(fw.isolated));
		json_object_object_add(f, "masquerade", json_object_new_boolean(fw.masquerade));
	} else {
		json_object_object_add(f, "error", json_object_new_string(fw_err.msg));
	}
	int forwarding = net.masquerade ? forwarding_note(name) : nk_host_ip_forward();
	if (forwarding >= 0)
		json_object_object_add(f, "host_forwarding", json_object_new_boolean(forwarding));
	char table[32];
	nk_firewall_table_name(cli->paths.root, table, sizeof(table));
	json_object_object_add(f, "table", json_object_new_string(table));
	json_object_object_add(o, "firewall", f);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static int net_rm(struct nk_cli *cli, int argc, char **argv)
{
	int status = 0;
	for (int i = 0; i < argc; i++) {
		struct nk_network net;
		struct nk_nl *nl = NULL;
		if (nk_network_load(cli->paths.root, argv[i], &net, &cli->err) < 0 ||
		    nk_network_remove(cli->paths.root, argv[i], &cli->err) < 0) {
			status = nk_cli_fail(cli);
			continue;
		}
		if (nk_nl_open(&nl, &cli->err) < 0 || nk_bridge_delete(nl, &net, &cli->err) < 0)
			status = nk_cli_fail(cli);
		else
			printf("%s\n", argv[i]);
		if (nl)
			nk_nl_close(nl);
	}
	return status;
}

int nk_cmd_net(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("net");
	if (argc < 2)
		return nk_cli_usage_error(cmd, "give a subcommand: create, ls, inspect or rm");
	const char *sub = argv[1];
	if (!strcmp(sub, "create"))
		return net_create(cli, cmd, argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
		if (argc != 2)
			return nk_cli_usage_error(cmd, "net ls takes no arguments");
		return net_ls(cli);
	}
	if (!strcmp(sub, "inspect")) {
		if (argc != 3)
			return nk_cli_usage_error(cmd, "net inspect takes one NAME");
		return net_inspect(cli, argv[2]);
	}
	if (!strcmp(sub, "rm")) {
		if (argc < 3)
			return nk_cli_usage_error(cmd, "net rm takes one or more NAMEs");
		return net_rm(cli, argc - 2, argv + 2);
	}
	return nk_cli_usage_error(cmd, "unknown subcommand '%s'", sub);
}
