/* The netlink route socket handle, libnl error translation, and the in-namespace socket. */
#include "nl-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "core/util.h"

int nk_nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS: return 0;
	case NLE_INTR: return -EINTR;
	case NLE_BAD_SOCK: return -EBADF;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_EXIST: return -EEXIST;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_BUSY: return -EBUSY;
	case NLE_NOACCESS: return -EACCES;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV: return -ENODEV;
	default: return -EIO;
	}
}

int nk_nl_err(struct nk_err *err, int nlerr, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int code = nk_nl_errno(nlerr);
	return nk_err_msg(err, code ? -code : EIO, "%s: %s", what, nl_geterror(nlerr));
}

static int connect_route(struct nl_sock **out, struct nk_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return nk_err_set(err, ENOMEM, "cannot allocate a netlink socket");
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return nk_nl_err(err, r, "cannot open a netlink route socket");
	}
	*out = sk;
	return 0;
}

int nk_nl_open(struct nk_nl **out, struct nk_err *err)
{
	struct nk_nl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return nk_err_set(err, ENOMEM, "cannot allocate a netlink handle");
	int r = connect_route(&nl->sk, err);
	if (r < 0) {
		free(nl);
		return r;
	}
	*out = nl;
	return 0;
}

void nk_nl_close(struct nk_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

int nk_netns_open_pid(pid_t pid, struct nk_err *err)
{
	char path[64];
	if (nk_fmt(path, sizeof(path), "/proc/%d/ns/net", (int)pid) < 0)
		return nk_err_set(err, ENAMETOOLONG, "netns path of pid %d", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open the network namespace of pid %d (%s)",
				  (int)pid, path);
	return fd;
}

/*
 * A socket stays bound to the namespace it was created in, whatever the thread does
 * afterwards; so entering the container's namespace just long enough to create one costs
 * two setns() calls (a few microseconds), where a helper process would cost a fork and a
 * round trip. setns(CLONE_NEWNET) affects only the calling thread and is allowed in a
 * multi-threaded process.
 */
int nk_nl_socket_in(int netns_fd, struct nl_sock **out, struct nk_err *err)
{
	nk_autoclose int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return nk_err_set(err, errno, "cannot open this thread's network namespace");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return nk_err_set(err, errno, "cannot enter the container's network namespace");
	int r = connect_route(out, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Staying in the container's namespace would make every later host operation
		 * of this thread wrong; the caller must treat this as fatal. */
		int e = errno;
		if (r == 0)
			nl_socket_free(*out);
		return nk_err_set(err, e, "cannot return to the host network namespace "
					  "(this thread is now unusable for networking)");
	}
	return r;
}

int nk_nl_ifindex(struct nk_nl *nl, const char *name, struct nk_err *err)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(nl->sk, 0, name, &link);
	if (r < 0) {
		int e = nk_nl_errno(r);
		if (e == -ENOENT || e == -ENODEV)
			return nk_err_msg(err, ENODEV, "there is no network link named %s", name);
		return nk_nl_err(err, r, "cannot look up network link %s", name);
	}
	int ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ifindex;
}

int nk_nl_link_delete(struct nk_nl *nl, const char *name, struct nk_err *err)
{
	struct rtnl_link *link = rtnl_link_alloc();
	if (!link)
		return nk_err_set(err, ENOMEM, "deleting %s", name);
	rtnl_link_set_name(link, name);
	int r = rtnl_link_delete(nl->sk, link);
	rtnl_link_put(link);
	if (r < 0) {
		int e = nk_nl_errno(r);
		if (e == -ENOENT || e == -ENODEV)
			return 0;
		return nk_nl_err(err, r, "cannot delete network link %s", name);
	}
	return 0;
}

int nk_nl_link_up(struct nl_sock *sk, int ifindex, int master)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP,
				.ifi_change = IFF_UP};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	if (!msg)
		return -ENOMEM;
	int r = nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (r == 0 && master > 0)
		r = nla_put_u32(msg, IFLA_MASTER, (uint32_t)master);
	if (r == 0)
		r = nl_send_sync(sk, msg); /* frees msg */
	else
		nlmsg_free(msg);
	return r < 0 ? nk_nl_errno(r) : 0;
}

static struct nl_addr *ip4_addr(uint32_t addr, int prefix)
{
	uint32_t be = htonl(addr);
	struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof(be));
	if (a && prefix >= 0)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}

int nk_nl_addr_add(struct nl_sock *sk, int ifindex, uint32_t addr, uint8_t prefix)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local = ip4_addr(addr, prefix);
	uint32_t bcast = addr | (prefix ? ~(UINT32_MAX << (32 - prefix)) : UINT32_MAX);
	struct nl_addr *brd = prefix < 31 ? ip4_addr(bcast, -1) : NULL;
	int r = -ENOMEM;
	if (!ra || !local || (prefix < 31 && !brd))
		goto out;
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, AF_INET);
	if ((r = rtnl_addr_set_local(ra, local)) < 0 || (brd && (r = rtnl_addr_set_broadcast(ra, brd)) < 0)) {
		r = nk_nl_errno(r);
		goto out;
	}
	r = rtnl_addr_add(sk, ra, 0);
	r = r < 0 ? nk_nl_errno(r) : 0;
	if (r == -EEXIST)
		r = 0;
out:
	nl_addr_put(brd);
	nl_addr_put(local);
	rtnl_addr_put(ra);
	return r;
}

void nk_nl_mac_for(uint32_t addr, unsigned char mac[6])
{
	mac[0] = 0x0a;
	mac[1] = 0x58;
	mac[2] = (unsigned char)(addr >> 24);
	mac[3] = (unsigned char)(addr >> 16);
	mac[4] = (unsigned char)(addr >> 8);
	mac[5] = (unsigned char)addr;
}
