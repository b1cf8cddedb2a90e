/* Helpers shared by the network unit tests: private namespaces, stand-in containers, probes. */
#ifndef NOOK_TEST_NET_UTIL_H
#define NOOK_TEST_NET_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "net/net.h"
#include "net/stats.h"
#include "net/tap.h"

/* A stand-in for a container: a child process alone in a network namespace of its own. */
struct ctr {
	pid_t pid;
	int netns;
};

static char root[256];
static char dflt_bridge[NK_IFNAMSIZ]; /* the default network's bridge under this root */
static struct nk_nl *nl;

/* Every test runs in a network namespace of its own, so the host's links are never seen,
 * let alone touched; the previous test's namespace dies with its last reference. */
static inline void fresh_netns(void)
{
	const char *why = NULL;
	if (geteuid() != 0)
		why = "needs root";
	else if (unshare(CLONE_NEWNET) < 0)
		why = "unshare(CLONE_NEWNET) failed";
	if (why) {
		if (getenv("NOOK_MUST_WORK"))
			fail_msg("network tests %s (NOOK_MUST_WORK is set)", why);
		print_message("skipped: network tests %s\n", why);
		skip();
	}
	struct nk_err err = {0};
	if (nk_nl_open(&nl, &err) != 0)
		fail_msg("%s", err.msg);
}

static inline int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/nook-net-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	snprintf(root, sizeof(root), "%s", tmpl);
	nk_network_default_bridge(root, dflt_bridge);
	/* A private root's default network would take a free /24 of 10.87.0.0/16; these tests
	 * count addresses in the classic default block (their namespace has no routes). */
	setenv("NOOK_DEFAULT_SUBNET", "10.88.0.0/16", 1);
	nl = NULL;
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	struct nk_err err = {0};
	nk_nl_close(nl);
	nl = NULL;
	assert_int_equal(nk_rm_rf(root, &err), 0);
	return 0;
}

static inline void ctr_start(struct ctr *c)
{
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		/* A failed assertion skips ctr_stop: die with the test instead of lingering. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char ok = 0;
	assert_int_equal(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	assert_int_equal(ok, 'y');
	struct nk_err err = {0};
	c->netns = nk_netns_open_pid(c->pid, &err);
	if (c->netns < 0)
		fail_msg("%s", err.msg);
}

static inline void ctr_stop(struct ctr *c)
{
	if (c->netns >= 0)
		close(c->netns);
	c->netns = -1;
	kill(c->pid, SIGKILL);
	assert_int_equal(waitpid(c->pid, NULL, 0), c->pid);
}

/* A socket living in netns (sockets keep the namespace they were created in). */
static inline int socket_in(int netns, int type)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	assert_int_equal(setns(netns, CLONE_NEWNET), 0);
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	assert_true(s >= 0);
	return s;
}

static inline struct nl_sock *nl_socket_in(int netns)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	if (netns >= 0)
		assert_int_equal(setns(netns, CLONE_NEWNET), 0);
	struct nl_sock *sk = nl_socket_alloc();
	assert_non_null(sk);
	assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	return sk;
}

static inline struct rtnl_link *link_get(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link = NULL;
	return rtnl_link_get_kernel(sk, 0, name, &link) == 0 ? link : NULL;
}

static inline uint32_t ip(const char *s)
{
	uint32_t a;
	struct nk_err err;
	assert_int_equal(nk_ip4_parse(s, &a, &err), 0);
	return a;
}

static inline bool has_addr(struct nl_sock *sk, int ifindex, uint32_t want, int prefix)
{
	struct nl_cache *cache;
	assert_int_equal(rtnl_addr_alloc_cache(sk, &cache), 0);
	bool found = false;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET || !local)
			continue;
		uint32_t be;
		memcpy(&be, nl_addr_get_binary_addr(local), 4);
		if (ntohl(be) == want && rtnl_addr_get_prefixlen(a) == prefix)
			found = true;
	}
	nl_cache_free(cache);
	return found;
}

static inline bool has_default_route(struct nl_sock *sk, int ifindex, uint32_t gw)
{
	struct nl_cache *cache;
	assert_int_equal(rtnl_route_alloc_cache(sk, AF_INET, 0, &cache), 0);
	bool found = false;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
		    nl_addr_get_prefixlen(rtnl_route_get_dst(rt)) != 0 || rtnl_route_get_nnexthops(rt) != 1)
			continue;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
		struct nl_addr *via = rtnl_route_nh_get_gateway(nh);
		uint32_t be = 0;
		if (via)
			memcpy(&be, nl_addr_get_binary_addr(via), 4);
		if (rtnl_route_nh_get_ifindex(nh) == ifindex && ntohl(be) == gw)
			found = true;
	}
	nl_cache_free(cache);
	return found;
}

/* Names of the links in the test's namespace, space separated. */
static inline void link_names(char *out, size_t size)
{
	struct if_nameindex *ifs = if_nameindex();
	assert_non_null(ifs);
	out[0] = '\0';
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		strncat(out, i->if_name, size - strlen(out) - 2);
		strncat(out, " ", size - strlen(out) - 1);
	}
	if_freenameindex(ifs);
}

static inline void attach(const char *network, const char *instance, struct ctr *c, struct nk_net_attachment *at)
{
	struct nk_err err = {0};
	if (nk_net_attach(nl, root, network, instance, c->netns, at, &err) != 0)
		fail_msg("attach %s: %s", instance, err.msg);
}

/* TCP from a socket in client_ns to server_ip:port, the listener in server_ns (-1: ours). */
static inline void tcp_works(int server_ns, uint32_t server_ip, int client_ns)
{
	int l = server_ns >= 0 ? socket_in(server_ns, SOCK_STREAM) : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	struct timeval tv = {.tv_sec = 3};
	assert_int_equal(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(server_ip)};
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(l, 4), 0);
	int c = socket_in(client_ns, SOCK_STREAM);
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("connect: %s", strerror(errno));
	assert_int_equal(write(c, "hello", 5), 5);
	int a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	char buf[8] = {0};
	assert_int_equal(read(a, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	close(a);
	close(c);
	close(l);
}

static inline int count_nkv(void)
{
	char names[4096];
	link_names(names, sizeof(names));
	int n = 0;
	for (const char *p = names; (p = strstr(p, "nkv")); p++)
		n++;
	return n;
}

#endif
