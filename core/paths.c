/* Where nook keeps its state: NOOK_ROOT (persistent) and NOOK_RUN (sockets, volatile). */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static int absolute(const char *env, const char *fallback, char *out, size_t size, struct nk_err *err)
{
	const char *v = getenv(env);
	if (!v || !*v)
		v = fallback;
	if (v[0] == '/') {
		if (nk_fmt(out, size, "%s", v) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "%s is too long", env);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return nk_err_set(err, errno, "cannot resolve %s", env);
		if (nk_fmt(out, size, "%s/%s", cwd, v) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "%s is too long", env);
	}
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* Installed profiles: NOOK_PROFILES, else next to the binary (a source tree's profiles/),
 * else PREFIX/share/nook/profiles relative to it, else the usual system place. */
static void find_installed_profiles(char *out, size_t size)
{
	const char *env = getenv("NOOK_PROFILES");
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		static const char *const rel[] = {"profiles", "../share/nook/profiles"};
		for (size_t i = 0; i < NK_ARRAY_SIZE(rel); i++) {
			char cand[PATH_MAX], check[PATH_MAX + 32];
			if (nk_fmt(cand, sizeof(cand), "%s/%s", exe, rel[i]) < 0 ||
			    nk_fmt(check, sizeof(check), "%s/default.profile", cand) < 0)
				continue;
			if (access(check, R_OK) == 0) {
				snprintf(out, size, "%s", cand);
				return;
			}
		}
	}
	snprintf(out, size, "/usr/local/share/nook/profiles");
}

void nk_paths_scope(const struct nk_paths *paths, char *out, size_t size)
{
	if (!strcmp(paths->root, "/var/lib/nook")) {
		snprintf(out, size, "%s", "");
		return;
	}
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)paths->root; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	snprintf(out, size, "@%08llx", (unsigned long long)(h >> 32));
}

void nk_paths_profile_dirs(const struct nk_paths *paths, const char *dirs[3])
{
	dirs[0] = paths->user_profiles;
	dirs[1] = paths->installed_profiles;
	dirs[2] = NULL;
}

int nk_paths_init(struct nk_paths *paths, struct nk_err *err)
{
	int r = absolute("NOOK_ROOT", "/var/lib/nook", paths->root, sizeof(paths->root), err);
	if (r < 0)
		return r;
	r = absolute("NOOK_RUN", "/run/nook", paths->run, sizeof(paths->run), err);
	if (r < 0)
		return r;
	static const char *const subdirs[] = {"instances", "images", "kernels", "net"};
	char p[PATH_MAX];
	for (size_t i = 0; i < NK_ARRAY_SIZE(subdirs); i++) {
		if (nk_fmt(p, sizeof(p), "%s/%s", paths->root, subdirs[i]) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
		if ((r = nk_mkdir_p(p, 0711, err)) < 0)
			return nk_err_prefix(err, "preparing NOOK_ROOT (is it writable? nook needs root)");
	}
	if ((r = nk_mkdir_p(paths->run, 0711, err)) < 0)
		return nk_err_prefix(err, "preparing NOOK_RUN");
	if (nk_fmt(paths->user_profiles, sizeof(paths->user_profiles), "%s/profiles", paths->root) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	find_installed_profiles(paths->installed_profiles, sizeof(paths->installed_profiles));
	return 0;
}

int nk_path_instance(const struct nk_paths *paths, const char *name, const char *file, char *out,
		     size_t size)
{
	if (file && *file)
		return nk_fmt(out, size, "%s/instances/%s/%s", paths->root, name, file);
	return nk_fmt(out, size, "%s/instances/%s", paths->root, name);
}

int nk_path_image(const struct nk_paths *paths, const char *name, const char *file, char *out,
		  size_t size)
{
	if (file && *file)
		return nk_fmt(out, size, "%s/images/%s/%s", paths->root, name, file);
	return nk_fmt(out, size, "%s/images/%s", paths->root, name);
}

int nk_path_socket(const struct nk_paths *paths, const char *name, char *out, size_t size)
{
	return nk_fmt(out, size, "%s/%s.sock", paths->run, name);
}
