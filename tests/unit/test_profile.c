/* Unit tests for sandbox profiles: the shipped ones, the format, inherit, search order, listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/profile.h"
#include "core/util.h"

#define CAP(name) (1ull << nk_cap_from_name(name))

static const char *const shipped[] = {"profiles", NULL};

static uint64_t docker_default(void)
{
	uint64_t m = 0;
	for (size_t i = 0; nk_caps_default[i]; i++)
		m |= CAP(nk_caps_default[i]);
	return m;
}

static void load(const char *name, const char *const *dirs, struct nk_profile *p)
{
	struct nk_err err = {0};
	if (nk_profile_load(name, dirs, p, &err) < 0)
		fail_msg("%s", err.msg);
}

static void shipped_profiles(void **state)
{
	(void)state;
	struct nk_profile p;
	struct nk_seccomp_prog prog;
	struct nk_err err = {0};

	load("default", shipped, &p);
	assert_string_equal(p.name, "default");
	assert_string_equal(p.path, "profiles/default.profile");
	assert_string_equal(p.seccomp, "default.json");
	assert_int_equal(p.seccomp_notify, 0);
	assert_int_equal(nk_profile_caps(&p), docker_default());
	assert_string_equal(p.network, "bridge");
	assert_non_null(p.description);
	assert_int_equal(nk_profile_compile_seccomp(&p, shipped, nk_profile_caps(&p), 0, &prog, &err), 0);
	assert_int_equal(prog.has_notify, 0);
	nk_seccomp_prog_free(&prog);
	nk_profile_free(&p);

	load("strict", shipped, &p);
	assert_string_equal(p.seccomp, "strict.json");
	assert_int_equal(nk_profile_caps(&p), 0);
	assert_int_equal(p.readonly_root, 1);
	assert_string_equal(p.network, "none");
	assert_string_equal(p.memory, "256M");
	assert_string_equal(p.pids, "256");
	assert_int_equal(p.mount_count, 1);
	assert_int_equal(p.mounts[0].type, NK_PROFILE_MOUNT_TMPFS);
	assert_string_equal(p.mounts[0].dest, "/tmp");
	assert_string_equal(p.mounts[0].options, "size=64M,mode=1777");
	char path[PATH_MAX];
	assert_int_equal(nk_profile_seccomp_path(&p, shipped, path, sizeof(path), &err), 0);
	assert_string_equal(path, "profiles/seccomp/strict.json");
	assert_int_equal(nk_profile_compile_seccomp(&p, shipped, 0, 0, &prog, &err), 0);
	nk_seccomp_prog_free(&prog);
	nk_profile_free(&p);

	load("devbox", shipped, &p);
	assert_string_equal(p.seccomp, "default.json"); /* inherited */
	assert_int_equal(p.mount_count, 2);
	assert_int_equal(p.mounts[0].type, NK_PROFILE_MOUNT_TMPFS);
	assert_string_equal(p.mounts[0].dest, "$HOME");
	assert_int_equal(p.mounts[1].type, NK_PROFILE_MOUNT_BIND);
	assert_string_equal(p.mounts[1].source, "$PWD");
	assert_int_equal(p.mounts[1].readonly, 0);
	char dest[PATH_MAX];
	assert_int_equal(nk_profile_expand(p.mounts[1].dest, "/home/ada/src", "/home/ada", dest, sizeof(dest), &err), 0);
	assert_string_equal(dest, "/home/ada/src");
	assert_int_equal(p.env_count, 1);
	nk_profile_free(&p);

	load("teach", shipped, &p);
	assert_int_equal(p.seccomp_notify, 1);
	assert_int_equal(nk_profile_compile_seccomp(&p, shipped, nk_profile_caps(&p), 0, &prog, &err), 0);
	assert_int_equal(prog.has_notify, 1);
	nk_seccomp_prog_free(&prog);
	nk_profile_free(&p);

	load("unconfined", shipped, &p);
	assert_null(p.seccomp);
	assert_int_equal(nk_profile_caps(&p), docker_default());
	assert_int_equal(nk_profile_compile_seccomp(&p, shipped, 0, 0, &prog, &err), 1);
	assert_null(prog.filter);
	nk_profile_free(&p);

	assert_int_equal(nk_profile_load("nosuch", shipped, &p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no profile named \"nosuch\" (looked in profiles)"));
	/* A name with a '/' is a path to a profile file. */
	assert_int_equal(nk_profile_load("no/such/file.profile", shipped, &p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot open no/such/file.profile"));
	assert_int_equal(nk_profile_load("bad name", shipped, &p, &err), -EINVAL);
	nk_profile_free(&p);
}

static void every_key(void **state)
{
	(void)state;
	const char *text = "# a comment\n"
			   "description = Everything at once   # trailing comment\n"
			   "\n"
			   "seccomp /opt/nook/my.json\n"
			   "seccomp-notify on\n"
			   "capabilities = CAP_CHOWN, CAP_KILL SETUID\n"
			   "cap-add = NET_ADMIN\n"
			   "cap-drop = CAP_KILL\n"
			   "readonly-root = yes\n"
			   "masked-path = /proc/kcore /proc/keys\n"
			   "readonly-path = /proc/sys\n"
			   "mount = tmpfs /run ro size=1M\n"
			   "mount = bind $HOME/.cache ${PWD}/cache ro\r\n"
			   "memory = 1.5G\n"
			   "cpus = 0.5\n"
			   "pids = max\n"
			   "network = labnet\n"
			   "env = LANG=C.UTF-8\n"
			   "env = TERM";
	struct nk_profile p;
	struct nk_err err = {0};
	if (nk_profile_parse(text, strlen(text), "inline.profile", NULL, &p, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(p.name, "inline");
	assert_string_equal(p.description, "Everything at once");
	assert_string_equal(p.seccomp, "/opt/nook/my.json");
	assert_int_equal(p.seccomp_notify, 1);
	assert_int_equal(p.cap_base, CAP("CHOWN") | CAP("KILL") | CAP("SETUID"));
	assert_int_equal(nk_profile_caps(&p), CAP("CHOWN") | CAP("SETUID") | CAP("NET_ADMIN"));
	assert_int_equal(p.readonly_root, 1);
	assert_int_equal(p.masked_count, 2);
	assert_string_equal(p.masked_paths[1], "/proc/keys");
	assert_int_equal(p.readonly_count, 1);
	assert_int_equal(p.mount_count, 2);
	assert_int_equal(p.mounts[0].readonly, 1);
	assert_string_equal(p.mounts[0].options, "size=1M");
	assert_null(p.mounts[0].source);
	assert_string_equal(p.mounts[1].source, "$HOME/.cache");
	assert_string_equal(p.mounts[1].dest, "${PWD}/cache");
	assert_int_equal(p.mounts[1].readonly, 1);
	assert_string_equal(p.memory, "1.5G");
	assert_string_equal(p.cpus, "0.5");
	assert_string_equal(p.pids, "max");
	assert_string_equal(p.network, "labnet");
	assert_int_equal(p.env_count, 2);
	assert_string_equal(p.env[1], "TERM");
	nk_profile_free(&p);

	/* Nothing said: Docker's defaults. */
	assert_int_equal(nk_profile_parse("", 0, "empty.profile", NULL, &p, &err), 0);
	assert_string_equal(p.seccomp, "default.json");
	assert_int_equal(nk_profile_caps(&p), docker_default());
	assert_null(p.network);
	nk_profile_free(&p);

	/* cap-drop ALL then cap-add: only what was added. */
	const char *minimal = "cap-drop = ALL\ncap-add = CAP_NET_BIND_SERVICE\n";
	assert_int_equal(nk_profile_parse(minimal, strlen(minimal), "m", NULL, &p, &err), 0);
	assert_int_equal(nk_profile_caps(&p), CAP("NET_BIND_SERVICE"));
	nk_profile_free(&p);
}

static void bad_lines_name_file_and_line(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"seccomp = default.json\nbogus = 1\n", "bad.profile:2: unknown key \"bogus\""},
	    {"Seccomp = x.json\n", "bad.profile:1: expected \"key = value\""},
	    {"\n\nseccomp =\n", "bad.profile:3: seccomp: missing value"},
	    {"seccomp = ../etc/x.json\n", "bad.profile:1: seccomp: \"../etc/x.json\": give a file name"},
	    {"seccomp = a.json\nseccomp = b.json\n", "bad.profile:2: seccomp: already set on line 1"},
	    {"seccomp-notify = maybe\n", "bad.profile:1: seccomp-notify: expected yes or no, found \"maybe\""},
	    {"readonly-root = 2\n", "bad.profile:1: readonly-root: expected yes or no"},
	    {"capabilities = CAP_FLY\n", "bad.profile:1: capabilities: unknown capability CAP_FLY"},
	    {"cap-add = CAP_SYS_ADMIN, CAP_TELEPORT\n", "bad.profile:1: cap-add: unknown capability CAP_TELEPORT"},
	    {"cap-drop = ,\n", "bad.profile:1: cap-drop: expected capability names"},
	    {"masked-path = proc/kcore\n", "bad.profile:1: masked-path: \"proc/kcore\" is not an absolute path"},
	    {"readonly-path = /proc/../etc\n", "bad.profile:1: readonly-path: \"/proc/../etc\" has a \"..\" component"},
	    {"mount = nfs /a /b\n", "bad.profile:1: mount: expected \"tmpfs DEST"},
	    {"mount = bind /a\n", "bad.profile:1: mount: expected"},
	    {"mount = bind relative /b\n", "bad.profile:1: mount: \"relative\" is not an absolute path"},
	    {"mount = bind $USER/x /b\n", "bad.profile:1: mount: \"$USER/x\": only $PWD and $HOME can be used"},
	    {"mount = bind /a /b rx\n", "bad.profile:1: mount: unexpected \"rx\""},
	    {"mount = tmpfs /t size=lots\n", "bad.profile:1: mount: tmpfs size: invalid size 'lots'"},
	    {"mount = tmpfs /t uid=0\n", "bad.profile:1: mount: unknown tmpfs option \"uid\""},
	    {"mount = tmpfs /t mode=999\n", "bad.profile:1: mount: tmpfs mode \"999\""},
	    {"memory = a lot\n", "bad.profile:1: memory: invalid size 'a lot'"},
	    {"memory = 12\n", "bad.profile:1: memory: 12 is less than a page"},
	    {"cpus = -1\n", "bad.profile:1: cpus: expected a number of CPUs"},
	    {"cpus = 1e400\n", "bad.profile:1: cpus: expected a number of CPUs"},
	    {"pids = 0\n", "bad.profile:1: pids: expected a number of processes"},
	    {"network = my net\n", "bad.profile:1: network: none, bridge, host or a network name"},
	    {"env = =x\n", "bad.profile:1: env: invalid environment entry"},
	    {"description = a\x01\n", "bad.profile:1: description: control character"},
	    {"inherit = default\n", "bad.profile:1: inherit: no profile directories to look in"},
	    {"description = x\0y", "bad.profile: not a text file"},
	};
	for (size_t i = 0; i < NK_ARRAY_SIZE(cases); i++) {
		struct nk_profile p;
		struct nk_err err = {0};
		size_t len = strlen(cases[i].text);
		if (i == NK_ARRAY_SIZE(cases) - 1)
			len = 17; /* past the embedded NUL */
		int r = nk_profile_parse(cases[i].text, len, "bad.profile", NULL, &p, &err);
		if (r == 0)
			fail_msg("case %zu parsed, expected \"%s\"", i, cases[i].want);
		assert_null(p.seccomp);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err.msg, cases[i].want);
	}
	char longline[5000];
	memset(longline, 'x', sizeof(longline));
	struct nk_profile p;
	struct nk_err err = {0};
	assert_true(nk_profile_parse(longline, sizeof(longline), "long.profile", NULL, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "long.profile:1: line longer than"));
}

static char tmp[] = "/tmp/nook-profile-XXXXXX";

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_dirs(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmp));
	char user[64];
	snprintf(user, sizeof(user), "%s/user", tmp);
	assert_int_equal(mkdir(user, 0755), 0);
	/* The user's default: the installed one, with one more capability. */
	put(user, "default.profile", "description = mine\ninherit = default\ncap-add = NET_ADMIN\nmount = tmpfs /cache\n");
	put(user, "loop-a.profile", "inherit = loop-b\n");
	put(user, "loop-b.profile", "inherit = loop-a\n");
	put(user, "broken.profile", "seccomp = default.json\nnope\n");
	put(user, "child.profile", "inherit = devbox\nnetwork = none\nmount = tmpfs /scratch\n");
	put(user, "bad-parent.profile", "# a profile whose parent is broken\ninherit = broken\n");
	put(user, "not-a-profile.txt", "ignored\n");
	return 0;
}

static int teardown_dirs(void **state)
{
	(void)state;
	struct nk_err err;
	return nk_rm_rf(tmp, &err) < 0;
}

static void inherit_and_search_order(void **state)
{
	(void)state;
	char user[64];
	snprintf(user, sizeof(user), "%s/user", tmp);
	const char *dirs[] = {user, "profiles", NULL};
	struct nk_profile p;
	struct nk_err err = {0};

	/* The user's default shadows the installed one and inherits from it. */
	load("default", dirs, &p);
	assert_string_equal(p.description, "mine");
	assert_string_equal(p.seccomp, "default.json");
	assert_string_equal(p.seccomp_dir, "profiles");
	assert_int_equal(nk_profile_caps(&p), docker_default() | CAP("NET_ADMIN"));
	assert_int_equal(p.mount_count, 1);
	nk_profile_free(&p);

	/* Lists append after the parent's, scalars override it. */
	load("child", dirs, &p);
	assert_string_equal(p.network, "none");
	assert_int_equal(p.mount_count, 4); /* user default's /cache, devbox's two, /scratch */
	assert_string_equal(p.mounts[0].dest, "/cache");
	assert_string_equal(p.mounts[3].dest, "/scratch");
	/* devbox inherits default: from the user's dir, the first in the search order. */
	assert_string_equal(p.description, "Your current directory read-write at the same path, an empty $HOME, network on");
	nk_profile_free(&p);

	assert_true(nk_profile_load("loop-a", dirs, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "loop-a.profile:1: inherit"));
	assert_non_null(strstr(err.msg, "no profile named \"loop-a\""));

	assert_true(nk_profile_load("bad-parent", dirs, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "bad-parent.profile:2: inherit"));
	assert_non_null(strstr(err.msg, "broken.profile:2: unknown key \"nope\""));

	/* A path loads that file; its seccomp is looked up next to it first, then in the dirs. */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/broken.profile", user);
	assert_true(nk_profile_load(path, dirs, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "broken.profile:2:"));
}

struct seen {
	char names[16][64];
	char paths[16][PATH_MAX];
	int broken[16];
	size_t n;
};

static int collect(const char *name, const char *path, const struct nk_profile *p, const char *problem, void *ctx)
{
	struct seen *s = ctx;
	assert_true(s->n < 16);
	assert_true((p == NULL) == (problem != NULL));
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
	s->broken[s->n++] = p == NULL;
	return 0;
}

static void listing(void **state)
{
	(void)state;
	char user[64];
	snprintf(user, sizeof(user), "%s/user", tmp);
	const char *dirs[] = {user, "profiles", "/nonexistent-nook", NULL};
	struct seen s = {0};
	struct nk_err err = {0};
	assert_int_equal(nk_profile_list(dirs, collect, &s, &err), 0);
	static const char *const want[] = {"bad-parent", "broken", "child", "default", "devbox", "learn", "loop-a",
					   "loop-b", "strict", "teach", "unconfined"};
	assert_int_equal(s.n, NK_ARRAY_SIZE(want));
	for (size_t i = 0; i < s.n; i++)
		assert_string_equal(s.names[i], want[i]);
	assert_non_null(strstr(s.paths[3], user)); /* the user's default hides the installed one */
	assert_int_equal(s.broken[1], 1);
	assert_int_equal(s.broken[3], 0);
	assert_int_equal(s.broken[6], 1); /* loop-a */
}

static void expansion(void **state)
{
	(void)state;
	char out[64];
	struct nk_err err = {0};
	assert_int_equal(nk_profile_expand("$HOME/x/${PWD}", "/p", "/h", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/h/x//p");
	assert_int_equal(nk_profile_expand("/plain", NULL, NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, "/plain");
	assert_true(nk_profile_expand("$PWDX", "/p", "/h", out, sizeof(out), &err) < 0);
	assert_true(nk_profile_expand("$HOME", "/p", NULL, out, sizeof(out), &err) < 0);
	assert_non_null(strstr(err.msg, "$HOME is not known"));
	assert_true(nk_profile_expand("$PWD$PWD$PWD", "/0123456789012345678901234", "/h", out, sizeof(out), &err) < 0);
	assert_int_equal(err.code, ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shipped_profiles),
	    cmocka_unit_test(every_key),
	    cmocka_unit_test(bad_lines_name_file_and_line),
	    cmocka_unit_test(inherit_and_search_order),
	    cmocka_unit_test(listing),
	    cmocka_unit_test(expansion),
	};
	return cmocka_run_group_tests_name("profile", tests, setup_dirs, teardown_dirs);
}
