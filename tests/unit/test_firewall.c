/* Unit tests for the nf_tables firewall: rules read back from the kernel, isolation with
 * forwarding on, masquerade, host route checks. Each test runs in a network namespace of
 * its own (fresh_netns), so the host's firewall, forwarding and routes are never touched;
 * net.ipv4.ip_forward is per namespace, and only the test's own is turned on. */
#include <libnftnl/rule.h>

#include "net/firewall.h"
#include "net/hostnet.h"
#include "net/nft-rule.h"
#include "net/nft.h"
#include "test_net_util.h"

struct comments {
	char text[64][96];
	int count;
};

static void collect(const struct nftnl_rule *r, void *opaque)
{
	struct comments *c = opaque;
	if (c->count < 64)
		nk_nft_rule_comment(r, c->text[c->count++], sizeof(c->text[0]));
}

static int count_comment(const struct comments *c, const char *text)
{
	int n = 0;
	for (int i = 0; i < c->count; i++)
		n += strcmp(c->text[i], text) == 0;
	return n;
}

static int read_rules(struct comments *c)
{
	char table[32];
	struct nk_err err = {0};
	nk_firewall_table_name(root, table, sizeof(table));
	memset(c, 0, sizeof(*c));
	return nk_nft_rules(table, collect, c, &err);
}

static void table_exists(bool want)
{
	char table[32];
	struct nk_err err = {0};
	nk_firewall_table_name(root, table, sizeof(table));
	assert_int_equal(nk_nft_chain_exists(table, "forward", &err), want ? 1 : 0);
}

static void set_forwarding(int on)
{
	/* The test's own namespace (fresh_netns moved us into it), never the host's. */
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "w");
	assert_non_null(f);
	assert_true(fprintf(f, "%d\n", on) > 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(nk_host_ip_forward(), on);
}

static void rules_follow_networks(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network web, lab;
	char table[32];
	nk_firewall_table_name(root, table, sizeof(table));
	assert_memory_equal(table, "nook-", 5); /* a private root's own table */
	table_exists(false);
	assert_int_equal(nk_network_create(root, "web", "10.90.0.0/24", true, &web, &err), 0);
	assert_int_equal(nk_network_create(root, "lab", "10.91.0.0/24", false, &lab, &err), 0);
	struct nk_firewall_status st;
	assert_int_equal(nk_firewall_status(root, &web, &st, &err), 0);
	assert_true(st.isolated && st.masquerade);
	assert_int_equal(nk_firewall_status(root, &lab, &st, &err), 0);
	assert_true(st.isolated && !st.masquerade);
	assert_int_equal(nk_firewall_programmed(root, &lab, &err), 1);

	struct comments c;
	assert_int_equal(read_rules(&c), 0);
	assert_int_equal(count_comment(&c, "web: isolation"), 4);
	assert_int_equal(count_comment(&c, "lab: isolation"), 4);
	assert_int_equal(count_comment(&c, "web: masquerade"), 1);
	assert_int_equal(count_comment(&c, "lab: masquerade"), 0);
	int all = c.count;

	/* a rebuild is idempotent */
	assert_int_equal(nk_network_firewall_rebuild(root, &err), 0);
	assert_int_equal(nk_network_firewall_rebuild(root, &err), 0);
	assert_int_equal(read_rules(&c), 0);
	assert_int_equal(c.count, all);

	/* removing a network removes its rules, the last one the table */
	assert_int_equal(nk_network_remove(root, "web", &err), 0);
	assert_int_equal(nk_firewall_status(root, &web, &st, &err), 0);
	assert_false(st.isolated || st.masquerade);
	assert_int_equal(read_rules(&c), 0);
	assert_int_equal(count_comment(&c, "web: isolation") + count_comment(&c, "web: masquerade"), 0);
	assert_int_equal(count_comment(&c, "lab: isolation"), 4);
	assert_int_equal(nk_network_remove(root, "lab", &err), 0);
	table_exists(false);
	assert_int_equal(nk_firewall_programmed(root, &lab, &err), 0);
}

static bool everyone(const char *instance, void *ctx)
{
	(void)instance;
	(void)ctx;
	return true;
}

static void start_restores_lost_rules(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network net;
	assert_int_equal(nk_network_create(root, "lab", "10.77.0.0/24", false, &net, &err), 0);
	/* as after a reboot or an `nft flush ruleset`: the state says lab, the kernel nothing */
	assert_int_equal(nk_firewall_sync(root, NULL, 0, &err), 0);
	table_exists(false);
	struct ctr a;
	ctr_start(&a);
	struct nk_net_attachment at;
	attach("lab", "a", &a, &at);
	assert_int_equal(nk_firewall_programmed(root, &net, &err), 1);
	/* and reconcile replaces whatever is there with what the networks say */
	assert_int_equal(nk_firewall_sync(root, NULL, 0, &err), 0);
	size_t leases, links;
	assert_int_equal(nk_net_reconcile(nl, root, everyone, NULL, &leases, &links, &err), 0);
	assert_int_equal(leases + links, 0);
	assert_int_equal(nk_firewall_programmed(root, &net, &err), 1);
	ctr_stop(&a);
}

/* A TCP connect from client_ns to ip:port that must not get through (1 s is plenty on a
 * bridge: the packet is either routed at once or dropped). */
static bool tcp_connects(int server_ns, uint32_t server_ip, int client_ns)
{
	int l = socket_in(server_ns, SOCK_STREAM);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(server_ip)};
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(l, 4), 0);
	int c = socket_in(client_ns, SOCK_STREAM);
	struct timeval tv = {.tv_sec = 1};
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	bool ok = connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(c);
	close(l);
	return ok;
}

static void networks_isolated_with_forwarding_on(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network x, y;
	assert_int_equal(nk_network_create(root, "x", "10.77.1.0/24", false, &x, &err), 0);
	assert_int_equal(nk_network_create(root, "y", "10.77.2.0/24", false, &y, &err), 0);
	struct ctr a, a2, b;
	ctr_start(&a);
	ctr_start(&a2);
	ctr_start(&b);
	struct nk_net_attachment at_a, at_a2, at_b;
	attach("x", "a", &a, &at_a);
	attach("x", "a2", &a2, &at_a2);
	attach("y", "b", &b, &at_b);
	set_forwarding(1);
	/* same network: still fine (bridged; through the forward hook with br_netfilter) */
	tcp_works(a2.netns, at_a2.addr, a.netns);
	/* different networks: the host would route between them, the firewall drops it */
	assert_false(tcp_connects(b.netns, at_b.addr, a.netns));
	assert_false(tcp_connects(a.netns, at_a.addr, b.netns));
	/* the control: without nook's table the same connections get through */
	assert_int_equal(nk_firewall_sync(root, NULL, 0, &err), 0);
	assert_true(tcp_connects(b.netns, at_b.addr, a.netns));
	assert_true(tcp_connects(a.netns, at_a.addr, b.netns));
	assert_int_equal(nk_network_firewall_rebuild(root, &err), 0);
	assert_false(tcp_connects(b.netns, at_b.addr, a.netns));
	set_forwarding(0);
	ctr_stop(&a);
	ctr_stop(&a2);
	ctr_stop(&b);
}

/* A veth in the test's namespace with an address and a route, as the host's own. */
static void host_link(const char *name, const char *addr, int prefix, const char *route)
{
	struct nl_sock *sk = nl_socket_in(-1);
	struct rtnl_link *v = rtnl_link_veth_alloc(), *peer = rtnl_link_veth_get_peer(v);
	char peer_name[IFNAMSIZ];
	snprintf(peer_name, sizeof(peer_name), "%s-p", name);
	rtnl_link_set_name(v, name);
	rtnl_link_set_name(peer, peer_name);
	rtnl_link_set_flags(v, IFF_UP);
	assert_int_equal(rtnl_link_add(sk, v, NLM_F_CREATE | NLM_F_EXCL), 0);
	rtnl_link_put(peer);
	rtnl_link_veth_release(v);
	nl_socket_free(sk);
	int ifindex = (int)if_nametoindex(name);
	char cmd[256];
	assert_true(ifindex > 0);
	snprintf(cmd, sizeof(cmd), "ip addr add %s/%d dev %s && ip link set %s-p up && ip route add %s dev %s",
		 addr, prefix, name, name, route, name);
	assert_int_equal(system(cmd), 0);
}

static void subnets_the_host_uses_are_refused(void **state)
{
	(void)state;
	fresh_netns();
	host_link("uplink", "10.50.1.1", 16, "10.60.0.0/16");
	struct nk_err err = {0};
	struct nk_network net;
	assert_int_equal(nk_network_create(root, "a", "10.50.3.0/24", false, &net, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "address 10.50.1.1/16 dev uplink"));
	assert_int_equal(nk_network_create(root, "a", "10.60.3.0/24", false, &net, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "route 10.60.0.0/16 dev uplink"));
	assert_int_equal(nk_network_create(root, "a", "10.0.0.0/8", false, &net, &err), -EEXIST);
	assert_int_equal(nk_network_load(root, "a", &net, &err), -ENOENT); /* nothing half-made */
	table_exists(false);
	assert_int_equal(nk_network_create(root, "a", "10.61.0.0/16", false, &net, &err), 0);
	setenv("NOOK_DEFAULT_SUBNET", "10.60.128.0/24", 1);
	assert_int_equal(nk_network_open(root, NULL, &net, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "NOOK_DEFAULT_SUBNET"));

	/* Without NOOK_DEFAULT_SUBNET, a private root's default network skips the /24 its hash
	 * would pick when the host uses it. */
	unsetenv("NOOK_DEFAULT_SUBNET");
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	struct nk_cidr first = net.subnet;
	assert_int_equal(nk_network_remove(root, "nook", &err), 0);
	char addr[NK_IP4_STRLEN], route[NK_CIDR_STRLEN];
	assert_int_equal(nk_ip4_format(first.addr + 1, addr, sizeof(addr)), 0);
	assert_int_equal(nk_cidr_format(&(struct nk_cidr){.addr = first.addr + 256, .prefix = 24}, route,
					 sizeof(route)), 0);
	host_link("taken", addr, 24, route); /* the first choice and the next one */
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	assert_int_equal(net.subnet.prefix, 24);
	assert_int_not_equal(net.subnet.addr, first.addr);
	assert_int_not_equal(net.subnet.addr, first.addr + 256);
	struct nk_host_nets host;
	char what[96];
	assert_int_equal(nk_host_nets_read(&host, &err), 0);
	assert_false(nk_host_nets_conflict(&host, &net.subnet, net.bridge, what, sizeof(what)));
	nk_host_nets_free(&host);
	/* its own bridge's address is not a conflict */
	int br;
	assert_int_equal(nk_bridge_ensure(nl, &net, &br, &err), 0);
	assert_int_equal(nk_host_nets_read(&host, &err), 0);
	assert_false(nk_host_nets_conflict(&host, &net.subnet, net.bridge, what, sizeof(what)));
	assert_true(nk_host_nets_conflict(&host, &net.subnet, NULL, what, sizeof(what)));
	nk_host_nets_free(&host);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(rules_follow_networks),
	    T(start_restores_lost_rules),
	    T(networks_isolated_with_forwarding_on),
	    T(subnets_the_host_uses_are_refused),
	};
	return cmocka_run_group_tests_name("firewall", tests, NULL, NULL);
}
