/* Unit tests for running host tools: exit codes, output kept (its tail when long), the
 * working directory, the environment, and tools that are not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/host-tool.h"

static void exit_code_and_both_streams(void **state)
{
	(void)state;
	struct nk_tool_result res;
	struct nk_err err = {0};
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	assert_int_equal(nk_tool_run(argv, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, 3);
	assert_string_equal(res.output, "out\nerr\n");
	assert_string_equal(nk_tool_last_line(&res), "err");
}

static void long_output_keeps_its_end(void **state)
{
	(void)state;
	struct nk_tool_result res;
	struct nk_err err = {0};
	const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; echo last",
			      NULL};
	assert_int_equal(nk_tool_run(argv, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.truncated);
	assert_int_equal(res.output_len, sizeof(res.output) - 1);
	assert_string_equal(nk_tool_last_line(&res), "last");
	assert_null(strstr(res.output, "line 0\n"));
}

static void cwd_stdin_and_environment(void **state)
{
	(void)state;
	struct nk_tool_result res;
	struct nk_err err = {0};
	const char *argv[] = {"sh", "-c", "pwd; echo $LC_ALL; cat; echo end", NULL};
	assert_int_equal(nk_tool_run(argv, "/tmp", &res, &err), 0);
	assert_string_equal(res.output, "/tmp\nC\nend\n"); /* stdin is /dev/null */
	assert_int_equal(nk_tool_run(argv, "/nonexistent-dir", &res, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent-dir"));
}

static void missing_tools_fail_clearly(void **state)
{
	(void)state;
	struct nk_tool_result res;
	struct nk_err err = {0};
	const char *argv[] = {"nook-no-such-tool", NULL};
	assert_int_equal(nk_tool_run(argv, NULL, &res, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "nook-no-such-tool is not installed"));
	/* mkfs.ext4 is found in /usr/sbin even when PATH lacks it. */
	const char *mkfs[] = {"mkfs.ext4", "-V", NULL};
	if (nk_tool_run(mkfs, NULL, &res, &err) == 0)
		assert_non_null(strstr(res.output, "mke2fs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exit_code_and_both_streams), cmocka_unit_test(long_output_keeps_its_end),
	    cmocka_unit_test(cwd_stdin_and_environment), cmocka_unit_test(missing_tools_fail_clearly)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
