/* libFuzzer target: IPv4 addresses and CIDR blocks as users and network.json spell them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64)
		return 0;
	char s[65];
	memcpy(s, data, size);
	s[size] = '\0';
	struct nk_err err;
	struct nk_cidr c, again;
	uint32_t a;
	char buf[NK_CIDR_STRLEN];
	if (nk_cidr_parse(s, &c, &err) == 0) {
		/* Strict parsing means one spelling per value: formatting gives the input back. */
		if (c.prefix > 32 || nk_cidr_format(&c, buf, sizeof(buf)) != 0 || strcmp(buf, s) != 0)
			abort();
		if (nk_cidr_parse(buf, &again, &err) != 0 || again.addr != c.addr || again.prefix != c.prefix)
			abort();
		if (!nk_cidr_contains(&c, c.addr) || !nk_cidr_overlap(&c, &again))
			abort();
		if (nk_cidr_network(&c) > c.addr || nk_cidr_broadcast(&c) < c.addr)
			abort();
		if (nk_cidr_host(&c, nk_cidr_size(&c) - 1, &a, &err) != 0 || a != nk_cidr_broadcast(&c))
			abort();
		if (nk_cidr_host(&c, nk_cidr_size(&c), &a, &err) == 0)
			abort();
	}
	if (nk_ip4_parse(s, &a, &err) == 0) {
		char ip[NK_IP4_STRLEN];
		if (nk_ip4_format(a, ip, sizeof(ip)) != 0 || strcmp(ip, s) != 0)
			abort();
	}
	(void)!nk_cidr_parse_network(s, &c, &err);
	return 0;
}
