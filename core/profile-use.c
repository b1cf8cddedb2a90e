/* What a loaded profile is used for: freeing it, its capabilities, $PWD and $HOME in its
 * mounts, finding and compiling its filter, and listing every profile. */
#include "profile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "caps.h"
#include "parse.h"
#include "util.h"

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void nk_profile_free(struct nk_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->mount_count; i++) {
		free(p->mounts[i].source);
		free(p->mounts[i].dest);
		free(p->mounts[i].options);
	}
	free(p->mounts);
	free_list(p->masked_paths, p->masked_count);
	free_list(p->readonly_paths, p->readonly_count);
	free_list(p->env, p->env_count);
	free(p->description);
	free(p->seccomp);
	free(p->memory);
	free(p->cpus);
	free(p->pids);
	free(p->network);
	memset(p, 0, sizeof(*p));
}

uint64_t nk_profile_caps(const struct nk_profile *p)
{
	return (p->cap_base & ~p->cap_drop) | p->cap_add;
}

int nk_profile_expand(const char *in, const char *pwd, const char *home, char *out, size_t size, struct nk_err *err)
{
	static const char *const forms[] = {"${PWD}", "${HOME}", "$PWD", "$HOME"};
	size_t o = 0;
	if (!in || !out || size == 0)
		return nk_err_msg(err, EINVAL, "nothing to expand");
	for (const char *s = in; *s;) {
		const char *piece = s;
		size_t plen = 1, skip = 1, f = 0;
		/* $PWDX is not $PWD followed by X: refuse it rather than guess. */
		while (*s == '$' && f < NK_ARRAY_SIZE(forms) &&
		       (strncmp(s, forms[f], strlen(forms[f])) ||
			(s[1] != '{' && (isalnum((unsigned char)s[strlen(forms[f])]) || s[strlen(forms[f])] == '_'))))
			f++;
		if (*s == '$' && f == NK_ARRAY_SIZE(forms))
			return nk_err_msg(err, EINVAL, "\"%s\": only $PWD and $HOME can be used", in);
		if (*s == '$') {
			piece = strstr(forms[f], "PWD") ? pwd : home;
			if (!piece)
				return nk_err_msg(err, EINVAL, "\"%s\": %s is not known here", in, forms[f]);
			plen = strlen(piece);
			skip = strlen(forms[f]);
		}
		if (o + plen >= size)
			return nk_err_msg(err, ENAMETOOLONG, "\"%s\": too long once expanded", in);
		memcpy(out + o, piece, plen);
		o += plen;
		s += skip;
	}
	out[o] = '\0';
	return 0;
}

int nk_profile_seccomp_path(const struct nk_profile *p, const char *const *search_dirs, char *out, size_t size,
			    struct nk_err *err)
{
	char looked[768] = "";
	struct stat st;
	if (!p->seccomp)
		return nk_err_msg(err, EINVAL, "profile %s has no seccomp profile", p->name);
	/* The dir of the profile that named the file first, then the search dirs. */
	for (size_t i = 0; i == 0 || (search_dirs && search_dirs[i - 1]); i++) {
		const char *dir = i == 0 ? p->seccomp_dir : search_dirs[i - 1];
		if (p->seccomp[0] == '/' ? (i > 0 || nk_fmt(out, size, "%s", p->seccomp) < 0)
					 : (!dir[0] || nk_fmt(out, size, "%s/seccomp/%s", dir, p->seccomp) < 0))
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
		size_t used = strlen(looked);
		snprintf(looked + used, sizeof(looked) - used, "%s%.200s", used ? ", " : "",
			 p->seccomp[0] == '/' ? p->seccomp : dir);
	}
	return nk_err_msg(err, ENOENT, "profile %s: no seccomp file %s (looked in %s)", p->name, p->seccomp,
			  looked[0] ? looked : "no directory");
}

int nk_profile_compile_seccomp(const struct nk_profile *p, const char *const *search_dirs, uint64_t caps,
			       unsigned extra_flags, struct nk_seccomp_prog *prog, struct nk_err *err)
{
	char path[PATH_MAX];
	memset(prog, 0, sizeof(*prog));
	if (!p->seccomp)
		return 1;
	if (nk_profile_seccomp_path(p, search_dirs, path, sizeof(path), err) < 0)
		return -err->code;
	if (nk_seccomp_compile_file(path, caps, extra_flags | (p->seccomp_notify ? NK_SECCOMP_TEACH : 0), prog, err) < 0)
		return nk_err_prefix(err, "profile %s", p->name);
	return 0;
}

struct listed {
	char name[NK_NAME_MAX + 1];
	char path[PATH_MAX];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->name, ((const struct listed *)b)->name);
}

/* Add dir's profiles to *all, unless an earlier dir had the name. */
static int list_dir(const char *dir, struct listed **all, size_t *n)
{
	DIR *d = opendir(dir);
	size_t sl = strlen(NK_PROFILE_SUFFIX);
	struct nk_err ignored;
	for (struct dirent *de; d && (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		struct listed l;
		bool seen = len <= sl || len - sl > NK_NAME_MAX || strcmp(de->d_name + len - sl, NK_PROFILE_SUFFIX);
		snprintf(l.name, sizeof(l.name), "%.*s", (int)(len - sl), de->d_name);
		seen = seen || nk_name_check(l.name, "profile", &ignored) < 0 ||
		       nk_fmt(l.path, sizeof(l.path), "%s/%s", dir, de->d_name) < 0;
		for (size_t i = 0; i < *n && !seen; i++)
			seen = !strcmp((*all)[i].name, l.name);
		if (seen)
			continue;
		struct listed *grown = realloc(*all, (*n + 1) * sizeof(**all));
		if (!grown) {
			closedir(d);
			return -ENOMEM;
		}
		*all = grown;
		grown[(*n)++] = l;
	}
	if (d)
		closedir(d); /* a missing dir (the user's, at first) has no profiles */
	return 0;
}

int nk_profile_list(const char *const *search_dirs, nk_profile_list_fn fn, void *ctx, struct nk_err *err)
{
	nk_autofree struct listed *all = NULL;
	size_t n = 0;
	for (size_t d = 0; search_dirs && search_dirs[d]; d++)
		if (list_dir(search_dirs[d], &all, &n) < 0)
			return nk_err_set(err, ENOMEM, "listing profiles");
	if (n)
		qsort(all, n, sizeof(*all), by_name);
	for (size_t i = 0; i < n; i++) {
		struct nk_profile p;
		struct nk_err problem = {0};
		int r = nk_profile_load(all[i].path, search_dirs, &p, &problem);
		r = fn(all[i].name, all[i].path, r == 0 ? &p : NULL, r == 0 ? NULL : problem.msg, ctx);
		nk_profile_free(&p);
		if (r)
			return r;
	}
	return 0;
}
