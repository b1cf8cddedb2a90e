/* nf_tables transactions and read-backs over a libmnl netlink socket. */
#include "nft.h"

#include <errno.h>
#include <stdio.h> /* before libnftnl, which uses FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGES 1024
/* Big enough for any one nf_tables message nook sends or reads (a page holds one). */
#define NFT_BUF_SIZE 32768

struct nk_nft_batch {
	struct nftnl_batch *batch;
	uint32_t first_seq, seq;
	/* What each queued message does, by seq - first_seq, for the error message. */
	char what[MAX_MESSAGES][48];
	int failed; /* -errno of the first message that could not be queued */
};

/* A netlink socket that gives up after a few seconds rather than hang a command. */
static int open_socket(struct mnl_socket **out, struct nk_err *err)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		return nk_err_set(err, errno, "cannot open a netfilter netlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		return nk_err_set(err, e, "cannot bind a netfilter netlink socket");
	}
	struct timeval tv = {.tv_sec = 5};
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*out = nl;
	return 0;
}

int nk_nft_batch_new(struct nk_nft_batch **out, struct nk_err *err)
{
	struct nk_nft_batch *b = calloc(1, sizeof(*b));
	if (!b || !(b->batch = nftnl_batch_alloc(NFT_BUF_SIZE, UINT16_MAX + 4096))) {
		free(b);
		return nk_err_set(err, ENOMEM, "preparing a firewall transaction");
	}
	b->first_seq = b->seq = (uint32_t)time(NULL);
	nftnl_batch_begin(nftnl_batch_buffer(b->batch), b->seq++);
	nftnl_batch_update(b->batch);
	*out = b;
	return 0;
}

void nk_nft_batch_free(struct nk_nft_batch *b)
{
	if (!b)
		return;
	nftnl_batch_free(b->batch);
	free(b);
}

/* The header of the next message, or NULL when the batch cannot take one more. */
static struct nlmsghdr *next_msg(struct nk_nft_batch *b, uint16_t type, uint16_t flags, const char *what)
{
	uint32_t index = b->seq - b->first_seq;
	if (b->failed || index >= MAX_MESSAGES) {
		if (!b->failed)
			b->failed = -E2BIG;
		return NULL;
	}
	snprintf(b->what[index], sizeof(b->what[index]), "%s", what);
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->batch), type, NFPROTO_INET, flags | NLM_F_ACK,
				     b->seq++);
}

/* A builder that could not allocate its object passes NULL: the commit reports it. */
static void out_of_memory(struct nk_nft_batch *b, const void *object)
{
	if (!object && !b->failed)
		b->failed = -ENOMEM;
}

static void queued(struct nk_nft_batch *b)
{
	if (nftnl_batch_update(b->batch) < 0 && !b->failed)
		b->failed = -ENOMEM;
}

void nk_nft_table(struct nk_nft_batch *b, uint16_t msg_type, const struct nftnl_table *t, const char *what)
{
	uint16_t flags = msg_type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0;
	struct nlmsghdr *nlh = t ? next_msg(b, msg_type, flags, what) : NULL;
	if (!nlh) {
		out_of_memory(b, t);
		return;
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	queued(b);
}

void nk_nft_chain(struct nk_nft_batch *b, uint16_t msg_type, const struct nftnl_chain *c, const char *what)
{
	uint16_t flags = msg_type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0;
	struct nlmsghdr *nlh = c ? next_msg(b, msg_type, flags, what) : NULL;
	if (!nlh) {
		out_of_memory(b, c);
		return;
	}
	nftnl_chain_nlmsg_build_payload(nlh, c);
	queued(b);
}

void nk_nft_rule(struct nk_nft_batch *b, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh = r ? next_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, what) : NULL;
	if (!nlh) {
		out_of_memory(b, r);
		return;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	queued(b);
}

static int send_batch(struct mnl_socket *nl, struct nk_nft_batch *b, struct nk_err *err)
{
	int iovlen = nftnl_batch_iovec_len(b->batch);
	struct iovec *iov = calloc((size_t)iovlen, sizeof(*iov));
	if (!iov)
		return nk_err_set(err, ENOMEM, "sending the firewall transaction");
	nftnl_batch_iovec(b->batch, iov, (uint32_t)iovlen);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov,
			     .msg_iovlen = (size_t)iovlen};
	ssize_t n = sendmsg(mnl_socket_get_fd(nl), &msg, 0);
	int e = errno;
	free(iov);
	if (n < 0)
		return nk_err_set(err, e, "cannot send the firewall transaction to the kernel");
	return 0;
}

/* Every message asked for an acknowledgement: the kernel answers each one, or stops at
 * the first it refuses (and then applies none). */
static int wait_acks(struct mnl_socket *nl, struct nk_nft_batch *b, struct nk_err *err)
{
	uint32_t want = b->seq - b->first_seq - 2, got = 0; /* not the begin and end markers */
	char buf[NFT_BUF_SIZE];
	while (got < want) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return nk_err_set(err, errno, "no answer from the kernel to the firewall transaction");
		int len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			if (e->error == 0) {
				got++;
				continue;
			}
			uint32_t index = h->nlmsg_seq - b->first_seq;
			const char *what = index > 0 && index < MAX_MESSAGES ? b->what[index] : "the transaction";
			return nk_err_set(err, -e->error, "the kernel refused the firewall change (%s)", what);
		}
	}
	return 0;
}

int nk_nft_commit(struct nk_nft_batch *b, struct nk_err *err)
{
	if (b->failed)
		return nk_err_set(err, -b->failed, "building the firewall transaction");
	nftnl_batch_end(nftnl_batch_buffer(b->batch), b->seq++);
	nftnl_batch_update(b->batch);
	struct mnl_socket *nl;
	int r = open_socket(&nl, err);
	if (r < 0)
		return r;
	if ((r = send_batch(nl, b, err)) == 0)
		r = wait_acks(nl, b, err);
	mnl_socket_close(nl);
	if (r == -EPERM || r == -EACCES)
		return nk_err_prefix(err, "programming the firewall needs CAP_NET_ADMIN");
	return r;
}

/* One request, its answers passed to cb, until the kernel's done or acknowledgement. */
static int talk(struct nlmsghdr *req, mnl_cb_t cb, void *ctx, const char *what, struct nk_err *err)
{
	struct mnl_socket *nl;
	int r = open_socket(&nl, err);
	if (r < 0)
		return r;
	uint32_t portid = mnl_socket_get_portid(nl);
	uint32_t seq = req->nlmsg_seq;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		r = nk_err_set(err, errno, "cannot ask the kernel for %s", what);
		goto out;
	}
	char buf[NFT_BUF_SIZE];
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			r = nk_err_set(err, errno, "no answer from the kernel about %s", what);
			break;
		}
		int cr = mnl_cb_run(buf, (size_t)n, seq, portid, cb, ctx);
		if (cr == MNL_CB_STOP) {
			r = 0;
			break;
		}
		if (cr < 0) {
			r = errno == ENOENT ? -ENOENT : nk_err_set(err, errno, "cannot read %s", what);
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return r;
}

static int ignore_cb(const struct nlmsghdr *nlh, void *ctx)
{
	(void)nlh;
	(void)ctx;
	return MNL_CB_OK;
}

int nk_nft_chain_exists(const char *table, const char *chain, struct nk_err *err)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	if (!c)
		return nk_err_set(err, ENOMEM, "looking up a firewall chain");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	char buf[NFT_BUF_SIZE];
	struct nlmsghdr *req = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_ACK,
						     (uint32_t)time(NULL));
	nftnl_chain_nlmsg_build_payload(req, c);
	nftnl_chain_free(c);
	char what[160];
	snprintf(what, sizeof(what), "firewall chain %s of table inet %s", chain, table);
	int r = talk(req, ignore_cb, NULL, what, err);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

struct rules_ctx {
	nk_nft_rule_fn fn;
	void *ctx;
};

static int rule_cb(const struct nlmsghdr *nlh, void *opaque)
{
	struct rules_ctx *rc = opaque;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0)
		rc->fn(r, rc->ctx);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int nk_nft_rules(const char *table, nk_nft_rule_fn fn, void *ctx, struct nk_err *err)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return nk_err_set(err, ENOMEM, "listing firewall rules");
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	char buf[NFT_BUF_SIZE];
	struct nlmsghdr *req = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP,
						     (uint32_t)time(NULL));
	nftnl_rule_nlmsg_build_payload(req, r);
	nftnl_rule_free(r);
	struct rules_ctx rc = {.fn = fn, .ctx = ctx};
	char what[160];
	snprintf(what, sizeof(what), "the rules of firewall table inet %s", table);
	return talk(req, rule_cb, &rc, what, err);
}
