/* Unit tests for config.json: what run options become, and what the loader refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "core/caps.h"
#include "core/spec.h"

#define S(x) ((char *)(x)) /* -Wwrite-strings: literals are const */

static char *img_env[] = {S("PATH=/custom/bin"), S("LANG=C.UTF-8"), NULL};
static char *img_cmd[] = {S("/bin/app"), S("--serve"), NULL};
static char *img_ep[] = {S("/entry"), NULL};

static void build(const struct nk_run_opts *opts, struct nk_image *img, struct nk_spec *spec)
{
	struct nk_err err = {0};
	char *json = NULL;
	assert_int_equal(nk_spec_build(opts, "box", img, "/var/lib/nook/instances/box", &json, &err), 0);
	assert_int_equal(nk_spec_load(json, spec, &err), 0);
	free(json);
}

static void defaults_from_image(void **state)
{
	(void)state;
	struct nk_image img = {.name = "app", .rootfs = "/images/app/rootfs"};
	img.defaults.env = img_env;
	img.defaults.cmd = img_cmd;
	img.defaults.workdir = (char *)"/srv";
	struct nk_run_opts opts = {.image = "app"};
	struct nk_spec s;
	build(&opts, &img, &s);
	assert_string_equal(s.args[0], "/bin/app");
	assert_string_equal(s.args[1], "--serve");
	assert_null(s.args[2]);
	assert_string_equal(s.cwd, "/srv");
	assert_string_equal(s.env[0], "PATH=/custom/bin"); /* the image's PATH replaces ours */
	assert_string_equal(s.hostname, "box");
	assert_string_equal(s.rootfs_lower, "/images/app/rootfs");
	assert_string_equal(s.root_path, "/var/lib/nook/instances/box/rootfs");
	assert_string_equal(s.name, "box");
	assert_string_equal(s.image, "app");
	assert_false(s.terminal);
	assert_false(s.remove);
	assert_true(s.no_new_privs);
	nk_spec_free(&s);
}

static void options_override(void **state)
{
	(void)state;
	struct nk_image img = {.name = "app", .rootfs = "/r"};
	img.defaults.env = img_env;
	img.defaults.cmd = img_cmd;
	img.defaults.entrypoint = img_ep;
	char *cmd[] = {S("echo"), S("hi")};
	const char *env[] = {"LANG=fr_FR", "EXTRA=1"};
	struct nk_volume vols[1] = {{.source = "/host/data", .dest = "/data", .readonly = 1}};
	struct nk_run_opts opts = {.image = "app", .cmd = cmd, .cmd_count = 2, .tty = 1, .remove = 1,
				   .interactive = 1, .hostname = "h1", .env = env, .env_count = 2,
				   .volumes = vols, .volume_count = 1, .workdir = "/tmp"};
	struct nk_spec s;
	build(&opts, &img, &s);
	/* Docker semantics: the entrypoint stays, the command replaces Cmd. */
	assert_string_equal(s.args[0], "/entry");
	assert_string_equal(s.args[1], "echo");
	assert_string_equal(s.args[2], "hi");
	assert_string_equal(s.cwd, "/tmp");
	assert_string_equal(s.hostname, "h1");
	assert_true(s.terminal);
	assert_true(s.remove);
	assert_true(s.open_stdin);
	int lang = 0, extra = 0, term = 0;
	for (size_t i = 0; s.env[i]; i++) {
		lang += !strcmp(s.env[i], "LANG=fr_FR");
		assert_string_not_equal(s.env[i], "LANG=C.UTF-8");
		extra += !strcmp(s.env[i], "EXTRA=1");
		term += !strcmp(s.env[i], "TERM=xterm");
	}
	assert_int_equal(lang + extra + term, 3);
	const struct nk_mount *last = &s.mounts[s.mount_count - 1];
	assert_string_equal(last->destination, "/data");
	assert_string_equal(last->source, "/host/data");
	assert_true(last->bind);
	assert_true(last->readonly);
	nk_spec_free(&s);
}

static void isolation_defaults(void **state)
{
	(void)state;
	struct nk_image img = {.name = "busybox", .rootfs = "/r"};
	struct nk_run_opts opts = {.image = "busybox"};
	struct nk_spec s;
	build(&opts, &img, &s);
	int want = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
	assert_int_equal(s.clone_flags, want);
	assert_string_equal(s.args[0], "/bin/sh");
	uint64_t docker = 0;
	for (size_t i = 0; nk_caps_default[i]; i++)
		docker |= 1ull << nk_cap_from_name(nk_caps_default[i]);
	assert_true(s.cap_bounding == docker);
	assert_true(s.cap_effective == docker);
	assert_true(s.cap_inheritable == 0);
	assert_true(s.cap_ambient == 0);
	assert_false(docker & (1ull << nk_cap_from_name("CAP_SYS_ADMIN")));
	int kcore = 0, sysrq = 0;
	for (size_t i = 0; s.masked_paths[i]; i++)
		kcore += !strcmp(s.masked_paths[i], "/proc/kcore");
	for (size_t i = 0; s.readonly_paths[i]; i++)
		sysrq += !strcmp(s.readonly_paths[i], "/proc/sysrq-trigger");
	assert_int_equal(kcore + sysrq, 2);
	int sys_ro = 0;
	for (size_t i = 0; i < s.mount_count; i++)
		if (!strcmp(s.mounts[i].destination, "/sys"))
			sys_ro = s.mounts[i].readonly && (s.mounts[i].flags & MS_RDONLY);
	assert_true(sys_ro);
	nk_spec_free(&s);
}

static void loader_refuses(void **state)
{
	(void)state;
	struct nk_spec s;
	struct nk_err err;
	const char *bad[] = {
	    "",
	    "[]",
	    "{\"process\":{\"args\":[],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"}}",
	    "{\"process\":{\"args\":[1],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"}}",
	    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"rel\"},\"root\":{\"path\":\"/r\"}}",
	    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}}",
	    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_FLY\"]}},"
	    "\"root\":{\"path\":\"/r\"}}",
	    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"},"
	    "\"linux\":{\"namespaces\":[{\"type\":\"net\",\"path\":\"/proc/1/ns/net\"}]}}",
	    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"},"
	    "\"mounts\":[{\"destination\":\"relative\",\"type\":\"tmpfs\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nk_err_clear(&err);
		assert_true(nk_spec_load(bad[i], &s, &err) < 0);
		assert_true(err.msg[0] != '\0');
	}
	const char *ok = "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"}}";
	assert_int_equal(nk_spec_load(ok, &s, &err), 0);
	assert_int_equal(s.clone_flags, 0);
	nk_spec_free(&s);
}

static void cap_names(void **state)
{
	(void)state;
	assert_int_equal(nk_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(nk_cap_from_name("sys_admin"), 21);
	assert_int_equal(nk_cap_from_name("NOPE"), -1);
	assert_string_equal(nk_cap_name(0), "CAP_CHOWN");
	char buf[128];
	nk_caps_format((1ull << 0) | (1ull << 5), buf, sizeof(buf));
	assert_string_equal(buf, "CAP_CHOWN,CAP_KILL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults_from_image), cmocka_unit_test(options_override),
	    cmocka_unit_test(isolation_defaults),  cmocka_unit_test(loader_refuses),
	    cmocka_unit_test(cap_names),
	};
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
