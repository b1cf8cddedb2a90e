/* Link counters through rtnl_link_get_stat: one RTM_GETLINK round trip on a kept socket. */
#include "stats.h"

#include <errno.h>
#include <netlink/route/link.h>

#include "nl-internal.h"

int nk_stats_read(struct nk_nl *nl, int ifindex, const char *name, struct nk_link_stats *out,
		  struct nk_err *err)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(nl->sk, ifindex > 0 ? ifindex : 0, ifindex > 0 ? NULL : name, &link);
	if (r < 0) {
		int e = nk_nl_errno(r);
		if (e == -ENODEV || e == -ENOENT)
			return nk_err_msg(err, ENODEV, "no network link %s", ifindex > 0 ? "with that index" : name);
		return nk_nl_err(err, r, "cannot read counters of %s", ifindex > 0 ? "a link" : name);
	}
	out->rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
	out->rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
	out->rx_errors = rtnl_link_get_stat(link, RTNL_LINK_RX_ERRORS);
	out->rx_dropped = rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED);
	out->tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
	out->tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
	out->tx_errors = rtnl_link_get_stat(link, RTNL_LINK_TX_ERRORS);
	out->tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
	rtnl_link_put(link);
	return 0;
}
