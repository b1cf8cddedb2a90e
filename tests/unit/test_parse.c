/* Unit tests for what users type: names, sizes, volumes, environment, signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core/parse.h"

static void names_valid(void **state)
{
	(void)state;
	struct nk_err err = {0};
	const char *ok[] = {"a", "web", "Web-1", "a.b_c-d", "0abc", "x23456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(nk_name_check(ok[i], "instance", &err), 0);
	assert_int_equal(strlen(ok[5]), 63);
}

static void names_refused(void **state)
{
	(void)state;
	struct nk_err err = {0};
	char long_name[201];
	memset(long_name, 'a', 200);
	long_name[200] = '\0';
	const char *bad[] = {"", "../x", "a/b", "has space", "-lead", ".hidden", "_x", long_name,
			     "x234567890123456789012345678901234567890123456789012345678901234", "tab\t", "é"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nk_err_clear(&err);
		assert_int_equal(nk_name_check(bad[i], "instance", &err), -EINVAL);
		assert_true(strlen(err.msg) > 10);
	}
	assert_true(nk_name_check("has space", "instance", &err) < 0);
	assert_non_null(strstr(err.msg, "not allowed"));
	assert_true(nk_name_check(long_name, "instance", &err) < 0);
	assert_non_null(strstr(err.msg, "limit is 63"));
}

static void names_generated_are_valid(void **state)
{
	(void)state;
	struct nk_err err = {0};
	for (int i = 0; i < 50; i++) {
		char name[64];
		nk_name_generate(name, sizeof(name));
		assert_int_equal(nk_name_check(name, "instance", &err), 0);
	}
}

static void sizes(void **state)
{
	(void)state;
	struct nk_err err = {0};
	uint64_t v;
	struct {
		const char *in;
		uint64_t out;
	} ok[] = {{"512", 512},       {"1k", 1024},         {"256M", 256ull << 20}, {"256m", 256ull << 20},
		  {"1G", 1ull << 30}, {"1.5g", 3ull << 29}, {"64MiB", 64ull << 20}, {"2mb", 2ull << 20},
		  {"0", 0}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(nk_size_parse(ok[i].in, &v, &err), 0);
		assert_int_equal(v, ok[i].out);
	}
	const char *bad[] = {"", "-1", "abc", "12x", "1GG", "1 G", "nan", "inf", "99999999999T", "M"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(nk_size_parse(bad[i], &v, &err) < 0);
}

static void volumes(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_volume vol;
	assert_int_equal(nk_volume_parse("/src:/dst", &vol, &err), 0);
	assert_string_equal(vol.source, "/src");
	assert_string_equal(vol.dest, "/dst");
	assert_false(vol.readonly);
	assert_int_equal(nk_volume_parse("/a/b:/c/d:ro", &vol, &err), 0);
	assert_true(vol.readonly);
	assert_int_equal(nk_volume_parse("/a:/b:rw", &vol, &err), 0);
	assert_false(vol.readonly);
	const char *bad[] = {"", "/a", "rel:/b", "/a:rel", "/a:/b:xx", "/a:/", "/a:/../etc", "/a:/x/../../y", ":/b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nk_err_clear(&err);
		assert_true(nk_volume_parse(bad[i], &vol, &err) < 0);
		assert_true(err.msg[0] != '\0');
	}
	/* ".." only matters as a whole component. */
	assert_int_equal(nk_volume_parse("/a:/x..y/z", &vol, &err), 0);
}

static void env_entries(void **state)
{
	(void)state;
	struct nk_err err = {0};
	assert_int_equal(nk_env_check("A=1", &err), 0);
	assert_int_equal(nk_env_check("A=", &err), 0);
	assert_int_equal(nk_env_check("PATH", &err), 0);
	assert_int_equal(nk_env_check("A=with space", &err), 0);
	assert_true(nk_env_check("=x", &err) < 0);
	assert_true(nk_env_check("", &err) < 0);
	assert_true(nk_env_check("A B=1", &err) < 0);
}

static void signals(void **state)
{
	(void)state;
	struct nk_err err = {0};
	int sig;
	assert_int_equal(nk_signal_parse("TERM", &sig, &err), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(nk_signal_parse("sigkill", &sig, &err), 0);
	assert_int_equal(sig, SIGKILL);
	assert_int_equal(nk_signal_parse("10", &sig, &err), 0);
	assert_int_equal(sig, 10);
	assert_true(nk_signal_parse("0", &sig, &err) < 0);
	assert_true(nk_signal_parse("999", &sig, &err) < 0);
	assert_true(nk_signal_parse("BOGUS", &sig, &err) < 0);
	assert_true(nk_signal_parse("", &sig, &err) < 0);
	assert_string_equal(nk_signal_name(SIGHUP), "HUP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_valid), cmocka_unit_test(names_refused), cmocka_unit_test(names_generated_are_valid),
	    cmocka_unit_test(sizes),       cmocka_unit_test(volumes),       cmocka_unit_test(env_entries),
	    cmocka_unit_test(signals),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
