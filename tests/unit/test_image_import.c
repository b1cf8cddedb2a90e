/* Unit tests for the image importers: tar extraction containment, whiteouts, OCI and docker-save. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/image-oci-internal.h"
#include "core/image.h"
#include "core/util.h"

/* snprintf that fails the test instead of truncating. */
#define FMT(buf, size, ...) assert_int_equal(nk_fmt(buf, size, __VA_ARGS__), 0)

struct fx {
	char base[64];
	char dest[128];
};

/* One tar entry: f file, d dir, l symlink, h hardlink, p fifo; data is content or target. */
struct ent {
	const char *path;
	char type;
	const char *data;
	size_t len; /* 0: strlen(data) */
	int mode;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->base, "/tmp/nk-img-test-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	FMT(f->dest, sizeof(f->dest), "%s/rootfs", f->base);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct nk_err err;
	assert_int_equal(nk_rm_rf(f->base, &err), 0);
	free(f);
	return 0;
}

static const char *at(const char *dir, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];
	FMT(p, PATH_MAX, "%s/%s", dir, rel);
	return p;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void assert_content(const char *path, const char *want)
{
	char *got = NULL;
	struct nk_err err;
	assert_int_equal(nk_read_file(path, &got, NULL, &err), 0);
	assert_string_equal(got, want);
	free(got);
}

static void write_tar(const char *path, const struct ent *ents, size_t n, int gzip)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct ent *x = &ents[i];
		size_t len = x->len ? x->len : x->data ? strlen(x->data) : 0;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, x->path);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_perm(e, x->mode ? x->mode : x->type == 'd' ? 0755 : 0644);
		archive_entry_set_filetype(e, x->type == 'd' ? AE_IFDIR : x->type == 'l' ? AE_IFLNK
					   : x->type == 'p' ? AE_IFIFO : AE_IFREG);
		if (x->type == 'l')
			archive_entry_set_symlink(e, x->data);
		if (x->type == 'h')
			archive_entry_set_hardlink(e, x->data);
		archive_entry_set_size(e, x->type == 'f' ? (la_int64_t)len : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (x->type == 'f' && len)
			assert_int_equal(archive_write_data(a, x->data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static int extract(const char *base, const char *dest, const struct ent *ents, size_t n,
		   struct nk_err *err)
{
	char tar[PATH_MAX];
	FMT(tar, sizeof(tar), "%s/layer.tar", base);
	write_tar(tar, ents, n, 0);
	int r = nk_tar_extract(tar, dest, err);
	unlink(tar);
	return r;
}

static void free_defaults(struct nk_image_defaults *d)
{
	char **lists[] = {d->entrypoint, d->cmd, d->env};
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; lists[i] && lists[i][j]; j++)
			free(lists[i][j]);
		free(lists[i]);
	}
	free(d->workdir);
	memset(d, 0, sizeof(*d));
}

static void test_plain_entries(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{"./", 'd', NULL, 0, 0755},
		{"./etc/", 'd', NULL, 0, 0750},
		{"./etc/hosts", 'f', "127.0.0.1 localhost\n", 0, 0640},
		{"bin/tool", 'f', "#!/bin/sh\n", 0, 04755}, /* no entry for bin/: made on the way */
		{"abs", 'l', "/etc/hosts", 0, 0777},
		{"rel", 'l', "etc/hosts", 0, 0777},
		{"hard", 'h', "etc/hosts", 0, 0},
		{"fifo", 'p', NULL, 0, 0600},
	};
	struct nk_err err;
	assert_int_equal(extract(f->base, f->dest, ents, NK_ARRAY_SIZE(ents), &err), 0);
	struct stat st, st2;
	assert_int_equal(stat(at(f->dest, "etc"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_content(at(f->dest, "etc/hosts"), "127.0.0.1 localhost\n");
	assert_int_equal(stat(at(f->dest, "etc/hosts"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtime, 1700000000);
	assert_int_equal(stat(at(f->dest, "bin/tool"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	char buf[64] = "";
	assert_int_equal(readlink(at(f->dest, "abs"), buf, sizeof(buf) - 1), 10);
	assert_string_equal(buf, "/etc/hosts");
	assert_content(at(f->dest, "rel"), "127.0.0.1 localhost\n");
	assert_int_equal(stat(at(f->dest, "hard"), &st), 0);
	assert_int_equal(stat(at(f->dest, "etc/hosts"), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(lstat(at(f->dest, "fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_dotdot_refused(void **state)
{
	struct fx *f = *state;
	char deep[PATH_MAX];
	FMT(deep, sizeof(deep), "%s/a/b/dest", f->base);
	struct nk_err err;
	assert_int_equal(nk_mkdir_p(deep, 0755, &err), 0);
	const struct ent ents[] = {{"../../etc/x", 'f', "pwned", 0, 0644}};
	assert_true(extract(f->base, deep, ents, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "../../etc/x"));
	assert_false(exists(at(f->base, "a/etc/x")));
	assert_false(exists(at(f->base, "a/etc")));
	const struct ent sneaky[] = {{"ok/../../../x", 'f', "pwned", 0, 0644}};
	assert_true(extract(f->base, deep, sneaky, 1, &err) < 0);
	assert_false(exists(at(f->base, "a/x")));
}

static void test_absolute_contained(void **state)
{
	struct fx *f = *state;
	char abs[64], top[64];
	FMT(top, sizeof(top), "/nk-abs-test-%d", (int)getpid());
	FMT(abs, sizeof(abs), "%s/x", top);
	const struct ent ents[] = {{abs, 'f', "data", 0, 0644}};
	struct nk_err err;
	assert_int_equal(extract(f->base, f->dest, ents, 1, &err), 0);
	assert_false(exists(top));
	assert_content(at(f->dest, abs + 1), "data");
}

static void test_symlink_escape(void **state)
{
	struct fx *f = *state;
	char outside[PATH_MAX];
	FMT(outside, sizeof(outside), "%s/outside", f->base);
	assert_int_equal(mkdir(outside, 0755), 0);
	int fd = open(at(outside, "victim"), O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "orig", 4), 4);
	close(fd);
	char victim[PATH_MAX];
	FMT(victim, sizeof(victim), "%s/victim", outside);
	/* Each case alone, so one refusal does not hide the next. */
	const struct ent evil[] = {{"evil", 'l', outside, 0, 0777}, {"evil/pwned", 'f', "x", 0, 0644}};
	const struct ent up[] = {
		{"up", 'l', "../../../../../../..", 0, 0777}, {"up/pwned-up", 'f', "x", 0, 0644},
	};
	const struct ent over[] = {{"over", 'l', victim, 0, 0777}, {"over", 'f', "new", 0, 0644}};
	const struct ent dir[] = {
		{"d", 'l', outside, 0, 0777}, {"d/", 'd', NULL, 0, 0755}, {"d/f", 'f', "x", 0, 0644},
	};
	struct nk_err err;
	/* evil resolves, inside dest, to a directory that does not exist: refused like tar does. */
	assert_true(extract(f->base, f->dest, evil, NK_ARRAY_SIZE(evil), &err) < 0);
	assert_false(exists(at(outside, "pwned")));
	/* "up" climbs to the top of dest and stops there, as ".." does at "/". */
	assert_int_equal(extract(f->base, f->dest, up, NK_ARRAY_SIZE(up), &err), 0);
	assert_false(exists("/pwned-up"));
	assert_false(exists(at(f->base, "pwned-up")));
	assert_content(at(f->dest, "pwned-up"), "x");
	/* A regular file replaces the link rather than writing through it. */
	assert_int_equal(extract(f->base, f->dest, over, NK_ARRAY_SIZE(over), &err), 0);
	assert_content(victim, "orig");
	struct stat st;
	assert_int_equal(lstat(at(f->dest, "over"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_content(at(f->dest, "over"), "new");
	/* So does a directory. */
	assert_int_equal(extract(f->base, f->dest, dir, NK_ARRAY_SIZE(dir), &err), 0);
	assert_false(exists(at(outside, "f")));
	assert_int_equal(lstat(at(f->dest, "d"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_content(at(f->dest, "d/f"), "x");
}

static void test_hardlink_escape(void **state)
{
	struct fx *f = *state;
	char secret[PATH_MAX];
	FMT(secret, sizeof(secret), "%s/secret", f->base);
	int fd = open(secret, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	const struct ent up[] = {{"h", 'h', "../secret", 0, 0}};
	const struct ent abs[] = {{"h", 'h', secret, 0, 0}};
	const struct ent via_link[] = {{"s", 'l', f->base, 0, 0777}, {"h", 'h', "s/secret", 0, 0}};
	struct nk_err err;
	assert_true(extract(f->base, f->dest, up, 1, &err) < 0);
	assert_true(extract(f->base, f->dest, abs, 1, &err) < 0);
	assert_true(extract(f->base, f->dest, via_link, 2, &err) < 0);
	struct stat st;
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_false(exists(at(f->dest, "h")));
}

static void test_whiteout_across_layers(void **state)
{
	struct fx *f = *state;
	const struct ent one[] = {
		{"a/f1", 'f', "1", 0, 0}, {"a/f2", 'f', "2", 0, 0}, {"d/sub/x", 'f', "x", 0, 0},
		{"p/", 'd', NULL, 0, 0}, {"p/c", 'f', "c", 0, 0}, {"q", 'f', "q", 0, 0},
	};
	const struct ent two[] = {
		{"a/.wh.f1", 'f', "", 0, 0}, {".wh.d", 'f', "", 0, 0},
		{"p", 'f', "now a file", 0, 0}, {"q/", 'd', NULL, 0, 0}, {"q/z", 'f', "z", 0, 0},
		{"gone/.wh.nothing", 'f', "", 0, 0}, /* whiteout of what never existed: no-op */
	};
	struct nk_err err;
	assert_int_equal(extract(f->base, f->dest, one, NK_ARRAY_SIZE(one), &err), 0);
	assert_int_equal(extract(f->base, f->dest, two, NK_ARRAY_SIZE(two), &err), 0);
	assert_false(exists(at(f->dest, "a/f1")));
	assert_false(exists(at(f->dest, "a/.wh.f1")));
	assert_content(at(f->dest, "a/f2"), "2");
	assert_false(exists(at(f->dest, "d")));
	assert_false(exists(at(f->dest, ".wh.d")));
	assert_content(at(f->dest, "p"), "now a file");
	assert_content(at(f->dest, "q/z"), "z");
	const struct ent dot[] = {{"a/.wh..", 'f', "", 0, 0}}, dotdot[] = {{"a/.wh...", 'f', "", 0, 0}};
	assert_true(extract(f->base, f->dest, dot, 1, &err) < 0);
	assert_true(extract(f->base, f->dest, dotdot, 1, &err) < 0);
	assert_content(at(f->dest, "a/f2"), "2");
}

static void test_opaque_dir(void **state)
{
	struct fx *f = *state;
	const struct ent one[] = {
		{"o/old", 'f', "old", 0, 0}, {"o/sub/deep", 'f', "deep", 0, 0}, {"keep/k", 'f', "k", 0, 0},
	};
	const struct ent two[] = {
		{"o/", 'd', NULL, 0, 0}, {"o/.wh..wh..opq", 'f', "", 0, 0}, {"o/new", 'f', "new", 0, 0},
	};
	struct nk_err err;
	assert_int_equal(extract(f->base, f->dest, one, NK_ARRAY_SIZE(one), &err), 0);
	assert_int_equal(extract(f->base, f->dest, two, NK_ARRAY_SIZE(two), &err), 0);
	assert_false(exists(at(f->dest, "o/old")));
	assert_false(exists(at(f->dest, "o/sub")));
	assert_false(exists(at(f->dest, "o/.wh..wh..opq")));
	assert_content(at(f->dest, "o/new"), "new");
	assert_content(at(f->dest, "keep/k"), "k");
}

static void test_gzip_and_garbage(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {{"z/file", 'f', "compressed", 0, 0}};
	char tar[PATH_MAX];
	FMT(tar, sizeof(tar), "%s/layer.tar.gz", f->base);
	write_tar(tar, ents, 1, 1);
	struct nk_err err;
	assert_int_equal(nk_tar_extract(tar, f->dest, &err), 0);
	assert_content(at(f->dest, "z/file"), "compressed");
	int fd = open(tar, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not a tar archive at all", 32), 32);
	close(fd);
	assert_true(nk_tar_extract(tar, f->dest, &err) < 0);
	assert_non_null(strstr(err.msg, tar));
}

/* Kernels (or seccomp profiles) without openat2: the fallback follows no symlink at all. */
static void test_without_openat2(void **state)
{
	struct fx *f = *state;
	char outside[PATH_MAX];
	FMT(outside, sizeof(outside), "%s/outside", f->base);
	assert_int_equal(mkdir(outside, 0755), 0);
	const struct ent good[] = {
		{"etc/", 'd', NULL, 0, 0}, {"etc/hosts", 'f', "h", 0, 0}, {"lnk", 'l', "etc", 0, 0777},
		{"etc/.wh.hosts", 'f', "", 0, 0}, {"usr/bin/x", 'f', "x", 0, 0},
	};
	const struct ent evil[] = {{"evil", 'l', outside, 0, 0777}, {"evil/pwned", 'f', "x", 0, 0}};
	const struct ent up[] = {{"../x", 'f', "x", 0, 0}};
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(10);
		struct nk_err err;
		if (extract(f->base, f->dest, good, NK_ARRAY_SIZE(good), &err) < 0)
			_exit(11);
		if (extract(f->base, f->dest, evil, NK_ARRAY_SIZE(evil), &err) == 0)
			_exit(12);
		if (extract(f->base, f->dest, up, NK_ARRAY_SIZE(up), &err) == 0)
			_exit(13);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10 && !getenv("NOOK_MUST_WORK")) {
		fprintf(stderr, "skip: cannot load a seccomp filter here to hide openat2\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(exists(at(outside, "pwned")));
	assert_false(exists(at(f->base, "x")));
	assert_false(exists(at(f->dest, "etc/hosts")));
	assert_content(at(f->dest, "usr/bin/x"), "x");
}

/* --- OCI layout and docker save ---------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	struct nk_err err;
	assert_int_equal(nk_read_file(path, &buf, len, &err), 0);
	return buf;
}

static void put(const char *dir, const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX];
	struct nk_err err;
	FMT(path, sizeof(path), "%s/%s", dir, rel);
	*strrchr(path, '/') = '\0';
	assert_int_equal(nk_mkdir_p(path, 0755, &err), 0);
	FMT(path, sizeof(path), "%s/%s", dir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(nk_write_all(fd, data, len ? len : strlen(data)), 0);
	close(fd);
}

static const char *digest(char c)
{
	static char buf[8][72];
	static int next;
	char *p = buf[next++ % 8];
	strcpy(p, "sha256:");
	memset(p + 7, c, 64);
	p[71] = '\0';
	return p;
}

#if defined(__aarch64__)
#define ARCH "arm64"
#define OTHER "amd64"
#else
#define ARCH "amd64"
#define OTHER "arm64"
#endif

static const char config_json[] =
	"{\"architecture\":\"" ARCH "\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/tool\","
	"\"--x\"],\"Cmd\":[\"serve\"],\"Env\":[\"PATH=/bin\",\"A=b\"],\"WorkingDir\":\"/srv\"}}";

/* Two layers (the second gzipped, whiting out a file of the first), as files in base. */
static void make_layers(const char *base)
{
	const struct ent l1[] = {
		{"etc/os-release", 'f', "nook-test", 0, 0}, {"etc/remove-me", 'f', "x", 0, 0},
		{"bin/tool", 'f', "tool", 0, 0755},
	};
	const struct ent l2[] = {{"etc/.wh.remove-me", 'f', "", 0, 0}, {"srv/app", 'f', "hi", 0, 0}};
	const struct ent wrong[] = {{"wrong-platform", 'f', "x", 0, 0}};
	write_tar(at(base, "l1.tar"), l1, NK_ARRAY_SIZE(l1), 0);
	write_tar(at(base, "l2.tar.gz"), l2, NK_ARRAY_SIZE(l2), 1);
	write_tar(at(base, "wrong.tar"), wrong, 1, 0);
}

/* Files of an OCI layout: index -> nested index (two platforms) -> manifest -> config, layers. */
static size_t oci_files(const char *base, struct ent *out, char bufs[][1024], char *owned[3])
{
	size_t n = 0, len;
	FMT(bufs[0], 1024, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		 "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":1}]}",
		 digest('1'));
	FMT(bufs[1], 1024, "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"%s\",\"platform\":"
		 "{\"architecture\":\"" OTHER "\",\"os\":\"linux\"}},{\"digest\":\"%s\",\"platform\":"
		 "{\"architecture\":\"" ARCH "\",\"os\":\"linux\"}}]}", digest('2'), digest('3'));
	FMT(bufs[2], 1024, "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},\"layers\":["
		 "{\"digest\":\"%s\"}]}", digest('c'), digest('e'));
	FMT(bufs[3], 1024, "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},\"layers\":["
		 "{\"digest\":\"%s\"},{\"digest\":\"%s\"}]}", digest('c'), digest('a'), digest('b'));
	out[n++] = (struct ent){"oci-layout", 'f', "{\"imageLayoutVersion\":\"1.0.0\"}", 0, 0};
	out[n++] = (struct ent){"index.json", 'f', bufs[0], 0, 0};
	const char *names[] = {"1", "2", "3", "c", "a", "b", "e"};
	const char *blobs[] = {bufs[1], bufs[2], bufs[3], config_json, NULL, NULL, NULL};
	const char *files[] = {NULL, NULL, NULL, NULL, "l1.tar", "l2.tar.gz", "wrong.tar"};
	for (size_t i = 0; i < NK_ARRAY_SIZE(names); i++) {
		char *path = bufs[4 + i];
		FMT(path, 1024, "blobs/sha256/%s", digest(names[i][0]) + 7);
		const char *data = blobs[i];
		len = 0;
		if (!data)
			data = owned[i - 4] = slurp(at(base, files[i]), &len);
		out[n++] = (struct ent){path, 'f', data, len, 0};
	}
	return n;
}

static void assert_image(const char *rootfs, const struct nk_image_defaults *d)
{
	assert_content(at(rootfs, "etc/os-release"), "nook-test");
	assert_content(at(rootfs, "srv/app"), "hi");
	assert_false(exists(at(rootfs, "etc/remove-me")));
	assert_false(exists(at(rootfs, "wrong-platform")));
	assert_non_null(d->entrypoint);
	assert_string_equal(d->entrypoint[0], "/bin/tool");
	assert_string_equal(d->entrypoint[1], "--x");
	assert_null(d->entrypoint[2]);
	assert_string_equal(d->cmd[0], "serve");
	assert_null(d->cmd[1]);
	assert_string_equal(d->env[0], "PATH=/bin");
	assert_string_equal(d->env[1], "A=b");
	assert_null(d->env[2]);
	assert_string_equal(d->workdir, "/srv");
}

static void test_oci_layout_dir_and_tar(void **state)
{
	struct fx *f = *state;
	make_layers(f->base);
	struct ent ents[16];
	char bufs[12][1024], *owned[3];
	size_t n = oci_files(f->base, ents, bufs, owned);
	char layout[PATH_MAX], tarball[PATH_MAX], rootfs2[PATH_MAX];
	FMT(layout, sizeof(layout), "%s/layout", f->base);
	for (size_t i = 0; i < n; i++)
		put(layout, ents[i].path, ents[i].data, ents[i].len);
	FMT(tarball, sizeof(tarball), "%s/image-oci.tar", f->base);
	write_tar(tarball, ents, n, 0);
	for (size_t i = 0; i < 3; i++)
		free(owned[i]);

	assert_true(nk_oci_detect(layout));
	assert_true(nk_oci_detect(tarball));
	struct nk_image_defaults d;
	struct nk_err err;
	assert_int_equal(nk_oci_import(layout, f->dest, &d, &err), 0);
	assert_image(f->dest, &d);
	free_defaults(&d);

	FMT(rootfs2, sizeof(rootfs2), "%s/rootfs2", f->base);
	assert_int_equal(nk_oci_import(tarball, rootfs2, &d, &err), 0);
	assert_image(rootfs2, &d);
	free_defaults(&d);
	DIR *dir = opendir(f->base); /* the unpacked tarball must be gone */
	assert_non_null(dir);
	for (struct dirent *de; (de = readdir(dir));)
		assert_null(strstr(de->d_name, ".oci-"));
	closedir(dir);
}

static void test_docker_save(void **state)
{
	struct fx *f = *state;
	make_layers(f->base);
	size_t len1, len2;
	char *l1 = slurp(at(f->base, "l1.tar"), &len1);
	char *l2 = slurp(at(f->base, "l2.tar.gz"), &len2);
	const struct ent ents[] = {
		{"aa/", 'd', NULL, 0, 0},
		{"aa/layer.tar", 'f', l1, len1, 0},
		{"bb/layer.tar", 'f', l2, len2, 0},
		{"cfg.json", 'f', config_json, 0, 0},
		{"manifest.json", 'f', "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"t:1\"],\"Layers\":"
		 "[\"aa/layer.tar\",\"bb/layer.tar\"]}]", 0, 0},
		{"repositories", 'f', "{}", 0, 0},
	};
	char tarball[PATH_MAX];
	FMT(tarball, sizeof(tarball), "%s/saved.tar", f->base);
	write_tar(tarball, ents, NK_ARRAY_SIZE(ents), 0);
	free(l1);
	free(l2);
	assert_true(nk_oci_detect(tarball));
	struct nk_image_defaults d;
	struct nk_err err;
	assert_int_equal(nk_oci_import(tarball, f->dest, &d, &err), 0);
	assert_image(f->dest, &d);
	free_defaults(&d);
}

static void test_bad_references_refused(void **state)
{
	struct fx *f = *state;
	char bad_layer[512], upper[512], layout[PATH_MAX], rootfs[PATH_MAX];
	FMT(layout, sizeof(layout), "%s/layout", f->base);
	FMT(rootfs, sizeof(rootfs), "%s/never", f->base);
	put(layout, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0);
	put(layout, "escape", "not a blob", 0);
	put(layout, "blobs/sha256/x", "", 0);
	FMT(bad_layer, sizeof(bad_layer), "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
		 "\"layers\":[{\"digest\":\"sha256:../../escape\"}]}", digest('c'));
	char manifest[128];
	FMT(manifest, sizeof(manifest), "blobs/sha256/%s", digest('9') + 7);
	put(layout, manifest, bad_layer, 0);
	put(layout, "blobs/sha256/cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
	    config_json, 0);
	char index[512];
	FMT(index, sizeof(index), "{\"manifests\":[{\"digest\":\"%s\"}]}", digest('9'));
	put(layout, "index.json", index, 0);
	struct nk_image_defaults d;
	struct nk_err err;
	assert_true(nk_oci_import(layout, rootfs, &d, &err) < 0);
	assert_non_null(strstr(err.msg, "sha256:../../escape"));
	assert_false(exists(rootfs)); /* refused before anything was written */
	assert_null(d.entrypoint);

	strcpy(upper, digest('9'));
	for (char *p = upper + 7; *p; p++)
		*p = 'A';
	FMT(index, sizeof(index), "{\"manifests\":[{\"digest\":\"%s\"}]}", upper);
	put(layout, "index.json", index, 0);
	assert_true(nk_oci_import(layout, rootfs, &d, &err) < 0);
	assert_non_null(strstr(err.msg, "refusing digest"));

	char saved[PATH_MAX];
	FMT(saved, sizeof(saved), "%s/saved", f->base);
	put(saved, "manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"../escape\"]}]", 0);
	put(saved, "c.json", config_json, 0);
	assert_true(nk_oci_import(saved, rootfs, &d, &err) < 0);
	assert_non_null(strstr(err.msg, "../escape"));
	assert_false(exists(rootfs));
}

static void test_parse_config(void **state)
{
	(void)state;
	struct nk_image_defaults d;
	struct nk_err err;
	assert_int_equal(nk_oci_parse_config(config_json, strlen(config_json), &d, &err), 0);
	assert_string_equal(d.cmd[0], "serve");
	free_defaults(&d);
	const char *none = "{\"architecture\":\"amd64\"}";
	assert_int_equal(nk_oci_parse_config(none, strlen(none), &d, &err), 0);
	assert_null(d.entrypoint);
	assert_null(d.workdir);
	const char *bad[] = {
		"", "{", "[1]", "{\"config\":1}", "{\"config\":{\"Cmd\":\"sh\"}}",
		"{\"config\":{\"Env\":[\"A=b\",2]}}", "{\"config\":{\"WorkingDir\":[]}}", "{} trailing",
		"null",
	};
	for (size_t i = 0; i < NK_ARRAY_SIZE(bad); i++) {
		assert_true(nk_oci_parse_config(bad[i], strlen(bad[i]), &d, &err) < 0);
		assert_null(d.env);
		assert_true(err.msg[0] != '\0');
	}
}

static void test_detect_plain(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {{"etc/", 'd', NULL, 0, 0}, {"manifest.json", 'f', "[]", 0, 0}};
	write_tar(at(f->base, "rootfs.tar"), ents, 2, 1);
	assert_false(nk_oci_detect(at(f->base, "rootfs.tar")));
	assert_false(nk_oci_detect(f->dest));
	assert_false(nk_oci_detect(at(f->base, "missing")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_contained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteout_across_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opaque_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_openat2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_layout_dir_and_tar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_references_refused, setup, teardown),
		cmocka_unit_test(test_parse_config),
		cmocka_unit_test_setup_teardown(test_detect_plain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
