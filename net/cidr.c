/* IPv4 and CIDR parsing and arithmetic, strict so that a typo never becomes a subnet. */
#include "cidr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* Bound how much of hostile input lands in an error message. */
#define SHOWN 40

/* Parse a decimal number of at most max_digits digits at *p, no leading zeros. */
static int parse_dec(const char **p, unsigned max_digits, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0, n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == max_digits)
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	/* "010" is octal to inet_aton and decimal to people: refuse the ambiguity. */
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	*p = s + n;
	*out = v;
	return 0;
}

static int parse_addr(const char **p, uint32_t *out)
{
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		unsigned octet;
		if (i > 0) {
			if (**p != '.')
				return -1;
			(*p)++;
		}
		if (parse_dec(p, 3, &octet) < 0 || octet > 255)
			return -1;
		a = a << 8 | octet;
	}
	*out = a;
	return 0;
}

int nk_ip4_parse(const char *s, uint32_t *out, struct nk_err *err)
{
	if (!s || !*s)
		return nk_err_msg(err, EINVAL, "empty IPv4 address: write it like 10.88.0.2");
	const char *p = s;
	if (parse_addr(&p, out) < 0 || *p != '\0')
		return nk_err_msg(err, EINVAL,
				  "invalid IPv4 address '%.*s': write four numbers 0-255 separated by "
				  "dots, like 10.88.0.2",
				  SHOWN, s);
	return 0;
}

int nk_cidr_parse(const char *s, struct nk_cidr *out, struct nk_err *err)
{
	if (!s || !*s)
		return nk_err_msg(err, EINVAL, "empty subnet: write it like 10.88.0.0/16");
	const char *p = s;
	unsigned prefix;
	uint32_t addr;
	if (parse_addr(&p, &addr) < 0)
		return nk_err_msg(err, EINVAL,
				  "invalid subnet '%.*s': the address part must be four numbers 0-255 "
				  "separated by dots, like 10.88.0.0/16",
				  SHOWN, s);
	if (*p != '/')
		return nk_err_msg(err, EINVAL,
				  "invalid subnet '%.*s': add a prefix length, like 10.88.0.0/16", SHOWN, s);
	p++;
	if (parse_dec(&p, 2, &prefix) < 0 || prefix > 32 || *p != '\0')
		return nk_err_msg(err, EINVAL,
				  "invalid subnet '%.*s': the prefix length after '/' must be a number "
				  "0-32, like 10.88.0.0/16",
				  SHOWN, s);
	out->addr = addr;
	out->prefix = (uint8_t)prefix;
	return 0;
}

int nk_cidr_parse_network(const char *s, struct nk_cidr *out, struct nk_err *err)
{
	struct nk_cidr c;
	int r = nk_cidr_parse(s, &c, err);
	if (r < 0)
		return r;
	if (!nk_cidr_is_network(&c)) {
		char want[NK_CIDR_STRLEN];
		struct nk_cidr fixed = {nk_cidr_network(&c), c.prefix};
		if (nk_cidr_format(&fixed, want, sizeof(want)) < 0)
			want[0] = '\0';
		return nk_err_msg(err, EINVAL, "invalid subnet '%s': host bits are set; did you mean %s?", s,
				  want);
	}
	*out = c;
	return 0;
}

int nk_ip4_format(uint32_t a, char *buf, size_t size)
{
	return nk_fmt(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

int nk_cidr_format(const struct nk_cidr *c, char *buf, size_t size)
{
	char ip[NK_IP4_STRLEN];
	int r = nk_ip4_format(c->addr, ip, sizeof(ip));
	if (r < 0)
		return r;
	return nk_fmt(buf, size, "%s/%u", ip, (unsigned)c->prefix);
}

uint32_t nk_cidr_mask(uint8_t prefix)
{
	/* A shift by 32 is undefined in C, so /0 is its own case. */
	if (prefix == 0)
		return 0;
	if (prefix >= 32)
		return UINT32_MAX;
	return UINT32_MAX << (32 - prefix);
}

uint32_t nk_cidr_network(const struct nk_cidr *c)
{
	return c->addr & nk_cidr_mask(c->prefix);
}

uint32_t nk_cidr_broadcast(const struct nk_cidr *c)
{
	return c->addr | ~nk_cidr_mask(c->prefix);
}

uint64_t nk_cidr_size(const struct nk_cidr *c)
{
	return (uint64_t)1 << (32 - (c->prefix > 32 ? 32 : c->prefix));
}

bool nk_cidr_is_network(const struct nk_cidr *c)
{
	return c->prefix <= 32 && nk_cidr_network(c) == c->addr;
}

bool nk_cidr_contains(const struct nk_cidr *c, uint32_t addr)
{
	return (addr & nk_cidr_mask(c->prefix)) == nk_cidr_network(c);
}

bool nk_cidr_overlap(const struct nk_cidr *a, const struct nk_cidr *b)
{
	/* Two blocks overlap exactly when the shorter prefix contains the other's network. */
	uint8_t p = a->prefix < b->prefix ? a->prefix : b->prefix;
	uint32_t m = nk_cidr_mask(p);
	return (a->addr & m) == (b->addr & m);
}

int nk_cidr_host(const struct nk_cidr *c, uint64_t index, uint32_t *out, struct nk_err *err)
{
	if (index >= nk_cidr_size(c)) {
		char s[NK_CIDR_STRLEN];
		if (nk_cidr_format(c, s, sizeof(s)) < 0)
			s[0] = '\0';
		return nk_err_msg(err, ERANGE, "address %llu is outside %s (%llu addresses)",
				  (unsigned long long)index, s, (unsigned long long)nk_cidr_size(c));
	}
	*out = nk_cidr_network(c) + (uint32_t)index;
	return 0;
}
