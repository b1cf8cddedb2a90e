/* Unit tests for network teardown, rollback, restart, reconcile, taps and set-up cost. */
#include "test_net_util.h"

static void cleanup_leaves_no_links(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct ctr a, b;
	ctr_start(&a);
	ctr_start(&b);
	struct nk_net_attachment at;
	attach(NULL, "a", &a, &at);
	attach(NULL, "b", &b, &at);
	assert_int_equal(count_nkv(), 2);

	/* error-path detach: the host end goes now, idempotently, and the lease with it */
	assert_int_equal(nk_net_detach(nl, root, NULL, "a", 1, &err), 0);
	assert_int_equal(nk_net_detach(nl, root, NULL, "a", 1, &err), 0);
	assert_int_equal(count_nkv(), 1);
	uint32_t addr;
	assert_int_equal(nk_ipam_lookup(root, "nook", "a", &addr, &err), -ENOENT);

	/* normal stop: the namespace dies and the kernel takes the pair with it */
	ctr_stop(&b);
	int waited = 0;
	while (count_nkv() > 0 && waited < 3000) {
		usleep(10 * 1000);
		waited += 10;
	}
	assert_int_equal(count_nkv(), 0);
	assert_int_equal(nk_net_detach(nl, root, NULL, "b", 0, &err), 0);
	ctr_stop(&a);

	struct nk_network net;
	assert_int_equal(nk_network_load(root, "nook", &net, &err), 0);
	assert_int_equal(nk_bridge_delete(nl, &net, &err), 0);
	assert_int_equal(nk_bridge_delete(nl, &net, &err), 0);
	char names[4096];
	link_names(names, sizeof(names));
	assert_string_equal(names, "lo ");
	assert_int_equal(nk_network_remove(root, "nook", &err), 0);
}

static void failed_attach_changes_nothing(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_net_attachment at;
	/* an fd that is not a namespace: the kernel refuses the pair */
	int notns = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(notns >= 0);
	assert_true(nk_net_attach(nl, root, NULL, "web", notns, &at, &err) < 0);
	assert_non_null(strstr(err.msg, "web"));
	close(notns);
	assert_int_equal(count_nkv(), 0);
	struct nk_lease *v;
	size_t n;
	assert_int_equal(nk_ipam_list(root, "nook", &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
	/* an unknown network */
	struct ctr c;
	ctr_start(&c);
	assert_int_equal(nk_net_attach(nl, root, "nope", "web", c.netns, &at, &err), -ENOENT);
	/* eth0 already taken inside the container */
	attach(NULL, "first", &c, &at);
	assert_int_equal(nk_net_attach(nl, root, NULL, "second", c.netns, &at, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "eth0"));
	assert_int_equal(count_nkv(), 1);
	uint32_t addr;
	assert_int_equal(nk_ipam_lookup(root, "nook", "second", &addr, &err), -ENOENT);
	ctr_stop(&c);

	/* the host end's name belongs to another live instance (a hash collision): refused,
	 * and the other instance's link is left alone */
	char taken[NK_IFNAMSIZ], key[160];
	nk_net_link_key(root, "clash", key, sizeof(key));
	nk_veth_host_name(key, taken);
	struct nl_sock *sk = nl_socket_in(-1);
	struct rtnl_link *pair = rtnl_link_veth_alloc(), *peer = rtnl_link_veth_get_peer(pair);
	rtnl_link_set_name(pair, taken);
	rtnl_link_set_name(peer, "clash-p");
	assert_int_equal(rtnl_link_add(sk, pair, NLM_F_CREATE | NLM_F_EXCL), 0);
	rtnl_link_put(peer);
	rtnl_link_veth_release(pair);
	struct rtnl_link *orig = link_get(sk, taken), *change = rtnl_link_alloc();
	rtnl_link_set_ifalias(change, "someone");
	assert_int_equal(rtnl_link_change(sk, orig, change, 0), 0);
	rtnl_link_put(change);
	int before = rtnl_link_get_ifindex(orig);
	rtnl_link_put(orig);
	ctr_start(&c);
	assert_int_equal(nk_net_attach(nl, root, NULL, "clash", c.netns, &at, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "someone"));
	struct rtnl_link *still = link_get(sk, taken);
	assert_non_null(still);
	assert_int_equal(rtnl_link_get_ifindex(still), before);
	rtnl_link_put(still);
	nl_socket_free(sk);
	assert_int_equal(nk_ipam_lookup(root, "nook", "clash", &addr, &err), -ENOENT);
	ctr_stop(&c);
}

static void restart_replaces_leftover_host_end(void **state)
{
	(void)state;
	fresh_netns();
	struct ctr old, new;
	ctr_start(&old);
	ctr_start(&new);
	struct nk_net_attachment at1, at2;
	attach(NULL, "web", &old, &at1);
	/* the old namespace is still alive (as while the kernel tears it down) */
	attach(NULL, "web", &new, &at2);
	assert_string_equal(at1.host_if, at2.host_if);
	assert_int_equal(at1.addr, at2.addr);
	assert_int_equal(count_nkv(), 1);
	tcp_works(-1, at2.gateway, new.netns);
	struct nl_sock *sk = nl_socket_in(old.netns);
	assert_null(link_get(sk, "eth0")); /* went with the old pair */
	nl_socket_free(sk);
	ctr_stop(&old);
	ctr_stop(&new);
}

static bool only(const char *instance, void *ctx)
{
	return strcmp(instance, ctx) == 0;
}

static void reconcile_removes_leftovers(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct ctr a, b;
	ctr_start(&a);
	ctr_start(&b);
	struct nk_net_attachment at;
	attach(NULL, "keep", &a, &at);
	attach(NULL, "gone", &b, &at);
	/* At the link level the labels carry this root's scope (nk_net_link_key). */
	char keep_key[160], gone_key[160];
	nk_net_link_key(root, "keep", keep_key, sizeof(keep_key));
	nk_net_link_key(root, "gone", gone_key, sizeof(gone_key));
	struct nk_veth_stale *stale;
	size_t n;
	assert_int_equal(nk_veth_find_stale(nl, only, keep_key, &stale, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(stale[0].instance, gone_key);
	assert_string_equal(stale[0].ifname, at.host_if);
	free(stale);
	size_t leases, links;
	assert_int_equal(nk_net_reconcile(nl, root, only, (void *)"keep", &leases, &links, &err), 0);
	assert_int_equal(leases, 1);
	assert_int_equal(links, 1);
	assert_int_equal(count_nkv(), 1);
	assert_int_equal(nk_nl_ifindex(nl, at.host_if, &err), -ENODEV);
	ctr_stop(&a);
	ctr_stop(&b);
}

static void tap_on_bridge(void **state)
{
	(void)state;
	fresh_netns();
	struct nk_err err = {0};
	struct nk_network net;
	int br;
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	assert_int_equal(nk_bridge_ensure(nl, &net, &br, &err), 0);
	struct nk_tap tap;
	if (nk_tap_create(nl, "vm1", br, &tap, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(tap.fd >= 0);
	assert_memory_equal(tap.name, "nkt", 3);
	assert_int_equal(strlen(tap.name), 15);
	struct nl_sock *sk = nl_socket_in(-1);
	struct rtnl_link *link = link_get(sk, tap.name);
	assert_non_null(link);
	assert_int_equal(rtnl_link_get_master(link), br);
	assert_true(rtnl_link_get_flags(link) & IFF_UP);
	assert_int_equal(rtnl_link_get_ifindex(link), tap.ifindex);
	rtnl_link_put(link);
	assert_true(fcntl(tap.fd, F_GETFD) & FD_CLOEXEC);
	close(tap.fd);
	assert_null(link_get(sk, tap.name)); /* the tap lives as long as its fd */
	nl_socket_free(sk);
}

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

/* Not a benchmark gate, a report: what the set-up costs per container, step by step. */
static void setup_cost(void **state)
{
	(void)state;
	fresh_netns();
	enum { N = 10 };
	struct nk_err err = {0};
	struct nk_network net;
	int br;
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	assert_int_equal(nk_bridge_ensure(nl, &net, &br, &err), 0);
	/* All namespaces exist before timing starts: a dying namespace's teardown holds the
	 * RTNL lock and would be measured instead of us. */
	struct ctr c[2 * N];
	for (int i = 0; i < 2 * N; i++)
		ctr_start(&c[i]);
	double create = 0, config = 0, whole = 0;
	for (int i = 0; i < N; i++) {
		char name[16];
		struct nk_veth v;
		struct timespec t0, t1, t2;
		uint32_t addr = ip("10.88.1.0") + (uint32_t)i;
		snprintf(name, sizeof(name), "c%d", i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(nk_veth_create(nl, name, br, c[i].netns, addr, &v, &err), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_int_equal(nk_veth_configure_peer(c[i].netns, v.peer, addr, 16, net.gateway, &err), 0);
		clock_gettime(CLOCK_MONOTONIC, &t2);
		create += elapsed_us(&t0, &t1);
		config += elapsed_us(&t1, &t2);
		snprintf(name, sizeof(name), "w%d", i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		struct nk_net_attachment at;
		attach(NULL, name, &c[N + i], &at);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		whole += elapsed_us(&t0, &t1);
	}
	struct nk_link_stats st;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(nk_stats_read(nl, 0, dflt_bridge, &st, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("veth create %.0f us, in-namespace config %.0f us, nk_net_attach %.0f us "
		      "(mean of %d); stats read %.1f us\n",
		      create / N, config / N, whole / N, N, elapsed_us(&t0, &t1) / 100);
	for (int i = 0; i < 2 * N; i++)
		ctr_stop(&c[i]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(cleanup_leaves_no_links),
	    T(failed_attach_changes_nothing),
	    T(restart_replaces_leftover_host_end),
	    T(reconcile_removes_leftovers),
	    T(tap_on_bridge),
	    T(setup_cost),
	};
	return cmocka_run_group_tests_name("net_lifecycle", tests, NULL, NULL);
}
