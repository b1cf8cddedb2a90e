/* The host's IPv4 addresses and routes, read through libnl, checked against a subnet. */
#include "hostnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl-internal.h"

static bool to_cidr(struct nl_addr *a, unsigned prefix, struct nk_cidr *out)
{
	if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4 || prefix > 32)
		return false;
	uint32_t be;
	memcpy(&be, nl_addr_get_binary_addr(a), 4);
	out->addr = ntohl(be);
	out->prefix = (uint8_t)prefix;
	return true;
}

static int push(struct nk_host_nets *h, const struct nk_cidr *c, int ifindex, bool route)
{
	struct nk_host_block *v = realloc(h->v, (h->count + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[h->count++] = (struct nk_host_block){.block = *c, .ifindex = ifindex, .route = route};
	h->v = v;
	return 0;
}

static int read_addresses(struct nl_sock *sk, struct nk_host_nets *h, struct nk_err *err)
{
	struct nl_cache *cache;
	int r = rtnl_addr_alloc_cache(sk, &cache);
	if (r < 0)
		return nk_nl_err(err, r, "cannot list the host's addresses");
	for (struct nl_object *o = nl_cache_get_first(cache); o && r == 0; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nk_cidr c;
		if (to_cidr(rtnl_addr_get_local(a), (unsigned)rtnl_addr_get_prefixlen(a), &c))
			r = push(h, &c, rtnl_addr_get_ifindex(a), false);
	}
	nl_cache_free(cache);
	return r < 0 ? nk_err_set(err, -r, "listing the host's addresses") : 0;
}

static int read_routes(struct nl_sock *sk, struct nk_host_nets *h, struct nk_err *err)
{
	struct nl_cache *cache;
	int r = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache);
	if (r < 0)
		return nk_nl_err(err, r, "cannot list the host's routes");
	for (struct nl_object *o = nl_cache_get_first(cache); o && r == 0; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(rt);
		struct nk_cidr c;
		/* A default route overlaps everything and says nothing about this block. */
		if (rtnl_route_get_table(rt) == RT_TABLE_LOCAL || !dst || nl_addr_get_prefixlen(dst) == 0 ||
		    !to_cidr(dst, nl_addr_get_prefixlen(dst), &c))
			continue;
		int ifindex = rtnl_route_get_nnexthops(rt) > 0 ?
				      rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0)) : 0;
		r = push(h, &c, ifindex, true);
	}
	nl_cache_free(cache);
	return r < 0 ? nk_err_set(err, -r, "listing the host's routes") : 0;
}

int nk_host_nets_read(struct nk_host_nets *out, struct nk_err *err)
{
	*out = (struct nk_host_nets){0};
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return nk_err_set(err, ENOMEM, "reading the host's routes");
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		r = nk_nl_err(err, r, "cannot open a netlink socket to read the host's routes");
	else if ((r = read_addresses(sk, out, err)) == 0)
		r = read_routes(sk, out, err);
	nl_socket_free(sk);
	if (r < 0)
		nk_host_nets_free(out);
	return r;
}

void nk_host_nets_free(struct nk_host_nets *h)
{
	free(h->v);
	*h = (struct nk_host_nets){0};
}

bool nk_host_nets_conflict(const struct nk_host_nets *h, const struct nk_cidr *subnet, const char *own_bridge,
			   char *what, size_t size)
{
	int own = own_bridge && *own_bridge ? (int)if_nametoindex(own_bridge) : 0;
	for (size_t i = 0; i < h->count; i++) {
		const struct nk_host_block *b = &h->v[i];
		if ((own > 0 && b->ifindex == own) || !nk_cidr_overlap(&b->block, subnet))
			continue;
		char block[NK_CIDR_STRLEN] = "?", dev[IF_NAMESIZE] = "";
		struct nk_cidr net = {.addr = nk_cidr_network(&b->block), .prefix = b->block.prefix};
		if (nk_cidr_format(b->route ? &net : &b->block, block, sizeof(block)) < 0)
			block[0] = '\0';
		if (b->ifindex > 0 && !if_indextoname((unsigned)b->ifindex, dev))
			dev[0] = '\0';
		snprintf(what, size, "%s %s%s%s", b->route ? "route" : "address", block, dev[0] ? " dev " : "", dev);
		return true;
	}
	return false;
}
