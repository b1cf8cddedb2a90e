/* Building nf_tables rules expression by expression (libnftnl), in the words nft uses. */
#ifndef NOOK_NET_NFT_RULE_H
#define NOOK_NET_NFT_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

struct nftnl_rule;

/* A rule for chain `chain` of inet table `table`, with a comment `nft list` shows (it also
 * names the rule for nk_nft_rule_comment). NULL when out of memory. */
struct nftnl_rule *nk_nft_rule_new(const char *table, const char *chain, const char *comment);
/* The comment a rule carries, copied into out ("" when none). */
void nk_nft_rule_comment(const struct nftnl_rule *r, char *out, size_t size);

/* Each of these appends to r and returns false when out of memory (the rule is then
 * unusable: free it). `prefix`: match names starting with `name` ("nk-*" in nft terms). */
enum nk_nft_if { NK_NFT_IIF, NK_NFT_OIF };
bool nk_nft_ifname(struct nftnl_rule *r, enum nk_nft_if which, bool equal, const char *name, bool prefix);
/* ip saddr|daddr in subnet (with the IPv4-only guard an inet table needs). */
bool nk_nft_ip_in(struct nftnl_rule *r, bool source, const struct nk_cidr *subnet);
bool nk_nft_ct_established(struct nftnl_rule *r);
bool nk_nft_counter(struct nftnl_rule *r);
bool nk_nft_masquerade(struct nftnl_rule *r);
/* verdict: NF_ACCEPT, NF_DROP, NFT_RETURN, or NFT_JUMP to chain. */
bool nk_nft_verdict(struct nftnl_rule *r, int verdict, const char *chain);

#endif
