/* Unit tests for bridge and veth set-up and traffic: real links, each test in a fresh netns. */
#include "test_net_util.h"

static void bridge_up_with_gateway(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network net;
	int idx, again;
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	if (nk_bridge_ensure(nl, &net, &idx, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(nk_bridge_ensure(nl, &net, &again, &err), 0); /* idempotent */
	assert_int_equal(idx, again);
	struct nl_sock *sk = nl_socket_in(-1);
	struct rtnl_link *br = link_get(sk, dflt_bridge);
	assert_non_null(br);
	assert_string_equal(rtnl_link_get_type(br), "bridge");
	assert_true(rtnl_link_get_flags(br) & IFF_UP);
	assert_int_equal(rtnl_link_get_ifindex(br), idx);
	rtnl_link_put(br);
	assert_true(has_addr(sk, idx, ip("10.88.0.1"), 16));
	nl_socket_free(sk);
}

static void bridge_name_taken_by_other_link(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network net;
	assert_int_equal(nk_network_create(root, "web", "10.90.0.0/24", false, &net, &err), 0);
	struct nl_sock *sk = nl_socket_in(-1);
	struct rtnl_link *v = rtnl_link_veth_alloc(), *peer = rtnl_link_veth_get_peer(v);
	rtnl_link_set_name(v, "nk-web");
	rtnl_link_set_name(peer, "nk-web-p");
	assert_int_equal(rtnl_link_add(sk, v, NLM_F_CREATE | NLM_F_EXCL), 0);
	rtnl_link_put(peer);
	rtnl_link_veth_release(v);
	nl_socket_free(sk);
	int idx;
	assert_int_equal(nk_bridge_ensure(nl, &net, &idx, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not a bridge"));
}

static void veth_in_container(void **state)
{
	(void)state;
	fresh_netns();
	struct ctr c;
	ctr_start(&c);
	struct nk_net_attachment at;
	attach(NULL, "web", &c, &at);
	assert_int_equal(at.addr, ip("10.88.0.2"));
	assert_int_equal(at.gateway, ip("10.88.0.1"));
	assert_int_equal(at.prefix, 16);
	char want[NK_IFNAMSIZ], key[160];
	nk_net_link_key(root, "web", key, sizeof(key));
	nk_veth_host_name(key, want);
	assert_string_equal(at.host_if, want);
	assert_int_equal(strlen(at.host_if), 15);
	assert_memory_equal(at.host_if, "nkv", 3);

	/* host end: up, on the bridge, labelled with its instance */
	struct nl_sock *sk = nl_socket_in(-1);
	struct rtnl_link *host = link_get(sk, at.host_if), *br = link_get(sk, dflt_bridge);
	assert_non_null(host);
	assert_non_null(br);
	assert_int_equal(rtnl_link_get_master(host), rtnl_link_get_ifindex(br));
	assert_true(rtnl_link_get_flags(host) & IFF_UP);
	assert_string_equal(rtnl_link_get_ifalias(host), key);
	assert_int_equal(rtnl_link_get_ifindex(host), at.host_ifindex);
	rtnl_link_put(host);
	rtnl_link_put(br);
	assert_null(link_get(sk, "eth0")); /* never in the host namespace */
	nl_socket_free(sk);

	/* container end: eth0 up with the address and MAC, lo up, default route */
	sk = nl_socket_in(c.netns);
	struct rtnl_link *eth0 = link_get(sk, "eth0"), *lo = link_get(sk, "lo");
	assert_non_null(eth0);
	assert_non_null(lo);
	assert_true(rtnl_link_get_flags(eth0) & IFF_UP);
	assert_true(rtnl_link_get_flags(lo) & IFF_UP);
	char mac[32];
	nl_addr2str(rtnl_link_get_addr(eth0), mac, sizeof(mac));
	assert_string_equal(mac, "0a:58:0a:58:00:02");
	int idx = rtnl_link_get_ifindex(eth0);
	assert_true(has_addr(sk, idx, ip("10.88.0.2"), 16));
	assert_true(has_default_route(sk, idx, ip("10.88.0.1")));
	rtnl_link_put(eth0);
	rtnl_link_put(lo);
	nl_socket_free(sk);
	ctr_stop(&c);
}

static void container_reaches_gateway(void **state)
{
	(void)state;
	fresh_netns();
	struct ctr c;
	ctr_start(&c);
	struct nk_net_attachment at;
	attach(NULL, "web", &c, &at);
	tcp_works(-1, at.gateway, c.netns);
	/* and the container's loopback works too */
	tcp_works(c.netns, ip("127.0.0.1"), c.netns);
	struct nk_link_stats st;
	struct nk_err err = {0};
	assert_int_equal(nk_stats_read(nl, 0, at.host_if, &st, &err), 0);
	assert_true(st.rx_packets >= 3 && st.tx_packets >= 2); /* ARP, SYN, data, ... */
	assert_true(st.rx_bytes > 100 && st.tx_bytes > 100);
	struct nk_link_stats by_index;
	assert_int_equal(nk_stats_read(nl, at.host_ifindex, NULL, &by_index, &err), 0);
	assert_true(by_index.rx_packets >= st.rx_packets);
	assert_int_equal(nk_stats_read(nl, 0, "nkvnothere", &st, &err), -ENODEV);
	ctr_stop(&c);
}

static void two_containers_talk(void **state)
{
	(void)state;
	fresh_netns();
	struct ctr a, b;
	ctr_start(&a);
	ctr_start(&b);
	struct nk_net_attachment at_a, at_b;
	attach(NULL, "a", &a, &at_a);
	attach(NULL, "b", &b, &at_b);
	assert_int_equal(at_b.addr, at_a.addr + 1);
	assert_string_not_equal(at_a.host_if, at_b.host_if);
	tcp_works(a.netns, at_a.addr, b.netns);
	tcp_works(b.netns, at_b.addr, a.netns);
	ctr_stop(&a);
	ctr_stop(&b);
}

static void networks_are_separate_bridges(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network net;
	assert_int_equal(nk_network_create(root, "lab", "10.77.0.0/24", false, &net, &err), 0);
	struct ctr a, b;
	ctr_start(&a);
	ctr_start(&b);
	struct nk_net_attachment at_a, at_b;
	attach("lab", "a", &a, &at_a);
	attach(NULL, "b", &b, &at_b);
	assert_string_equal(at_a.bridge, "nk-lab");
	assert_int_equal(at_a.addr, ip("10.77.0.2"));
	assert_string_equal(at_b.bridge, dflt_bridge);
	assert_memory_equal(dflt_bridge, "nook", 4); /* nook<hash>: not the host's nook0 */
	assert_int_equal(strlen(dflt_bridge), 12);
	tcp_works(-1, ip("10.77.0.1"), a.netns);
	ctr_stop(&a);
	ctr_stop(&b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(bridge_up_with_gateway),
	    T(bridge_name_taken_by_other_link),
	    T(veth_in_container),
	    T(container_reaches_gateway),
	    T(two_containers_talk),
	    T(networks_are_separate_bridges),
	};
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
