/* The firewall table of a NOOK_ROOT, rebuilt from its networks (layout in firewall.h). */
#include "firewall.h"

#include <errno.h>
#include <stdio.h> /* before libnftnl, which uses FILE */
#include <fcntl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nft-rule.h"
#include "nft.h"

/* Every nook bridge, of any root: nook0, nook<hash> (a private root's default network),
 * nk-NAME. Traffic between two of them is what isolation drops. */
static const char *const NOOK_BRIDGES[] = {"nk-", "nook"};

#define CHAIN_FORWARD "forward"
#define CHAIN_NAT "postrouting"
#define NF_PRIORITY_FILTER 0
#define NF_PRIORITY_SRCNAT 100

void nk_firewall_table_name(const char *root, char *out, size_t size)
{
	uint32_t hash;
	if (nk_net_root_hash(root, &hash))
		snprintf(out, size, "nook-%08x", hash);
	else
		snprintf(out, size, "nook");
}

static void network_chain(const struct nk_network *net, char *out, size_t size)
{
	snprintf(out, size, "net-%s", net->name);
}

static void comment(const struct nk_network *net, const char *what, char *out, size_t size)
{
	snprintf(out, size, "%s: %s", net->name, what);
}

static void add_table(struct nk_nft_batch *b, uint16_t type, const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t) {
		nk_nft_table(b, type, NULL, "out of memory");
		return;
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nk_nft_table(b, type, t, type == NFT_MSG_DELTABLE ? "removing the old table" : "adding the table");
	nftnl_table_free(t);
}

/* A regular chain, or with hook >= 0 a base chain with policy accept. */
static void add_chain(struct nk_nft_batch *b, const char *table, const char *name, int hook, const char *type,
		      int priority)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	char what[64];
	snprintf(what, sizeof(what), "adding chain %s", name);
	if (!c) {
		nk_nft_chain(b, NFT_MSG_NEWCHAIN, NULL, "out of memory");
		return;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, priority);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nk_nft_chain(b, NFT_MSG_NEWCHAIN, c, what);
	nftnl_chain_free(c);
}

/* What one rule says, as data: the interfaces it matches, the address, the verdict. */
struct rule_spec {
	const char *chain;
	const char *what; /* its comment, after "NAME: " */
	const char *iif, *oif;
	bool iif_prefix, oif_prefix, oif_not;
	const struct nk_cidr *saddr, *daddr;
	bool established, counter, masquerade;
	int verdict; /* NF_ACCEPT, NF_DROP, NFT_JUMP; ignored with masquerade */
	const char *jump;
};

static void add_rule(struct nk_nft_batch *b, const char *table, const struct nk_network *net,
		     const struct rule_spec *s)
{
	char text[96];
	comment(net, s->what, text, sizeof(text));
	struct nftnl_rule *r = nk_nft_rule_new(table, s->chain, text);
	bool ok = r != NULL;
	if (ok && s->iif)
		ok = nk_nft_ifname(r, NK_NFT_IIF, true, s->iif, s->iif_prefix);
	if (ok && s->oif)
		ok = nk_nft_ifname(r, NK_NFT_OIF, !s->oif_not, s->oif, s->oif_prefix);
	if (ok && s->saddr)
		ok = nk_nft_ip_in(r, true, s->saddr);
	if (ok && s->daddr)
		ok = nk_nft_ip_in(r, false, s->daddr);
	if (ok && s->established)
		ok = nk_nft_ct_established(r);
	if (ok && s->counter)
		ok = nk_nft_counter(r);
	if (ok)
		ok = s->masquerade ? nk_nft_masquerade(r) : nk_nft_verdict(r, s->verdict, s->jump);
	char what[128];
	snprintf(what, sizeof(what), "rule \"%s\"", text);
	if (ok)
		nk_nft_rule(b, r, what);
	else
		nk_nft_rule(b, NULL, "out of memory");
	if (r)
		nftnl_rule_free(r);
}

static void add_network_rules(struct nk_nft_batch *b, const char *table, const struct nk_network *net)
{
	char chain[32];
	network_chain(net, chain, sizeof(chain));
	const char *br = net->bridge;
	add_rule(b, table, net, &(struct rule_spec){.chain = CHAIN_FORWARD, .what = "from its bridge", .iif = br,
						    .verdict = NFT_JUMP, .jump = chain});
	add_rule(b, table, net, &(struct rule_spec){.chain = CHAIN_FORWARD, .what = "to its bridge", .oif = br,
						    .verdict = NFT_JUMP, .jump = chain});
	/* Seen here only when br_netfilter passes bridged frames through the inet hooks. */
	add_rule(b, table, net, &(struct rule_spec){.chain = chain, .what = "within its bridge", .iif = br,
						    .oif = br, .verdict = NF_ACCEPT});
	for (size_t i = 0; i < sizeof(NOOK_BRIDGES) / sizeof(NOOK_BRIDGES[0]); i++) {
		add_rule(b, table, net, &(struct rule_spec){.chain = chain, .what = "isolation", .iif = br,
							    .oif = NOOK_BRIDGES[i], .oif_prefix = true,
							    .counter = true, .verdict = NF_DROP});
		add_rule(b, table, net, &(struct rule_spec){.chain = chain, .what = "isolation",
							    .iif = NOOK_BRIDGES[i], .iif_prefix = true, .oif = br,
							    .counter = true, .verdict = NF_DROP});
	}
	if (!net->masquerade)
		return;
	add_rule(b, table, net, &(struct rule_spec){.chain = chain, .what = "masquerade out", .iif = br,
						    .saddr = &net->subnet, .verdict = NF_ACCEPT});
	add_rule(b, table, net, &(struct rule_spec){.chain = chain, .what = "masquerade return", .oif = br,
						    .daddr = &net->subnet, .established = true,
						    .verdict = NF_ACCEPT});
	add_rule(b, table, net, &(struct rule_spec){.chain = CHAIN_NAT, .what = "masquerade", .oif = br,
						    .oif_not = true, .saddr = &net->subnet, .counter = true,
						    .masquerade = true});
}

int nk_firewall_sync(const char *root, const struct nk_network *nets, size_t count, struct nk_err *err)
{
	char table[32];
	nk_firewall_table_name(root, table, sizeof(table));
	struct nk_nft_batch *b;
	int r = nk_nft_batch_new(&b, err);
	if (r < 0)
		return r;
	/* Add-then-delete: the delete cannot fail on a missing table, and the rebuild below
	 * starts from nothing, all in the same transaction. */
	add_table(b, NFT_MSG_NEWTABLE, table);
	add_table(b, NFT_MSG_DELTABLE, table);
	if (count > 0) {
		bool masquerade = false;
		add_table(b, NFT_MSG_NEWTABLE, table);
		add_chain(b, table, CHAIN_FORWARD, NF_INET_FORWARD, "filter", NF_PRIORITY_FILTER);
		for (size_t i = 0; i < count; i++) {
			char chain[32];
			network_chain(&nets[i], chain, sizeof(chain));
			add_chain(b, table, chain, -1, NULL, 0);
			masquerade |= nets[i].masquerade;
		}
		if (masquerade)
			add_chain(b, table, CHAIN_NAT, NF_INET_POST_ROUTING, "nat", NF_PRIORITY_SRCNAT);
		for (size_t i = 0; i < count; i++)
			add_network_rules(b, table, &nets[i]);
	}
	r = nk_nft_commit(b, err);
	nk_nft_batch_free(b);
	if (r == -EOPNOTSUPP || r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT || r == -ENOENT)
		return nk_err_prefix(err, "updating firewall table inet %s (nook needs nf_tables, with nat and "
					  "conntrack for --masquerade, to keep networks apart)", table);
	if (r < 0)
		return nk_err_prefix(err, "updating firewall table inet %s", table);
	return 0;
}

int nk_firewall_programmed(const char *root, const struct nk_network *net, struct nk_err *err)
{
	char table[32], chain[32];
	nk_firewall_table_name(root, table, sizeof(table));
	network_chain(net, chain, sizeof(chain));
	return nk_nft_chain_exists(table, chain, err);
}

struct status_ctx {
	char isolation[96], masquerade[96];
	int isolation_rules;
	bool masquerade_rule;
};

static void status_rule(const struct nftnl_rule *r, void *opaque)
{
	struct status_ctx *sc = opaque;
	char text[128];
	nk_nft_rule_comment(r, text, sizeof(text));
	if (!strcmp(text, sc->isolation))
		sc->isolation_rules++;
	else if (!strcmp(text, sc->masquerade))
		sc->masquerade_rule = true;
}

int nk_firewall_status(const char *root, const struct nk_network *net, struct nk_firewall_status *out,
		       struct nk_err *err)
{
	char table[32];
	nk_firewall_table_name(root, table, sizeof(table));
	struct status_ctx sc = {0};
	comment(net, "isolation", sc.isolation, sizeof(sc.isolation));
	comment(net, "masquerade", sc.masquerade, sizeof(sc.masquerade));
	*out = (struct nk_firewall_status){0};
	int r = nk_nft_rules(table, status_rule, &sc, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	out->isolated = sc.isolation_rules == 2 * (int)(sizeof(NOOK_BRIDGES) / sizeof(NOOK_BRIDGES[0]));
	out->masquerade = sc.masquerade_rule;
	return 0;
}

int nk_host_ip_forward(void)
{
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char c = 0;
	ssize_t n = read(fd, &c, 1);
	int e = errno;
	close(fd);
	if (n != 1)
		return n < 0 ? -e : -EIO;
	return c == '1';
}
