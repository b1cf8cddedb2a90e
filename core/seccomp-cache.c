/* Compiled seccomp filters cached by content (see seccomp-cache.h). */
#include "seccomp-cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "util.h"

#define CACHE_MAGIC "NKBPF1\n"

struct cache_header {
	char magic[8];
	uint32_t len, has_notify, filter_flags, pad;
};

/* FNV-1a over everything the compile depends on: the text, the capabilities, the flags and
 * the kernel (a profile's minKernel conditions). */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int load(const char *path, struct nk_seccomp_prog *out)
{
	nk_autofree char *buf = NULL;
	size_t len = 0;
	struct nk_err ignored;
	if (nk_read_file(path, &buf, &len, &ignored) < 0 || len < sizeof(struct cache_header))
		return -ENOENT;
	struct cache_header h;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, CACHE_MAGIC, 8) || h.len == 0 || h.len > 4096 ||
	    len != sizeof(h) + (size_t)h.len * sizeof(struct sock_filter))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->filter = malloc((size_t)h.len * sizeof(struct sock_filter));
	if (!out->filter)
		return -ENOMEM;
	memcpy(out->filter, buf + sizeof(h), (size_t)h.len * sizeof(struct sock_filter));
	out->len = (unsigned short)h.len;
	out->has_notify = (int)h.has_notify;
	out->filter_flags = h.filter_flags;
	return 0;
}

static void store(const struct nk_paths *paths, const char *path, const struct nk_seccomp_prog *p)
{
	char dir[PATH_MAX];
	struct nk_err ignored;
	if (nk_fmt(dir, sizeof(dir), "%s/cache/seccomp", paths->root) < 0 || nk_mkdir_p(dir, 0700, &ignored) < 0)
		return;
	size_t body = (size_t)p->len * sizeof(struct sock_filter);
	char *buf = malloc(sizeof(struct cache_header) + body);
	if (!buf)
		return;
	struct cache_header h = {.len = p->len, .has_notify = (uint32_t)p->has_notify, .filter_flags = p->filter_flags};
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p->filter, body);
	/* A cache entry is rebuilt if lost: no fsync needed. */
	(void)!nk_write_file_replace(path, buf, sizeof(h) + body, 0600, &ignored);
	free(buf);
}

int nk_seccomp_cached(const struct nk_paths *paths, const char *json_path, uint64_t caps, unsigned flags,
		      struct nk_seccomp_prog *out, struct nk_err *err)
{
	nk_autofree char *json = NULL;
	size_t len = 0;
	int r = nk_read_file(json_path, &json, &len, err);
	if (r < 0)
		return r;
	struct utsname u;
	uname(&u);
	uint64_t h = fnv(0xcbf29ce484222325ull, json, len);
	h = fnv(h, &caps, sizeof(caps));
	h = fnv(h, &flags, sizeof(flags));
	h = fnv(h, u.release, strlen(u.release));
	char path[PATH_MAX];
	if (nk_fmt(path, sizeof(path), "%s/cache/seccomp/%016llx.bpf", paths->root, (unsigned long long)h) == 0 &&
	    load(path, out) == 0)
		return 0;
	const char *base = strrchr(json_path, '/');
	if ((r = nk_seccomp_compile(json, len, base ? base + 1 : json_path, caps, flags, out, err)) < 0)
		return r;
	store(paths, path, out);
	return 0;
}
