/* Unit tests for the state store: round trip, atomic writes, bad documents, locking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/paths.h"
#include "core/state.h"
#include "core/util.h"

static int setup(void **state)
{
	static struct nk_paths paths;
	char tmpl[] = "/tmp/nook-unit-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	snprintf(paths.root, sizeof(paths.root), "%s/root", tmpl);
	snprintf(paths.run, sizeof(paths.run), "%s/run", tmpl);
	setenv("NOOK_ROOT", paths.root, 1);
	setenv("NOOK_RUN", paths.run, 1);
	struct nk_err err = {0};
	assert_int_equal(nk_paths_init(&paths, &err), 0);
	char dir[4096];
	assert_int_equal(nk_path_instance(&paths, "box", NULL, dir, sizeof(dir)), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	*state = &paths;
	return 0;
}

static int teardown(void **state)
{
	struct nk_paths *paths = *state;
	struct nk_err err = {0};
	char base[4096];
	snprintf(base, sizeof(base), "%s", paths->root);
	*strrchr(base, '/') = '\0';
	assert_int_equal(nk_rm_rf(base, &err), 0);
	return 0;
}

static void round_trip(void **state)
{
	struct nk_paths *paths = *state;
	struct nk_err err = {0};
	struct nk_state in = {.status = NK_STOPPED, .monitor_pid = 42, .monitor_start = 123456789012ull,
			      .init_pid = 43, .created_at = 1700000000, .started_at = 1700000001,
			      .finished_at = 1700000002, .exit_code = 137};
	snprintf(in.exit_reason, sizeof(in.exit_reason), "killed");
	snprintf(in.error, sizeof(in.error), "a \"quoted\" message\nwith a newline");
	assert_int_equal(nk_state_write(paths, "box", &in, &err), 0);
	struct nk_state out;
	assert_int_equal(nk_state_read(paths, "box", &out, &err), 0);
	assert_int_equal(out.status, NK_STOPPED);
	assert_int_equal(out.monitor_pid, 42);
	assert_true(out.monitor_start == 123456789012ull);
	assert_int_equal(out.init_pid, 43);
	assert_int_equal(out.exit_code, 137);
	assert_true(out.finished_at == 1700000002);
	assert_string_equal(out.exit_reason, "killed");
	assert_string_equal(out.error, in.error);
}

static void write_leaves_no_temp_file(void **state)
{
	struct nk_paths *paths = *state;
	struct nk_err err = {0};
	struct nk_state st = {.status = NK_RUNNING};
	for (int i = 0; i < 20; i++)
		assert_int_equal(nk_state_write(paths, "box", &st, &err), 0);
	char dir[4096];
	assert_int_equal(nk_path_instance(paths, "box", NULL, dir, sizeof(dir)), 0);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			assert_null(strstr(de->d_name, ".tmp"));
			files++;
		}
	closedir(d);
	assert_int_equal(files, 1);
}

static void bad_documents_refused(void **state)
{
	(void)state;
	struct nk_err err = {0};
	struct nk_state st;
	const char *bad[] = {"", "{", "[]", "{\"status\":\"flying\"}", "{\"pid\":1}", "null", "\"running\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nk_err_clear(&err);
		assert_true(nk_state_from_json(bad[i], &st, &err) < 0);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(nk_state_from_json("{\"status\":\"paused\"}", &st, &err), 0);
	assert_int_equal(st.status, NK_PAUSED);
}

static void missing_instance(void **state)
{
	struct nk_paths *paths = *state;
	struct nk_err err = {0};
	struct nk_state st;
	assert_int_equal(nk_state_read(paths, "nobody", &st, &err), -ENOENT);
	assert_int_equal(nk_state_lock(paths, "nobody", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no such instance"));
}

static void lock_is_exclusive(void **state)
{
	struct nk_paths *paths = *state;
	struct nk_err err = {0};
	int fd = nk_state_lock(paths, "box", &err);
	assert_true(fd >= 0);
	char lock[4096];
	assert_int_equal(nk_path_instance(paths, "box", "lock", lock, sizeof(lock)), 0);
	int other = open(lock, O_RDWR | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(fd);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip), cmocka_unit_test(write_leaves_no_temp_file),
	    cmocka_unit_test(bad_documents_refused), cmocka_unit_test(missing_instance),
	    cmocka_unit_test(lock_is_exclusive),
	};
	return cmocka_run_group_tests_name("state", tests, setup, teardown);
}
