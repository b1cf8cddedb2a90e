/* Network bridges through libnl: created once, then found, brought up and addressed. */
#include "bridge.h"

#include <errno.h>
#include <net/if.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>

#include "nl-internal.h"

static int create(struct nk_nl *nl, const struct nk_network *net, struct nk_err *err)
{
	struct rtnl_link *link = rtnl_link_alloc();
	unsigned char mac[6];
	nk_nl_mac_for(net->gateway, mac);
	struct nl_addr *lladdr = nl_addr_build(AF_LLC, mac, sizeof(mac));
	int r = -NLE_NOMEM;
	if (!link || !lladdr || (r = rtnl_link_set_type(link, "bridge")) < 0)
		goto out;
	rtnl_link_set_name(link, net->bridge);
	rtnl_link_set_addr(link, lladdr);
	rtnl_link_set_flags(link, IFF_UP);
	r = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
out:
	nl_addr_put(lladdr);
	rtnl_link_put(link);
	if (r < 0 && nk_nl_errno(r) != -EEXIST) /* EEXIST: another start won the race */
		return nk_nl_err(err, r, "cannot create bridge %s", net->bridge);
	return 0;
}

int nk_bridge_ensure(struct nk_nl *nl, const struct nk_network *net, int *ifindex, struct nk_err *err)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(nl->sk, 0, net->bridge, &link);
	if (r < 0 && nk_nl_errno(r) != -ENODEV && nk_nl_errno(r) != -ENOENT)
		return nk_nl_err(err, r, "cannot look up bridge %s", net->bridge);
	if (r < 0) {
		if ((r = create(nl, net, err)) < 0)
			return r;
		if ((r = rtnl_link_get_kernel(nl->sk, 0, net->bridge, &link)) < 0)
			return nk_nl_err(err, r, "bridge %s vanished right after its creation", net->bridge);
	}
	char type[32];
	snprintf(type, sizeof(type), "%s", rtnl_link_get_type(link) ? rtnl_link_get_type(link) : "unknown");
	int index = rtnl_link_get_ifindex(link);
	unsigned flags = rtnl_link_get_flags(link);
	rtnl_link_put(link);
	bool is_bridge = strcmp(type, "bridge") == 0;
	if (!is_bridge)
		return nk_err_msg(err, EEXIST,
				  "network link %s exists and is not a bridge (type %s); remove it or "
				  "give network %s another name",
				  net->bridge, type, net->name);
	if (!(flags & IFF_UP) && (r = nk_nl_link_up(nl->sk, index, 0)) < 0)
		return nk_err_set(err, -r, "cannot bring bridge %s up", net->bridge);
	if ((r = nk_nl_addr_add(nl->sk, index, net->gateway, net->subnet.prefix)) < 0)
		return nk_err_set(err, -r, "cannot add the gateway address to bridge %s", net->bridge);
	*ifindex = index;
	return 0;
}

int nk_bridge_delete(struct nk_nl *nl, const struct nk_network *net, struct nk_err *err)
{
	return nk_nl_link_delete(nl, net->bridge, err);
}
