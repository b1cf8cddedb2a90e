/* Unit tests for IPv4/CIDR parsing, formatting, overlap and host arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "net/cidr.h"

static void parse_good(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_cidr c;
	uint32_t a;
	assert_int_equal(nk_cidr_parse("10.88.0.0/16", &c, &err), 0);
	assert_int_equal(c.addr, 0x0a580000);
	assert_int_equal(c.prefix, 16);
	assert_int_equal(nk_cidr_parse("0.0.0.0/0", &c, &err), 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(nk_cidr_parse("255.255.255.255/32", &c, &err), 0);
	assert_int_equal(c.addr, 0xffffffff);
	assert_int_equal(nk_cidr_parse("10.88.0.5/16", &c, &err), 0); /* host bits allowed here */
	assert_false(nk_cidr_is_network(&c));
	assert_int_equal(nk_ip4_parse("192.168.1.200", &a, &err), 0);
	assert_int_equal(a, 0xc0a801c8);
	assert_int_equal(nk_ip4_parse("0.0.0.0", &a, &err), 0);
	assert_int_equal(a, 0);
}

static void parse_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",          "10.88.0.0",     "10.88.0.0/",     "10.88.0.0/33",  "10.88.0.0/016",
	    "10.88.0/16", "10.88.0.0.0/16", "256.0.0.0/8",    "010.88.0.0/16", "10.88.0.0/16 ",
	    " 10.88.0.0/16", "10.88.0.0/-1", "10.88.0.0/1a",  "a.b.c.d/8",     "10..0.0/16",
	    "10.88.0.0//16", "10.88.0.0/16/2", "1.2.3.4444/8", "+1.2.3.4/8",    "10.88.0.0/100",
	};
	struct nk_err err = {0};
	struct nk_cidr c = {0x01020304, 7};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		if (nk_cidr_parse(bad[i], &c, &err) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strlen(err.msg) > 10);
	}
	assert_int_equal(c.addr, 0x01020304); /* untouched on failure */
	assert_int_equal(nk_cidr_parse(NULL, &c, &err), -EINVAL);
	uint32_t a;
	assert_int_equal(nk_ip4_parse("1.2.3", &a, &err), -EINVAL);
	assert_int_equal(nk_ip4_parse("1.2.3.4/8", &a, &err), -EINVAL);
	assert_int_equal(nk_ip4_parse("01.2.3.4", &a, &err), -EINVAL);
	/* the strict network form explains the fix */
	assert_int_equal(nk_cidr_parse_network("10.88.0.5/16", &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "did you mean 10.88.0.0/16"));
	assert_int_equal(nk_cidr_parse_network("10.88.0.0/16", &c, &err), 0);
}

static void format_round_trip(void **state)
{
	(void)state;
	static const char *const good[] = {"10.88.0.0/16", "0.0.0.0/0", "255.255.255.255/32",
					   "172.16.5.4/12", "1.2.3.4/8"};
	struct nk_err err = {0};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct nk_cidr c;
		char buf[NK_CIDR_STRLEN];
		assert_int_equal(nk_cidr_parse(good[i], &c, &err), 0);
		assert_int_equal(nk_cidr_format(&c, buf, sizeof(buf)), 0);
		assert_string_equal(buf, good[i]);
	}
	char small[8];
	struct nk_cidr c = {0xffffffff, 32};
	assert_true(nk_cidr_format(&c, small, sizeof(small)) < 0);
	char ip[NK_IP4_STRLEN];
	assert_int_equal(nk_ip4_format(0x0a580001, ip, sizeof(ip)), 0);
	assert_string_equal(ip, "10.88.0.1");
}

static void overlap(void **state)
{
	(void)state;
	struct {
		const char *a, *b;
		int overlap;
	} cases[] = {
	    {"10.88.0.0/16", "10.88.5.0/24", 1}, {"10.88.5.0/24", "10.88.0.0/16", 1},
	    {"10.88.0.0/16", "10.89.0.0/16", 0}, {"10.0.0.0/8", "10.255.255.0/24", 1},
	    {"0.0.0.0/0", "192.168.0.0/16", 1},  {"10.99.0.0/29", "10.99.0.8/29", 0},
	    {"10.99.0.0/28", "10.99.0.8/29", 1}, {"10.88.0.0/16", "10.88.0.0/16", 1},
	};
	struct nk_err err = {0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nk_cidr a, b;
		assert_int_equal(nk_cidr_parse(cases[i].a, &a, &err), 0);
		assert_int_equal(nk_cidr_parse(cases[i].b, &b, &err), 0);
		if (nk_cidr_overlap(&a, &b) != cases[i].overlap)
			fail_msg("%s vs %s: expected overlap=%d", cases[i].a, cases[i].b, cases[i].overlap);
	}
}

static void arithmetic(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_cidr c;
	uint32_t a;
	assert_int_equal(nk_cidr_parse("10.99.0.0/29", &c, &err), 0);
	assert_int_equal(nk_cidr_size(&c), 8);
	assert_int_equal(nk_cidr_broadcast(&c), 0x0a630007);
	assert_int_equal(nk_cidr_host(&c, 1, &a, &err), 0);
	assert_int_equal(a, 0x0a630001);
	assert_int_equal(nk_cidr_host(&c, 7, &a, &err), 0);
	assert_int_equal(nk_cidr_host(&c, 8, &a, &err), -ERANGE);
	assert_true(nk_cidr_contains(&c, 0x0a630006));
	assert_false(nk_cidr_contains(&c, 0x0a630008));
	assert_int_equal(nk_cidr_mask(0), 0);
	assert_int_equal(nk_cidr_mask(32), 0xffffffff);
	assert_int_equal(nk_cidr_mask(16), 0xffff0000);
	assert_int_equal(nk_cidr_parse("0.0.0.0/0", &c, &err), 0);
	assert_true(nk_cidr_size(&c) == 1ull << 32);
	assert_int_equal(nk_cidr_broadcast(&c), 0xffffffff);
	assert_int_equal(nk_cidr_host(&c, 0xffffffffull, &a, &err), 0);
	assert_int_equal(a, 0xffffffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_good), cmocka_unit_test(parse_bad), cmocka_unit_test(format_round_trip),
	    cmocka_unit_test(overlap),    cmocka_unit_test(arithmetic),
	};
	return cmocka_run_group_tests_name("net_cidr", tests, NULL, NULL);
}
