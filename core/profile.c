/* Sandbox profiles: parse the line format (docs/profiles.md), follow `inherit`, find the files. */
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

#define MAX_TEXT (1u << 20)
#define MAX_LINE 4096
#define MAX_DEPTH 8

enum key {
	K_DESCRIPTION, K_INHERIT, K_SECCOMP, K_NOTIFY, K_CAPS, K_CAP_ADD, K_CAP_DROP, K_RO_ROOT,
	K_MASKED, K_RO_PATH, K_MOUNT, K_MEMORY, K_CPUS, K_PIDS, K_NETWORK, K_ENV, K_LEARN, NKEYS
};
static const char *const key_names[NKEYS + 1] = {
    "description", "inherit", "seccomp", "seccomp-notify", "capabilities", "cap-add", "cap-drop", "readonly-root",
    "masked-path", "readonly-path", "mount", "memory", "cpus", "pids", "network", "env", "seccomp-learn", NULL};
/* Lists: each line adds. Every other key may be set once per file (a child overrides its parent). */
#define LIST_KEYS (1u << K_CAP_ADD | 1u << K_CAP_DROP | 1u << K_MASKED | 1u << K_RO_PATH | 1u << K_MOUNT | 1u << K_ENV)

struct parser {
	const char *origin;      /* file name in messages */
	const char *dir;         /* profiles dir holding the file ("" for text in memory) */
	const char *const *dirs; /* search dirs, for inherit */
	const char **chain;      /* files being loaded, outermost first: inherit skips them */
	size_t depth;
	unsigned line;
	const char *key;         /* the key of the line being read, for messages */
	unsigned set_at[NKEYS];  /* line a once-per-file key was set on */
	struct nk_profile *p;
	struct nk_err *err;
};

NK_PRINTF(2, 3)
static int bad(struct parser *ps, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nk_err_msg(ps->err, EINVAL, "%s:%u: %s%s%s", ps->origin, ps->line, ps->key ? ps->key : "",
			  ps->key ? ": " : "", msg);
}

static int set_str(struct parser *ps, char **field, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return nk_err_set(ps->err, ENOMEM, "%s:%u", ps->origin, ps->line);
	free(*field);
	*field = copy;
	return 0;
}

static int push_str(struct parser *ps, char ***list, size_t *count, const char *value)
{
	char **grown = realloc(*list, (*count + 1) * sizeof(**list));
	if (grown)
		*list = grown;
	if (!grown || !(grown[*count] = strdup(value)))
		return nk_err_set(ps->err, ENOMEM, "%s:%u", ps->origin, ps->line);
	(*count)++;
	return 0;
}

/* Split on blanks (and commas when asked), in place; max + 1 when there are too many. */
static size_t split(char *s, bool commas, char **tok, size_t max)
{
	size_t n = 0;
	const char *sep = commas ? " \t," : " \t";
	for (char *save = NULL, *t = strtok_r(s, sep, &save); t; t = strtok_r(NULL, sep, &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = t;
	}
	return n;
}

static int parse_bool(struct parser *ps, const char *v, int *out)
{
	static const char *const yes[] = {"yes", "on", "true", "1"}, *const no[] = {"no", "off", "false", "0"};
	for (size_t i = 0; i < NK_ARRAY_SIZE(yes); i++)
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i]))
			return *out = !strcasecmp(v, yes[i]), 0;
	return bad(ps, "expected yes or no, found \"%s\"", v);
}

static uint64_t docker_caps(void)
{
	uint64_t m = 0;
	for (size_t i = 0; nk_caps_default[i]; i++)
		m |= 1ull << (nk_cap_from_name(nk_caps_default[i]) & 63);
	return m;
}

/* "CAP_A, CAP_B" or "ALL"; for `capabilities` also "docker-default" and "none". */
static int parse_caps(struct parser *ps, char *v, bool whole_set, uint64_t *out)
{
	char *tok[64];
	*out = 0;
	if (whole_set && (!strcmp(v, "docker-default") || !strcmp(v, "none")))
		return *out = v[0] == 'd' ? docker_caps() : 0, 0;
	size_t n = split(v, true, tok, NK_ARRAY_SIZE(tok));
	if (n == 0 || n > NK_ARRAY_SIZE(tok))
		return bad(ps, "expected capability names like CAP_NET_ADMIN");
	for (size_t i = 0; i < n; i++) {
		bool all = !strcasecmp(tok[i], "ALL");
		int c = nk_cap_from_name(tok[i]);
		if (!all && (c < 0 || c > 63))
			return bad(ps, "unknown capability %s", tok[i]);
		for (int a = all ? 0 : c; a <= (all ? 63 : c); a++)
			*out |= nk_cap_name(a) ? 1ull << a : 0;
	}
	return 0;
}

/* Absolute (or starting with $PWD / $HOME when `vars`), no ".." component, no control character. */
static int check_path(struct parser *ps, const char *path, bool vars)
{
	char expanded[PATH_MAX];
	struct nk_err e = {0};
	if (vars && nk_profile_expand(path, "/", "/", expanded, sizeof(expanded), &e) < 0)
		return bad(ps, "%s", e.msg);
	const char *p = vars ? expanded : path;
	if (p[0] != '/')
		return bad(ps, "\"%s\" is not an absolute path%s", path, vars ? " ($PWD and $HOME may start it)" : "");
	if (strlen(path) >= PATH_MAX)
		return bad(ps, "path too long");
	for (const char *s = path; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return bad(ps, "control character in path");
	for (const char *s = strstr(p, ".."); s; s = strstr(s + 1, ".."))
		if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0'))
			return bad(ps, "\"%s\" has a \"..\" component", path);
	return 0;
}

/* tmpfs options: size=SIZE and mode=OCTAL, comma-separated. */
static int check_tmpfs_options(struct parser *ps, const char *opts)
{
	char copy[128];
	if (nk_fmt(copy, sizeof(copy), "%s", opts) < 0)
		return bad(ps, "tmpfs options too long");
	for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *v = strchr(o, '=');
		struct nk_err e = {0};
		uint64_t bytes;
		if (v)
			*v++ = '\0';
		if (v && !strcmp(o, "size") && (nk_size_parse(v, &bytes, &e) < 0 || bytes == 0))
			return bad(ps, "tmpfs size: %s", e.code ? e.msg : "must be more than 0");
		if (v && !strcmp(o, "mode") && (strspn(v, "01234567") != strlen(v) || strlen(v) < 3 || strlen(v) > 4))
			return bad(ps, "tmpfs mode \"%s\": expected octal like 1777", v);
		if (!v || (strcmp(o, "size") && strcmp(o, "mode")))
			return bad(ps, "unknown tmpfs option \"%s\" (size=, mode=)", o);
	}
	return 0;
}

/* tmpfs DEST [ro|rw] [OPTIONS]  |  bind SRC DEST [ro|rw] */
static int parse_mount(struct parser *ps, char *v)
{
	char *tok[6];
	size_t n = split(v, false, tok, NK_ARRAY_SIZE(tok));
	struct nk_profile_mount m = {.type = n && !strcmp(tok[0], "bind") ? NK_PROFILE_MOUNT_BIND : NK_PROFILE_MOUNT_TMPFS};
	size_t extra = m.type == NK_PROFILE_MOUNT_BIND ? 3 : 2;
	if (n < extra || n > NK_ARRAY_SIZE(tok) || (strcmp(tok[0], "tmpfs") && strcmp(tok[0], "bind")))
		return bad(ps, "expected \"tmpfs DEST [ro] [size=64M,mode=1777]\" or \"bind SRC DEST [ro]\"");
	const char *src = m.type == NK_PROFILE_MOUNT_BIND ? tok[1] : NULL, *dest = tok[extra - 1], *opts = NULL;
	bool mode_seen = false;
	if ((src && check_path(ps, src, true) < 0) || check_path(ps, dest, true) < 0)
		return -EINVAL;
	for (size_t i = extra; i < n; i++) {
		if ((!strcmp(tok[i], "ro") || !strcmp(tok[i], "rw")) && !mode_seen && !opts) {
			m.readonly = tok[i][1] == 'o';
			mode_seen = true;
		} else if (m.type == NK_PROFILE_MOUNT_TMPFS && strchr(tok[i], '=') && !opts) {
			if (check_tmpfs_options(ps, opts = tok[i]) < 0)
				return -EINVAL;
		} else {
			return bad(ps, "unexpected \"%s\" (after the paths: ro or rw%s)", tok[i],
				   m.type == NK_PROFILE_MOUNT_TMPFS ? ", then tmpfs options" : "");
		}
	}
	struct nk_profile *p = ps->p;
	struct nk_profile_mount *grown = realloc(p->mounts, (p->mount_count + 1) * sizeof(*grown));
	if (grown) {
		p->mounts = grown;
		m.source = src ? strdup(src) : NULL;
		m.dest = strdup(dest);
		m.options = opts ? strdup(opts) : NULL;
		grown[p->mount_count++] = m;
	}
	if (!grown || (src && !m.source) || !m.dest || (opts && !m.options))
		return nk_err_set(ps->err, ENOMEM, "%s:%u", ps->origin, ps->line);
	return 0;
}

static int parse_resource(struct parser *ps, enum key k, const char *v)
{
	struct nk_err e = {0};
	uint64_t bytes;
	char *end;
	double cpus;
	size_t digits = strspn(v, "0123456789");
	switch (k) {
	case K_MEMORY:
		if (nk_size_parse(v, &bytes, &e) < 0)
			return bad(ps, "%s", e.msg);
		if (bytes < 4096)
			return bad(ps, "%s is less than a page", v);
		return set_str(ps, &ps->p->memory, v);
	case K_CPUS:
		errno = 0;
		cpus = strtod(v, &end);
		if (!isdigit((unsigned char)v[0]) || *end || errno || !(cpus > 0) || cpus > 4096)
			return bad(ps, "expected a number of CPUs like 0.5 or 2, found \"%s\"", v);
		return set_str(ps, &ps->p->cpus, v);
	default:
		if (strcmp(v, "max") && (digits == 0 || digits != strlen(v) || digits > 7 || atol(v) < 1))
			return bad(ps, "expected a number of processes (1 or more) or max, found \"%s\"", v);
		return set_str(ps, &ps->p->pids, v);
	}
}

static int parse_seccomp(struct parser *ps, const char *v)
{
	struct nk_profile *p = ps->p;
	if (!strcmp(v, "none")) {
		free(p->seccomp);
		p->seccomp = NULL;
		return 0;
	}
	if (v[0] == '/' && check_path(ps, v, false) < 0)
		return -EINVAL;
	if (v[0] != '/' && (v[0] == '.' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						   "0123456789._-") != strlen(v)))
		return bad(ps, "\"%s\": give a file name in profiles/seccomp/, an absolute path, or none", v);
	snprintf(p->seccomp_dir, sizeof(p->seccomp_dir), "%s", ps->dir);
	return set_str(ps, &p->seccomp, v);
}

static int apply(struct parser *ps, enum key k, char *v)
{
	struct nk_profile *p = ps->p;
	struct nk_err e = {0};
	uint64_t mask;
	char *tok[64];
	size_t n;
	switch (k) {
	case K_DESCRIPTION: return set_str(ps, &p->description, v);
	case K_SECCOMP: return parse_seccomp(ps, v);
	case K_NOTIFY: return parse_bool(ps, v, &p->seccomp_notify);
	case K_LEARN: return parse_bool(ps, v, &p->seccomp_learn);
	case K_RO_ROOT: return parse_bool(ps, v, &p->readonly_root);
	case K_CAPS: return parse_caps(ps, v, true, &p->cap_base);
	case K_MOUNT: return parse_mount(ps, v);
	case K_MEMORY:
	case K_CPUS:
	case K_PIDS: return parse_resource(ps, k, v);
	case K_CAP_ADD:
	case K_CAP_DROP:
		if (parse_caps(ps, v, false, &mask) < 0)
			return -EINVAL;
		/* The later line wins, whichever file it is in. */
		p->cap_add = k == K_CAP_ADD ? p->cap_add | mask : p->cap_add & ~mask;
		p->cap_drop = k == K_CAP_DROP ? p->cap_drop | mask : p->cap_drop & ~mask;
		return 0;
	case K_MASKED:
	case K_RO_PATH:
		n = split(v, false, tok, NK_ARRAY_SIZE(tok));
		if (n > NK_ARRAY_SIZE(tok))
			return bad(ps, "too many paths on one line");
		for (size_t i = 0; i < n; i++)
			if (check_path(ps, tok[i], false) < 0 ||
			    push_str(ps, k == K_MASKED ? &p->masked_paths : &p->readonly_paths,
				     k == K_MASKED ? &p->masked_count : &p->readonly_count, tok[i]) < 0)
				return -EINVAL;
		return 0;
	case K_NETWORK:
		if (strcmp(v, "none") && strcmp(v, "bridge") && strcmp(v, "host") && nk_name_check(v, "network", &e) < 0)
			return bad(ps, "none, bridge, host or a network name: %s", e.msg);
		return set_str(ps, &p->network, v);
	case K_ENV:
		if (nk_env_check(v, &e) < 0)
			return bad(ps, "%s", e.msg);
		return push_str(ps, &p->env, &p->env_count, v);
	case K_INHERIT:
	case NKEYS: break;
	}
	return 0;
}

static int parse_into(struct nk_profile *p, const char *text, size_t len, const char *origin, const char *dir,
		      const char *const *dirs, const char **chain, size_t depth, struct nk_err *err);

/* NAME.profile in the search dirs, or a path; files already being loaded are skipped, so a
 * user's default.profile can `inherit = default` from the installed one. */
static int find_profile(const char *name, const char *const *dirs, const char **chain, size_t depth, char *path,
			size_t size, struct nk_err *err)
{
	char looked[512] = "";
	if (strchr(name, '/'))
		return nk_fmt(path, size, "%s", name) < 0 ? nk_err_msg(err, ENAMETOOLONG, "path too long: %s", name) : 0;
	if (nk_name_check(name, "profile", err) < 0)
		return -EINVAL;
	for (size_t i = 0; dirs && dirs[i]; i++) {
		struct stat st;
		bool loading = false;
		if (nk_fmt(path, size, "%s/%s%s", dirs[i], name, NK_PROFILE_SUFFIX) < 0)
			continue;
		for (size_t j = 0; j < depth; j++)
			loading |= !strcmp(chain[j], path);
		if (!loading && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
		size_t used = strlen(looked);
		snprintf(looked + used, sizeof(looked) - used, "%s%.200s", used ? ", " : "", dirs[i]);
	}
	return nk_err_msg(err, ENOENT, "no profile named \"%s\" (looked in %s); `nook profile list` shows them", name,
			  looked[0] ? looked : "no directory");
}

static int load_path(struct nk_profile *p, const char *path, const char *const *dirs, const char **chain,
		     size_t depth, struct nk_err *err)
{
	nk_autofree char *text = NULL;
	size_t len = 0;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (depth >= MAX_DEPTH)
		return nk_err_msg(err, ELOOP, "%s: inherit goes more than %d profiles deep", path, MAX_DEPTH);
	if (nk_fmt(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, !slash ? "." : slash == path ? "/" : path) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "profile path too long: %s", path);
	if (nk_read_file(path, &text, &len, err) < 0)
		return -err->code;
	chain[depth] = path;
	return parse_into(p, text, len, path, dir, dirs, chain, depth + 1, err);
}

static int do_inherit(struct parser *ps, const char *v)
{
	char path[PATH_MAX];
	struct nk_err e = {0};
	if (!ps->dirs && !strchr(v, '/'))
		return bad(ps, "no profile directories to look in");
	if (find_profile(v, ps->dirs, ps->chain, ps->depth, path, sizeof(path), &e) < 0)
		return bad(ps, "%s", e.msg);
	if (load_path(ps->p, path, ps->dirs, ps->chain, ps->depth, ps->err) < 0)
		return nk_err_prefix(ps->err, "%s:%u: inherit", ps->origin, ps->line);
	return 0;
}

/* One line -> key and value, in place. Returns 0 for a blank or comment line, 1 for a setting. */
static int split_line(struct parser *ps, char *s, enum key *k, char **value)
{
	s += strspn(s, " \t");
	/* A '#' at the start, or after a blank, begins a comment. */
	for (char *h = strchr(s, '#'); h; h = strchr(h + 1, '#'))
		if (h == s || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			break;
		}
	size_t n = strlen(s), klen = strspn(s, "abcdefghijklmnopqrstuvwxyz-");
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	if (n == 0)
		return 0;
	if (klen == 0 || (s[klen] && s[klen] != ' ' && s[klen] != '\t' && s[klen] != '='))
		return bad(ps, "expected \"key = value\" (keys are lower-case words like seccomp or mount)");
	char *v = s + klen + strspn(s + klen, " \t");
	v += *v == '=';
	v += strspn(v, " \t");
	s[klen] = '\0';
	int i = -1;
	while (key_names[++i] && strcmp(key_names[i], s))
		;
	if (!key_names[i])
		return bad(ps, "unknown key \"%s\" (see docs/profiles.md)", s);
	ps->key = key_names[i];
	if (*v == '\0')
		return bad(ps, "missing value");
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return bad(ps, "control character in the value");
	*k = (enum key)i;
	*value = v;
	return 1;
}

/* Two passes: `inherit` first, so this file's lines override the parent's wherever they are. */
static int parse_into(struct nk_profile *p, const char *text, size_t len, const char *origin, const char *dir,
		      const char *const *dirs, const char **chain, size_t depth, struct nk_err *err)
{
	struct parser ps = {.origin = origin, .dir = dir, .dirs = dirs, .chain = chain, .depth = depth, .p = p, .err = err};
	if (len > MAX_TEXT)
		return nk_err_msg(err, EFBIG, "%s: too large for a profile (%zu bytes)", origin, len);
	if (memchr(text, '\0', len))
		return nk_err_msg(err, EINVAL, "%s: not a text file (it contains a NUL byte)", origin);
	for (int pass = 0; pass < 2; pass++) {
		ps.line = 0;
		for (size_t at = 0; at < len;) {
			const char *nl = memchr(text + at, '\n', len - at);
			size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
			char buf[MAX_LINE];
			enum key k = NKEYS;
			char *v = NULL;
			ps.line++;
			ps.key = NULL;
			if (n >= sizeof(buf))
				return bad(&ps, "line longer than %d characters", MAX_LINE - 1);
			memcpy(buf, text + at, n);
			buf[n] = '\0';
			at += n + 1;
			int r = split_line(&ps, buf, &k, &v);
			if (r < 0)
				return r;
			if (r == 0)
				continue;
			if (pass == 0 && !(LIST_KEYS & 1u << k) && ps.set_at[k])
				return bad(&ps, "already set on line %u", ps.set_at[k]);
			ps.set_at[k] = ps.line;
			if ((pass == 0 && k == K_INHERIT && do_inherit(&ps, v) < 0) ||
			    (pass == 1 && k != K_INHERIT && apply(&ps, k, v) < 0))
				return -EINVAL;
		}
	}
	return 0;
}

static void set_defaults(struct nk_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->seccomp = strdup("default.json");
	p->cap_base = docker_caps();
}

static void set_identity(struct nk_profile *p, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base), sl = strlen(NK_PROFILE_SUFFIX);
	if (n > sl && !strcmp(base + n - sl, NK_PROFILE_SUFFIX))
		n -= sl;
	snprintf(p->name, sizeof(p->name), "%.*s", (int)(n < sizeof(p->name) ? n : sizeof(p->name) - 1), base);
	snprintf(p->path, sizeof(p->path), "%s", path);
}

/* Parse text (or, with text NULL, the profile `name` found in dirs) into a fresh *out. */
static int load(const char *text, size_t len, const char *name, const char *const *dirs, struct nk_profile *out,
		struct nk_err *err)
{
	const char *chain[MAX_DEPTH];
	char path[PATH_MAX];
	int r;
	set_defaults(out);
	if (!out->seccomp)
		return nk_err_set(err, ENOMEM, "loading profile %s", name);
	if (text)
		r = parse_into(out, text, len, name, "", dirs, chain, 0, err);
	else if ((r = find_profile(name, dirs, chain, 0, path, sizeof(path), err)) == 0)
		r = load_path(out, path, dirs, chain, 0, err);
	if (r < 0) {
		nk_profile_free(out);
		return r;
	}
	set_identity(out, text ? name : path);
	return 0;
}

int nk_profile_parse(const char *text, size_t len, const char *origin, const char *const *search_dirs,
		     struct nk_profile *out, struct nk_err *err)
{
	return load(text ? text : "", text ? len : 0, origin ? origin : "profile", search_dirs, out, err);
}

int nk_profile_load(const char *name, const char *const *search_dirs, struct nk_profile *out, struct nk_err *err)
{
	return load(NULL, 0, name ? name : "", search_dirs, out, err);
}
