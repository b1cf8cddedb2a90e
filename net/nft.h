/* nf_tables over netlink: transactions built with libnftnl and sent with libmnl, and the
 * few read-backs the firewall needs. Nothing here knows what nook's rules are. */
#ifndef NOOK_NET_NFT_H
#define NOOK_NET_NFT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;

/* One nf_tables transaction: every message is applied, or none (the kernel's batch). */
struct nk_nft_batch;

int nk_nft_batch_new(struct nk_nft_batch **out, struct nk_err *err) NK_MUST_CHECK;
void nk_nft_batch_free(struct nk_nft_batch *b);

/* Queue a message; `what` names it in an error ("adding chain forward"). The object is
 * serialised now and may be freed afterwards. Failures are remembered for commit. */
void nk_nft_table(struct nk_nft_batch *b, uint16_t msg_type, const struct nftnl_table *t, const char *what);
void nk_nft_chain(struct nk_nft_batch *b, uint16_t msg_type, const struct nftnl_chain *c, const char *what);
void nk_nft_rule(struct nk_nft_batch *b, struct nftnl_rule *r, const char *what);

/* Send the transaction in the calling thread's network namespace and wait for the kernel
 * to accept or refuse it. */
int nk_nft_commit(struct nk_nft_batch *b, struct nk_err *err) NK_MUST_CHECK;

/* 1 when chain `chain` of table `table` (family inet) exists, 0 when it (or the table)
 * does not. */
int nk_nft_chain_exists(const char *table, const char *chain, struct nk_err *err) NK_MUST_CHECK;

/* Every rule of an inet table, handed to fn (parsed; freed after the call). -ENOENT when
 * the table does not exist. */
typedef void (*nk_nft_rule_fn)(const struct nftnl_rule *r, void *ctx);
int nk_nft_rules(const char *table, nk_nft_rule_fn fn, void *ctx, struct nk_err *err) NK_MUST_CHECK;

#endif
