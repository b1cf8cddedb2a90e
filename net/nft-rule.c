/* nf_tables rules from libnftnl expressions: registers, loads and compares. */
#include "nft-rule.h"

#include <arpa/inet.h>
#include <stdio.h> /* before libnftnl, which uses FILE */
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

struct nftnl_rule *nk_nft_rule_new(const char *table, const char *chain, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc(256);
	if (!r || !udata || !nftnl_udata_put_strz(udata, NFTNL_UDATA_RULE_COMMENT, comment)) {
		nftnl_udata_buf_free(udata);
		if (r)
			nftnl_rule_free(r);
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
	nftnl_udata_buf_free(udata);
	return r;
}

struct comment_out {
	char *out;
	size_t size;
};

static int comment_cb(const struct nftnl_udata *attr, void *opaque)
{
	struct comment_out *c = opaque;
	if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT)
		return 0;
	size_t len = nftnl_udata_len(attr);
	const char *s = nftnl_udata_get(attr);
	if (len > 0 && s[len - 1] == '\0')
		len--;
	snprintf(c->out, c->size, "%.*s", (int)len, s);
	return 0;
}

void nk_nft_rule_comment(const struct nftnl_rule *r, char *out, size_t size)
{
	out[0] = '\0';
	uint32_t len = 0;
	const void *data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	struct comment_out c = {.out = out, .size = size};
	if (data && len)
		(void)nftnl_udata_parse(data, len, comment_cb, &c);
}

static bool add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

static struct nftnl_expr *meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *cmp(enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

/* reg1 = reg1 & mask (xor 0): what nft emits for prefixes and flag tests. */
static struct nftnl_expr *mask(const void *m, uint32_t len)
{
	static const unsigned char zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, m, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	return e;
}

bool nk_nft_ifname(struct nftnl_rule *r, enum nk_nft_if which, bool equal, const char *name, bool prefix)
{
	/* A whole name compares all IFNAMSIZ bytes, NUL padded; a prefix only its letters. */
	char data[IFNAMSIZ] = {0};
	size_t n = strnlen(name, IFNAMSIZ - 1);
	memcpy(data, name, n);
	uint32_t len = prefix ? (uint32_t)n : IFNAMSIZ;
	return add(r, meta(which == NK_NFT_IIF ? NFT_META_IIFNAME : NFT_META_OIFNAME)) &&
	       add(r, cmp(equal ? NFT_CMP_EQ : NFT_CMP_NEQ, data, len));
}

bool nk_nft_ip_in(struct nftnl_rule *r, bool source, const struct nk_cidr *subnet)
{
	uint8_t ipv4 = NFPROTO_IPV4;
	uint32_t m = htonl(nk_cidr_mask(subnet->prefix)), net = htonl(nk_cidr_network(subnet));
	struct nftnl_expr *load = nftnl_expr_alloc("payload");
	if (load) {
		nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
		nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_OFFSET, source ? 12 : 16);
		nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_LEN, 4);
	}
	if (!add(r, meta(NFT_META_NFPROTO)) || !add(r, cmp(NFT_CMP_EQ, &ipv4, 1)) || !add(r, load))
		return false;
	return add(r, mask(&m, 4)) && add(r, cmp(NFT_CMP_EQ, &net, 4));
}

bool nk_nft_ct_established(struct nftnl_rule *r)
{
	uint32_t bits = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), zero = 0;
	struct nftnl_expr *ct = nftnl_expr_alloc("ct");
	if (ct) {
		nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	return add(r, ct) && add(r, mask(&bits, 4)) && add(r, cmp(NFT_CMP_NEQ, &zero, 4));
}

bool nk_nft_counter(struct nftnl_rule *r)
{
	return add(r, nftnl_expr_alloc("counter"));
}

bool nk_nft_masquerade(struct nftnl_rule *r)
{
	return add(r, nftnl_expr_alloc("masq"));
}

bool nk_nft_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return add(r, e);
}
