/* Container veth pairs through libnl, the container end created inside its namespace. */
#include "veth.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "core/util.h"
#include "nl-internal.h"

void nk_veth_host_name(const char *instance, char out[NK_IFNAMSIZ])
{
	/* FNV-1a, 48 of its 64 bits: 15 characters with the prefix, collisions improbable
	 * among the instances of one host. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)instance; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	snprintf(out, NK_IFNAMSIZ, "nkv%012llx", (unsigned long long)(h >> 16));
}

static int add_pair(struct nk_nl *nl, const struct nk_veth *v, int bridge_ifindex, int netns_fd,
		    uint32_t addr)
{
	struct rtnl_link *host = rtnl_link_veth_alloc();
	if (!host)
		return -NLE_NOMEM;
	struct rtnl_link *peer = rtnl_link_veth_get_peer(host);
	unsigned char mac[6];
	nk_nl_mac_for(addr, mac);
	struct nl_addr *lladdr = nl_addr_build(AF_LLC, mac, sizeof(mac));
	int r = -NLE_NOMEM;
	if (!lladdr)
		goto out;
	rtnl_link_set_name(host, v->host);
	rtnl_link_set_master(host, bridge_ifindex);
	rtnl_link_set_flags(host, IFF_UP);
	rtnl_link_set_name(peer, v->peer);
	rtnl_link_set_addr(peer, lladdr);
	/* No IFF_UP on the peer: the kernel opens it before the two ends are paired and
	 * answers ENOTCONN. nk_veth_configure_peer brings it up from inside. */
	/* Born in the container's namespace: moving a link there afterwards costs a
	 * synchronize_net() (tens of milliseconds); creating it there costs nothing extra. */
	rtnl_link_set_ns_fd(peer, netns_fd);
	r = rtnl_link_add(nl->sk, host, NLM_F_CREATE | NLM_F_EXCL);
out:
	nl_addr_put(lladdr);
	rtnl_link_put(peer);
	rtnl_link_veth_release(host);
	return r;
}

/* The alias cannot ride in the creating message (the kernel applies IFLA_IFALIAS only on
 * changes), so it costs one more round trip, addressed by name. */
static int set_alias(struct nk_nl *nl, const char *ifname, const char *alias)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	if (!msg)
		return -ENOMEM;
	int r = nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (r == 0)
		r = nla_put_string(msg, IFLA_IFNAME, ifname);
	if (r == 0)
		r = nla_put_string(msg, IFLA_IFALIAS, alias);
	if (r < 0) {
		nlmsg_free(msg);
		return nk_nl_errno(r);
	}
	r = nl_send_sync(nl->sk, msg);
	return r < 0 ? nk_nl_errno(r) : 0;
}

/* 1 and the link's alias (maybe "") when the host end exists, 0 when it does not. */
static int host_owner(struct nk_nl *nl, const char *ifname, char *owner, size_t size)
{
	struct rtnl_link *link = NULL;
	if (rtnl_link_get_kernel(nl->sk, 0, ifname, &link) < 0)
		return 0;
	const char *alias = rtnl_link_get_ifalias(link);
	snprintf(owner, size, "%s", alias ? alias : "");
	rtnl_link_put(link);
	return 1;
}

int nk_veth_create(struct nk_nl *nl, const char *instance, int bridge_ifindex, int netns_fd,
		   uint32_t addr, struct nk_veth *out, struct nk_err *err)
{
	struct nk_veth v = {.host_ifindex = 0};
	nk_veth_host_name(instance, v.host);
	snprintf(v.peer, sizeof(v.peer), "%s", NK_VETH_PEER);
	int r = add_pair(nl, &v, bridge_ifindex, netns_fd, addr);
	char owner[256];
	if (r < 0 && nk_nl_errno(r) == -EEXIST && host_owner(nl, v.host, owner, sizeof(owner)) > 0) {
		if (owner[0] && strcmp(owner, instance) != 0)
			return nk_err_msg(err, EEXIST,
					  "veth name %s of %s is taken by instance %s (a hash collision); "
					  "rename one of the two instances",
					  v.host, instance, owner);
		/* The instance's previous namespace is still being destroyed by the kernel and
		 * its pair with it; only then do we pay for a delete. */
		if ((r = nk_nl_link_delete(nl, v.host, err)) < 0)
			return nk_err_prefix(err, "removing the leftover link of %s", instance);
		r = add_pair(nl, &v, bridge_ifindex, netns_fd, addr);
	}
	if (r < 0 && nk_nl_errno(r) == -EEXIST)
		return nk_nl_err(err, r, "cannot create veth %s: %s already exists in the container's "
					 "network namespace", v.host, v.peer);
	if (r < 0)
		return nk_nl_err(err, r, "cannot create veth pair %s/%s for %s", v.host, v.peer, instance);
	if ((r = set_alias(nl, v.host, instance)) < 0 || (r = nk_nl_ifindex(nl, v.host, err)) < 0) {
		nk_err_set(err, -r, "cannot label veth %s with its instance", v.host);
		struct nk_err ignored;
		(void)!nk_nl_link_delete(nl, v.host, &ignored);
		return r;
	}
	v.host_ifindex = r;
	if (out)
		*out = v;
	return 0;
}

static int add_default_route(struct nl_sock *sk, int ifindex, uint32_t gateway)
{
	uint32_t any = 0, gw = htonl(gateway);
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = nl_addr_build(AF_INET, &any, sizeof(any));
	struct nl_addr *via = nl_addr_build(AF_INET, &gw, sizeof(gw));
	int r = -NLE_NOMEM;
	if (!rt || !nh || !dst || !via)
		goto out;
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
	rtnl_route_set_protocol(rt, RTPROT_BOOT);
	rtnl_route_set_type(rt, RTN_UNICAST);
	if ((r = rtnl_route_set_dst(rt, dst)) < 0)
		goto out;
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_add_nexthop(rt, nh);
	nh = NULL; /* the route owns it now */
	r = rtnl_route_add(sk, rt, NLM_F_EXCL);
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(via);
	nl_addr_put(dst);
	rtnl_route_put(rt);
	return r < 0 ? nk_nl_errno(r) : 0;
}

int nk_veth_configure_peer(int netns_fd, const char *peer, uint32_t addr, uint8_t prefix,
			   uint32_t gateway, struct nk_err *err)
{
	struct nl_sock *sk;
	int r = nk_nl_socket_in(netns_fd, &sk, err);
	if (r < 0)
		return r;
	struct rtnl_link *link = NULL;
	int ifindex;
	if ((r = rtnl_link_get_kernel(sk, 0, peer, &link)) < 0) {
		r = nk_nl_err(err, r, "cannot find %s in the container's network namespace", peer);
		goto out;
	}
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if ((r = nk_nl_link_up(sk, ifindex, 0)) < 0) {
		r = nk_err_set(err, -r, "cannot bring %s up in the container", peer);
		goto out;
	}
	/* A fresh namespace's loopback is always ifindex 1. */
	if ((r = nk_nl_link_up(sk, 1, 0)) < 0) {
		r = nk_err_set(err, -r, "cannot bring lo up in the container");
		goto out;
	}
	if ((r = nk_nl_addr_add(sk, ifindex, addr, prefix)) < 0) {
		r = nk_err_set(err, -r, "cannot add the address to %s in the container", peer);
		goto out;
	}
	if ((r = add_default_route(sk, ifindex, gateway)) < 0)
		r = nk_err_set(err, -r, "cannot add the default route in the container");
out:
	nl_socket_free(sk);
	return r;
}

int nk_veth_delete(struct nk_nl *nl, const char *instance, struct nk_err *err)
{
	char name[NK_IFNAMSIZ];
	nk_veth_host_name(instance, name);
	return nk_nl_link_delete(nl, name, err);
}

int nk_veth_find_stale(struct nk_nl *nl, nk_exists_fn exists, void *ctx, struct nk_veth_stale **out,
		       size_t *count, struct nk_err *err)
{
	*out = NULL;
	*count = 0;
	struct nl_cache *cache = NULL;
	int r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache);
	if (r < 0)
		return nk_nl_err(err, r, "cannot list network links");
	struct nk_veth_stale *v = NULL;
	size_t n = 0, cap = 0;
	r = 0;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(link), *type = rtnl_link_get_type(link);
		const char *alias = rtnl_link_get_ifalias(link);
		if (!name || strncmp(name, "nkv", 3) != 0 || !type || strcmp(type, "veth") != 0)
			continue;
		if (alias && *alias && exists(alias, ctx))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct nk_veth_stale *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = nk_err_set(err, ENOMEM, "listing stale links");
				break;
			}
			v = nv;
		}
		snprintf(v[n].ifname, sizeof(v[n].ifname), "%s", name);
		snprintf(v[n].instance, sizeof(v[n].instance), "%s", alias ? alias : "");
		n++;
	}
	nl_cache_free(cache);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	*count = n;
	return 0;
}
