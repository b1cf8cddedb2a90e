/* Unit tests for networks and IPAM: validation, persistence, full subnets, stale leases, races. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "net/ipam.h"
#include "net/network.h"

static char root[256];

static int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/nook-ipam-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	snprintf(root, sizeof(root), "%s", tmpl);
	unsetenv("NOOK_DEFAULT_SUBNET");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct nk_err err = {0};
	assert_int_equal(nk_rm_rf(root, &err), 0);
	return 0;
}

static uint32_t ip(const char *s)
{
	uint32_t a;
	struct nk_err err;
	assert_int_equal(nk_ip4_parse(s, &a, &err), 0);
	return a;
}

static void make_net(const char *name, const char *subnet, struct nk_network *net)
{
	struct nk_err err = {0};
	if (nk_network_create(root, name, subnet, false, net, &err) != 0)
		fail_msg("create %s %s: %s", name, subnet, err.msg);
}

static void network_create_and_load(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net, back;
	make_net("web", "10.90.0.0/24", &net);
	assert_string_equal(net.bridge, "nk-web");
	assert_int_equal(net.gateway, ip("10.90.0.1"));
	assert_false(net.masquerade);
	assert_int_equal(nk_network_load(root, "web", &back, &err), 0);
	assert_string_equal(net.name, back.name);
	assert_string_equal(net.bridge, back.bridge);
	assert_int_equal(net.subnet.addr, back.subnet.addr);
	assert_int_equal(net.subnet.prefix, back.subnet.prefix);
	assert_int_equal(net.gateway, back.gateway);
	assert_int_equal(net.masquerade, back.masquerade);
	assert_int_equal(nk_network_create(root, "masq", "10.91.0.0/24", true, &net, &err), 0);
	assert_int_equal(nk_network_load(root, "masq", &back, &err), 0);
	assert_true(back.masquerade);
	assert_int_equal(nk_network_load(root, "nope", &back, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "does not exist"));
	/* a 12-character name still gives a 15-character bridge name */
	make_net("abcdefghijkl", "10.92.0.0/24", &net);
	assert_string_equal(net.bridge, "nk-abcdefghijkl");
}

static void network_refusals(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	make_net("one", "10.90.0.0/16", &net);
	assert_int_equal(nk_network_create(root, "one", "10.95.0.0/16", false, &net, &err), -EEXIST);
	assert_int_equal(nk_network_create(root, "two", "10.90.4.0/24", false, &net, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "overlaps network one"));
	assert_int_equal(nk_network_create(root, "two", "10.0.0.0/8", false, &net, &err), -EEXIST);
	static const char *const bad_names[] = {"", "abcdefghijklm", "-x", "a/b", "a b", "ü"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		if (nk_network_create(root, bad_names[i], "10.96.0.0/24", false, &net, &err) != -EINVAL)
			fail_msg("network name '%s' was accepted", bad_names[i]);
	static const char *const bad_subnets[] = {"10.96.0.1/24", "10.96.0.0/31", "10.0.0.0/7", "10.96.0.0",
						  "garbage"};
	for (size_t i = 0; i < sizeof(bad_subnets) / sizeof(bad_subnets[0]); i++)
		if (nk_network_create(root, "three", bad_subnets[i], false, &net, &err) != -EINVAL)
			fail_msg("subnet '%s' was accepted", bad_subnets[i]);
	assert_int_equal(nk_network_create(root, "three", NULL, false, &net, &err), -EINVAL);
	/* nothing half-created */
	struct nk_network *all;
	size_t n;
	assert_int_equal(nk_network_list(root, &all, &n, &err), 0);
	assert_int_equal(n, 1);
	free(all);
}

static void default_network(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	assert_string_equal(net.name, "nook");
	/* A private root's default network: its own bridge, a /24 of the pool, not the host's
	 * nook0 and 10.88.0.0/16 (which another root may be using). */
	char bridge[NK_IFNAMSIZ];
	nk_network_default_bridge(root, bridge);
	assert_string_equal(net.bridge, bridge);
	assert_memory_equal(bridge, "nook", 4);
	assert_int_equal(strlen(bridge), 12);
	nk_network_default_bridge("/var/lib/nook", bridge);
	assert_string_equal(bridge, "nook0");
	struct nk_cidr pool;
	assert_int_equal(nk_cidr_parse_network(NK_NETWORK_SCOPED_POOL, &pool, &err), 0);
	assert_int_equal(net.subnet.prefix, 24);
	assert_true(nk_cidr_contains(&pool, net.subnet.addr));
	assert_int_equal(net.gateway, net.subnet.addr + 1);
	char s[NK_CIDR_STRLEN];
	/* A network already holding that /24 moves the default network to another one. */
	struct nk_network first = net, other;
	assert_int_equal(nk_network_remove(root, "nook", &err), 0);
	assert_int_equal(nk_cidr_format(&first.subnet, s, sizeof(s)), 0);
	make_net("taken", s, &other);
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	assert_true(nk_cidr_contains(&pool, net.subnet.addr));
	assert_false(nk_cidr_overlap(&net.subnet, &first.subnet));
	assert_int_equal(nk_network_remove(root, "nook", &err), 0);
	assert_int_equal(nk_network_remove(root, "taken", &err), 0);
	assert_int_equal(nk_network_open(root, "nook", &net, &err), 0); /* second use loads */
	/* only the default network appears on first use */
	assert_int_equal(nk_network_open(root, "other", &net, &err), -ENOENT);
	/* the default subnet is configurable, and checked */
	assert_int_equal(nk_network_remove(root, "nook", &err), 0);
	setenv("NOOK_DEFAULT_SUBNET", "172.30.0.0/24", 1);
	assert_int_equal(nk_network_open(root, NULL, &net, &err), 0);
	assert_int_equal(nk_cidr_format(&net.subnet, s, sizeof(s)), 0);
	assert_string_equal(s, "172.30.0.0/24");
	assert_int_equal(nk_network_remove(root, "nook", &err), 0);
	setenv("NOOK_DEFAULT_SUBNET", "172.30.0.9/24", 1);
	assert_int_equal(nk_network_open(root, NULL, &net, &err), -EINVAL);
	make_net("lab", "172.30.0.0/16", &net);
	setenv("NOOK_DEFAULT_SUBNET", "172.30.5.0/24", 1);
	assert_int_equal(nk_network_open(root, NULL, &net, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "overlaps network lab"));
	unsetenv("NOOK_DEFAULT_SUBNET");
}

static void list_and_remove(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net, *all;
	size_t n;
	make_net("zeta", "10.90.0.0/24", &net);
	make_net("alpha", "10.91.0.0/24", &net);
	assert_int_equal(nk_network_list(root, &all, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0].name, "alpha");
	assert_string_equal(all[1].name, "zeta");
	free(all);
	uint32_t a;
	assert_int_equal(nk_ipam_allocate(root, &net, "box", &a, &err), 0);
	assert_int_equal(nk_network_remove(root, "alpha", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "box"));
	assert_int_equal(nk_ipam_release(root, "alpha", "box", &err), 0);
	assert_int_equal(nk_network_remove(root, "alpha", &err), 0);
	assert_int_equal(nk_network_remove(root, "alpha", &err), -ENOENT);
	/* a lease on a removed network is refused, not silently recreated */
	assert_int_equal(nk_ipam_allocate(root, &net, "box", &a, &err), -ENOENT);
	assert_int_equal(nk_network_list(root, &all, &n, &err), 0);
	assert_int_equal(n, 1);
	free(all);
}

static void damaged_json(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	make_net("web", "10.90.0.0/24", &net);
	char path[512];
	snprintf(path, sizeof(path), "%s/net/web/network.json", root);
	static const char *const docs[] = {
	    "{", "[]", "{\"name\":\"web\"}",
	    "{\"name\":\"web\",\"subnet\":\"10.90.0.0/24\",\"gateway\":\"10.91.0.1\",\"bridge\":\"nk-web\"}",
	    "{\"name\":\"other\",\"subnet\":\"10.90.0.0/24\",\"gateway\":\"10.90.0.1\",\"bridge\":\"nk-web\"}",
	    "{\"name\":\"web\",\"subnet\":\"10.90.0.0/24\",\"gateway\":\"10.90.0.1\",\"bridge\":\"a/b\"}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(nk_write_file_atomic(path, docs[i], strlen(docs[i]), 0644, &err), 0);
		if (nk_network_load(root, "web", &net, &err) != -EINVAL)
			fail_msg("damaged network.json accepted: %s", docs[i]);
		assert_non_null(strstr(err.msg, "network.json"));
	}
}

static void allocate_lowest_and_full(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	make_net("tiny", "10.99.0.0/29", &net); /* .0 network, .1 gateway, .2-.6, .7 broadcast */
	const char *names[] = {"a", "b", "c", "d", "e"};
	uint32_t a;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(nk_ipam_allocate(root, &net, names[i], &a, &err), 0);
		assert_int_equal(a, ip("10.99.0.2") + (uint32_t)i);
	}
	assert_int_equal(nk_ipam_allocate(root, &net, "f", &a, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "no free address"));
	assert_non_null(strstr(err.msg, "10.99.0.0/29"));
	/* an instance that holds a lease gets it back */
	assert_int_equal(nk_ipam_allocate(root, &net, "c", &a, &err), 0);
	assert_int_equal(a, ip("10.99.0.4"));
	/* release frees exactly that address; the lowest free one is reused first */
	assert_int_equal(nk_ipam_release(root, "tiny", "c", &err), 0);
	assert_int_equal(nk_ipam_release(root, "tiny", "c", &err), 0); /* idempotent */
	assert_int_equal(nk_ipam_release(root, "tiny", "b", &err), 0);
	assert_int_equal(nk_ipam_allocate(root, &net, "g", &a, &err), 0);
	assert_int_equal(a, ip("10.99.0.3"));
	assert_int_equal(nk_ipam_allocate(root, &net, "h", &a, &err), 0);
	assert_int_equal(a, ip("10.99.0.4"));
	assert_int_equal(nk_ipam_lookup(root, "tiny", "h", &a, &err), 0);
	assert_int_equal(a, ip("10.99.0.4"));
	assert_int_equal(nk_ipam_lookup(root, "tiny", "c", &a, &err), -ENOENT);
	/* bad instance names change nothing */
	assert_int_equal(nk_ipam_allocate(root, &net, "../x", &a, &err), -EINVAL);
	assert_int_equal(nk_ipam_allocate(root, &net, "", &a, &err), -EINVAL);
	assert_int_equal(nk_ipam_allocate(root, &net, "a b", &a, &err), -EINVAL);
}

static void persisted_on_disk(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	make_net("web", "10.90.0.0/24", &net);
	uint32_t a;
	assert_int_equal(nk_ipam_allocate(root, &net, "first", &a, &err), 0);
	assert_int_equal(nk_ipam_allocate(root, &net, "second", &a, &err), 0);
	char path[512], target[64];
	snprintf(path, sizeof(path), "%s/net/web/leases/10.90.0.3", root);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "second");
	/* a stray file in the leases directory is not a lease */
	snprintf(path, sizeof(path), "%s/net/web/leases/notes.txt", root);
	assert_int_equal(nk_write_file_atomic(path, "x", 1, 0644, &err), 0);
	struct nk_lease *v;
	size_t count;
	assert_int_equal(nk_ipam_list(root, "web", &v, &count, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(v[0].addr, ip("10.90.0.2"));
	assert_string_equal(v[0].instance, "first");
	assert_string_equal(v[1].instance, "second");
	free(v);
}

static bool only_keep(const char *instance, void *ctx)
{
	return strcmp(instance, ctx) == 0;
}

static void stale_reclaim(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	make_net("web", "10.90.0.0/24", &net);
	uint32_t a;
	assert_int_equal(nk_ipam_allocate(root, &net, "alive", &a, &err), 0);
	assert_int_equal(nk_ipam_allocate(root, &net, "dead1", &a, &err), 0);
	assert_int_equal(nk_ipam_allocate(root, &net, "dead2", &a, &err), 0);
	size_t released;
	assert_int_equal(nk_ipam_reclaim(root, "web", only_keep, (void *)"alive", &released, &err), 0);
	assert_int_equal(released, 2);
	struct nk_lease *v;
	size_t count;
	assert_int_equal(nk_ipam_list(root, "web", &v, &count, &err), 0);
	assert_int_equal(count, 1);
	assert_string_equal(v[0].instance, "alive");
	free(v);
	assert_int_equal(nk_ipam_allocate(root, &net, "new", &a, &err), 0);
	assert_int_equal(a, ip("10.90.0.3"));
}

/* Several processes allocating at once never get the same address (the flock). */
static void concurrent_allocations(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_network net;
	make_net("race", "10.90.0.0/24", &net);
	enum { PROCS = 6, EACH = 5 };
	for (int p = 0; p < PROCS; p++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < EACH; i++) {
				char name[32];
				uint32_t a;
				struct nk_err e;
				snprintf(name, sizeof(name), "p%d-%d", p, i);
				if (nk_ipam_allocate(root, &net, name, &a, &e) != 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	struct nk_lease *v;
	size_t count;
	assert_int_equal(nk_ipam_list(root, "race", &v, &count, &err), 0);
	assert_int_equal(count, PROCS * EACH);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(v[i].addr, ip("10.90.0.2") + (uint32_t)i); /* dense, distinct */
	free(v);
}

int main(void)
{
	/* Creating a network programs nf_tables and reads the routes: do it in a network
	 * namespace of our own, never on the host. */
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		if (getenv("NOOK_MUST_WORK")) {
			fprintf(stderr, "ipam tests need root and unshare(CLONE_NEWNET) (NOOK_MUST_WORK is set)\n");
			return 1;
		}
		printf("skipped: ipam tests need root and unshare(CLONE_NEWNET)\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(network_create_and_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(network_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(default_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(list_and_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(allocate_lowest_and_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(persisted_on_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_reclaim, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_allocations, setup, teardown),
	};
	return cmocka_run_group_tests_name("ipam", tests, NULL, NULL);
}
