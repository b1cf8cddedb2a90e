/* IPv4 addresses and CIDR blocks: strict parsing, formatting, overlap, host arithmetic. */
#ifndef NOOK_NET_CIDR_H
#define NOOK_NET_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define NK_IP4_STRLEN 16  /* "255.255.255.255" + NUL */
#define NK_CIDR_STRLEN 19 /* "255.255.255.255/32" + NUL */

/* All addresses are host byte order: arithmetic on them is plain integer arithmetic. */
struct nk_cidr {
	uint32_t addr;  /* as written; may have host bits set (see nk_cidr_is_network) */
	uint8_t prefix; /* 0..32 */
};

/* "10.88.0.1": four decimal octets 0..255, no leading zeros, no spaces, nothing after. */
int nk_ip4_parse(const char *s, uint32_t *out, struct nk_err *err) NK_MUST_CHECK;
/* "10.88.0.0/16": an address as above, '/', a decimal prefix 0..32 without leading zeros. */
int nk_cidr_parse(const char *s, struct nk_cidr *out, struct nk_err *err) NK_MUST_CHECK;
/* Like nk_cidr_parse, and the host bits must be zero ("10.88.0.5/16" is refused). */
int nk_cidr_parse_network(const char *s, struct nk_cidr *out, struct nk_err *err) NK_MUST_CHECK;

/* Format into buf (at least NK_IP4_STRLEN / NK_CIDR_STRLEN); -ENAMETOOLONG if too small. */
int nk_ip4_format(uint32_t addr, char *buf, size_t size) NK_MUST_CHECK;
int nk_cidr_format(const struct nk_cidr *c, char *buf, size_t size) NK_MUST_CHECK;

uint32_t nk_cidr_mask(uint8_t prefix);
uint32_t nk_cidr_network(const struct nk_cidr *c);
uint32_t nk_cidr_broadcast(const struct nk_cidr *c);
/* Number of addresses in the block, network and broadcast included (2^(32-prefix)). */
uint64_t nk_cidr_size(const struct nk_cidr *c);
bool nk_cidr_is_network(const struct nk_cidr *c);
bool nk_cidr_contains(const struct nk_cidr *c, uint32_t addr);
bool nk_cidr_overlap(const struct nk_cidr *a, const struct nk_cidr *b);
/* The address `index` places after the network address; -ERANGE outside the block. */
int nk_cidr_host(const struct nk_cidr *c, uint64_t index, uint32_t *out, struct nk_err *err) NK_MUST_CHECK;

#endif
