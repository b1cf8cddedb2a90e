/* Unit tests for the shell's tokenizer: quotes, escapes, comments, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

/* The tokenizer lives in tui/, which libnook.a does not hold; it is one pure file, so the
 * test compiles it in. */
#include "tui/shell-split.c"

/* Split line and check it gives exactly the NULL-terminated list of words. */
static void expect_words(const char *line, const char *const *words)
{
	struct nk_words w;
	struct nk_err err = {0};
	assert_int_equal(nk_shell_split(line, 0, &w, &err), 0);
	int n = 0;
	while (words[n])
		n++;
	assert_int_equal(w.argc, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(w.argv[i], words[i]);
	assert_null(w.argv[n]);
	nk_words_free(&w);
}

static void plain_words(void **state)
{
	(void)state;
	expect_words("run --rm busybox", (const char *[]){"run", "--rm", "busybox", NULL});
	expect_words("  \tls   -a \r", (const char *[]){"ls", "-a", NULL});
	expect_words("x", (const char *[]){"x", NULL});
}

static void blank_and_comments(void **state)
{
	(void)state;
	expect_words("", (const char *[]){NULL});
	expect_words("   \t ", (const char *[]){NULL});
	expect_words("# all comment", (const char *[]){NULL});
	expect_words("  #indented", (const char *[]){NULL});
	expect_words("ls # why", (const char *[]){"ls", NULL});
	/* '#' inside a word is just a character, as in sh. */
	expect_words("echo a#b", (const char *[]){"echo", "a#b", NULL});
	expect_words("echo '#x' \\#y", (const char *[]){"echo", "#x", "#y", NULL});
}

static void quotes(void **state)
{
	(void)state;
	expect_words("sh -c 'echo \"a b\"'", (const char *[]){"sh", "-c", "echo \"a b\"", NULL});
	expect_words("echo \"it's\"", (const char *[]){"echo", "it's", NULL});
	expect_words("'a b'c\"d e\"", (const char *[]){"a bcd e", NULL});
	expect_words("'' \"\"", (const char *[]){"", "", NULL});
	expect_words("'\\n'", (const char *[]){"\\n", NULL});
	/* In double quotes only \" and \\ are escapes; other backslashes stay. */
	expect_words("\"a\\\"b\\\\c\\d\"", (const char *[]){"a\"b\\c\\d", NULL});
	expect_words("a\\ b \\'c", (const char *[]){"a b", "'c", NULL});
}

static void bad_input_is_an_error(void **state)
{
	(void)state;
	const char *bad[] = {"echo 'open", "echo \"open", "rm \\", "'", "a \"b\\\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nk_words w;
		struct nk_err err = {0};
		assert_int_equal(nk_shell_split(bad[i], 0, &w, &err), -EINVAL);
		assert_true(strlen(err.msg) > 10);
		assert_null(w.argv);
		nk_words_free(&w);
	}
	struct nk_words w;
	struct nk_err err = {0};
	assert_int_equal(nk_shell_split("x 'y", 0, &w, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unterminated single quote"));
}

static void partial_for_completion(void **state)
{
	(void)state;
	struct nk_words w;
	struct nk_err err = {0};
	assert_int_equal(nk_shell_split("inspect 'we", NK_SPLIT_PARTIAL, &w, &err), 0);
	assert_int_equal(w.argc, 2);
	assert_string_equal(w.argv[1], "we");
	assert_int_equal(w.open_quote, '\'');
	nk_words_free(&w);
	assert_int_equal(nk_shell_split("rm a\\", NK_SPLIT_PARTIAL, &w, &err), 0);
	assert_int_equal(w.argc, 2);
	assert_string_equal(w.argv[1], "a");
	assert_int_equal(w.open_quote, 0);
	nk_words_free(&w);
}

/* The worst cases for the buffer sizes: many one-character words, many empty words. */
static void dense_lines(void **state)
{
	(void)state;
	char line[400];
	for (int i = 0; i < 199; i++) {
		line[2 * i] = 'x';
		line[2 * i + 1] = ' ';
	}
	line[398] = 'y';
	line[399] = '\0';
	struct nk_words w;
	struct nk_err err = {0};
	assert_int_equal(nk_shell_split(line, 0, &w, &err), 0);
	assert_int_equal(w.argc, 200);
	assert_string_equal(w.argv[199], "y");
	nk_words_free(&w);
	for (int i = 0; i < 400; i++)
		line[i] = (i % 3 == 2) ? ' ' : '\'';
	line[399] = '\0';
	assert_int_equal(nk_shell_split(line, 0, &w, &err), 0);
	assert_int_equal(w.argc, 133);
	for (int i = 0; i < w.argc; i++)
		assert_string_equal(w.argv[i], "");
	nk_words_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_words),
	    cmocka_unit_test(blank_and_comments),
	    cmocka_unit_test(quotes),
	    cmocka_unit_test(bad_input_is_an_error),
	    cmocka_unit_test(partial_for_completion),
	    cmocka_unit_test(dense_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
