/* Docker's seccomp JSON format: read and check it, resolve includes/excludes, hand rules to the builder. */
#include "seccomp-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "caps.h"
#include "util.h"

#define MAX_INPUT (16u << 20)
#define MAX_CONDS 32

static const char *const action_names[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
					   "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
					   "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", NULL};
static const uint32_t action_values[] = {SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS,
					 SCMP_ACT_TRAP, SCMP_ACT_ERRNO(0), SCMP_ACT_TRACE(0), SCMP_ACT_ALLOW,
					 SCMP_ACT_LOG, SCMP_ACT_NOTIFY};
static const char *const op_names[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
				       "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL};
static const enum scmp_compare op_values[] = {SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ,
					      SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ};
/* TSYNC has no effect: the child is single-threaded when it installs the filter. */
static const char *const flag_names[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					 "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
static const unsigned flag_values[] = {0, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW,
				       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV};
/* Docker's names in includes/excludes "arches": Go's GOARCH values plus legacy spellings. */
static const char *const go_arch_names[] = {"amd64", "x86_64", "386", "x86", "i386", "x32", "arm", "arm64",
					    "aarch64", "mips", "mipsle", "mips64", "mips64le", "mips64n32",
					    "mips64len32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "riscv64",
					    "parisc", "parisc64", "loong64", NULL};
static const uint32_t go_arch_values[] = {
    SCMP_ARCH_X86_64, SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X86, SCMP_ARCH_X86, SCMP_ARCH_X32,
    SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPS64,
    SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64,
    SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_RISCV64, SCMP_ARCH_PARISC,
    SCMP_ARCH_PARISC64, 0 /* loong64: unknown to this libseccomp */};

struct compile {
	struct nk_seccomp_build b;
	char where[192]; /* the key being read, for messages: "syscalls[3].includes.caps[0]" */
	uint64_t caps;
	unsigned kernel[3];
};

NK_PRINTF(2, 3)
static int bad(struct compile *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nk_err_msg(c->b.err, EINVAL, "%s: %s%s%s", c->b.origin, c->where, c->where[0] ? ": " : "", msg);
}

/* Step into a key ("name") or an index ("[3]"); returns the mark that leave() goes back to. */
static size_t enter(struct compile *c, const char *name, size_t index)
{
	size_t mark = strlen(c->where);
	if (name)
		snprintf(c->where + mark, sizeof(c->where) - mark, "%s%s", mark ? "." : "", name);
	else
		snprintf(c->where + mark, sizeof(c->where) - mark, "[%zu]", index);
	return mark;
}

static void leave(struct compile *c, size_t mark)
{
	c->where[mark] = '\0';
}

static int lookup(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int expect(struct compile *c, json_object *v, enum json_type type, const char *what)
{
	if (json_object_is_type(v, type))
		return 0;
	return bad(c, "expected %s, found %s", what, json_type_to_name(json_object_get_type(v)));
}

static int as_string(struct compile *c, json_object *v, const char **out)
{
	if (expect(c, v, json_type_string, "a string") < 0)
		return -EINVAL;
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return bad(c, "the string contains a NUL character");
	return 0;
}

static json_object *member(json_object *obj, const char *name)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, name, &v) || json_object_is_type(v, json_type_null))
		return NULL; /* null counts as absent, as in Docker's Go structs */
	return v;
}

/* obj.name as a string; NULL when absent, which is an error when required. */
static int get_str(struct compile *c, json_object *obj, const char *name, bool required, const char **out)
{
	json_object *v = member(obj, name);
	size_t mark = enter(c, name, 0);
	int r = 0;
	*out = NULL;
	if (v)
		r = as_string(c, v, out);
	else if (required)
		r = bad(c, "missing");
	leave(c, mark);
	return r;
}

/* obj.name as an integer in [0, max]; *out unchanged when absent. */
static int get_u64(struct compile *c, json_object *obj, const char *name, uint64_t max, uint64_t *out)
{
	json_object *v = member(obj, name);
	size_t mark = enter(c, name, 0);
	int r = 0;
	if (v && expect(c, v, json_type_int, "a non-negative integer") < 0)
		r = -EINVAL;
	else if (v && json_object_get_int64(v) < 0)
		r = bad(c, "expected a non-negative integer, found %lld", (long long)json_object_get_int64(v));
	else if (v && json_object_get_uint64(v) > max)
		r = bad(c, "%llu is out of range (at most %llu)", (unsigned long long)json_object_get_uint64(v),
			(unsigned long long)max);
	else if (v)
		*out = json_object_get_uint64(v);
	leave(c, mark);
	return r;
}

/* obj.name as an array; *out NULL when absent. */
static int get_array(struct compile *c, json_object *obj, const char *name, json_object **out)
{
	*out = member(obj, name);
	size_t mark = enter(c, name, 0);
	int r = *out ? expect(c, *out, json_type_array, "an array") : 0;
	leave(c, mark);
	return r;
}

static size_t count(json_object *array)
{
	return array ? json_object_array_length(array) : 0;
}

/* The strings of obj.name, one callback each, with the path at the element. */
static int each_string(struct compile *c, json_object *obj, const char *name,
		       int (*fn)(struct compile *c, const char *s, void *ctx), void *ctx)
{
	json_object *list;
	if (get_array(c, obj, name, &list) < 0)
		return -EINVAL;
	size_t mark = enter(c, name, 0);
	for (size_t i = 0; i < count(list); i++) {
		const char *s;
		size_t m = enter(c, NULL, i);
		if (as_string(c, json_object_array_get_idx(list, i), &s) < 0 || fn(c, s, ctx) < 0)
			return -EINVAL;
		leave(c, m);
	}
	leave(c, mark);
	return 0;
}

static int check_keys(struct compile *c, json_object *obj, const char *const *known)
{
	if (expect(c, obj, json_type_object, "an object") < 0)
		return -EINVAL;
	json_object_object_foreach(obj, name, val)
	{
		(void)val;
		if (strcmp(name, "comment") && lookup(known, name) < 0)
			return bad(c, "unknown key \"%s\"", name);
	}
	return 0;
}

/* obj.action with obj.<errno_key>. Without errnoRet, ERRNO and TRACE answer EPERM. */
static int get_action(struct compile *c, json_object *obj, const char *key, const char *errno_key, uint32_t *out)
{
	const char *s;
	uint64_t e = EPERM;
	if (get_str(c, obj, key, true, &s) < 0)
		return -EINVAL;
	int i = lookup(action_names, s);
	if (i < 0) {
		size_t mark = enter(c, key, 0);
		int r = bad(c, "unknown action %s", s);
		leave(c, mark);
		return r;
	}
	uint32_t a = action_values[i];
	bool takes_errno = a == SCMP_ACT_ERRNO(0) || a == SCMP_ACT_TRACE(0);
	if (member(obj, errno_key) && !takes_errno) {
		size_t mark = enter(c, errno_key, 0);
		int r = bad(c, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, not %s", s);
		leave(c, mark);
		return r;
	}
	if (get_u64(c, obj, errno_key, 4095, &e) < 0)
		return -EINVAL;
	*out = takes_errno ? a | (uint32_t)e : a;
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp token; 0 when unknown. */
static uint32_t arch_token(const char *s)
{
	char lower[32];
	size_t n = strlen(s);
	if (strncmp(s, "SCMP_ARCH_", 10) || n <= 10 || n - 10 >= sizeof(lower))
		return 0;
	for (size_t i = 10; i <= n; i++)
		lower[i - 10] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	return seccomp_arch_resolve_name(lower);
}

static bool sub_abi_of(uint32_t native, uint32_t a)
{
	switch (native) {
	case SCMP_ARCH_X86_64: return a == SCMP_ARCH_X86 || a == SCMP_ARCH_X32;
	case SCMP_ARCH_AARCH64: return a == SCMP_ARCH_ARM;
	case SCMP_ARCH_MIPS64: return a == SCMP_ARCH_MIPS || a == SCMP_ARCH_MIPS64N32;
	case SCMP_ARCH_MIPSEL64: return a == SCMP_ARCH_MIPSEL || a == SCMP_ARCH_MIPSEL64N32;
	case SCMP_ARCH_S390X: return a == SCMP_ARCH_S390;
	case SCMP_ARCH_PPC64: return a == SCMP_ARCH_PPC;
	default: return false;
	}
}

/* An architecture the profile allows (ctx non-NULL: its archMap entry is the native one). The
 * native ABI is always filtered; a sub-ABI is added; another machine's cannot reach this kernel. */
static int want_arch(struct compile *c, const char *s, void *ctx)
{
	uint32_t a = arch_token(s);
	if (!a)
		return bad(c, "unknown architecture %s", s);
	if ((ctx && !*(bool *)ctx) || a == c->b.native || !sub_abi_of(c->b.native, a))
		return 0;
	for (size_t i = 0; i < c->b.nsubs; i++)
		if (c->b.subs[i] == a)
			return 0;
	if (c->b.nsubs < NK_ARRAY_SIZE(c->b.subs))
		c->b.subs[c->b.nsubs++] = a;
	return 0;
}

static int parse_arches(struct compile *c, json_object *root)
{
	static const char *const keys[] = {"architecture", "subArchitectures", NULL};
	json_object *list, *map;
	if (get_array(c, root, "architectures", &list) < 0 || get_array(c, root, "archMap", &map) < 0)
		return -EINVAL;
	if (count(list) && count(map))
		return bad(c, "architectures and archMap: give one or the other");
	if (each_string(c, root, "architectures", want_arch, NULL) < 0)
		return -EINVAL;
	size_t mark = enter(c, "archMap", 0);
	for (size_t i = 0; i < count(map); i++) {
		json_object *m = json_object_array_get_idx(map, i);
		const char *s;
		size_t mi = enter(c, NULL, i);
		if (check_keys(c, m, keys) < 0 || get_str(c, m, "architecture", true, &s) < 0)
			return -EINVAL;
		/* Only the native architecture's entry says which sub-ABIs this machine runs. */
		bool native = arch_token(s) == c->b.native;
		if (!arch_token(s)) {
			enter(c, "architecture", 0);
			return bad(c, "unknown architecture %s", s);
		}
		if (each_string(c, m, "subArchitectures", want_arch, &native) < 0)
			return -EINVAL;
		leave(c, mi);
	}
	leave(c, mark);
	return 0;
}

/* "4.8" or "4.8.1"; with `strict` false, a kernel release such as "6.1.0-13-amd64" too. */
static int parse_version(const char *s, unsigned v[3], bool strict)
{
	for (int i = 0; i < 3; i++, s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned long n = 0;
		while (*s >= '0' && *s <= '9' && n < 100000)
			n = n * 10 + (unsigned long)(*s++ - '0');
		v[i] = (unsigned)n;
		if (*s != '.' || i == 2)
			return !strict || (i >= 1 && *s == '\0') ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* includes / excludes: which of the three tests were given, and whether they hold here. */
struct cond {
	uint64_t caps;
	bool has_arches, arch_match, has_kernel, kernel_ok;
};

static int cond_cap(struct compile *c, const char *s, void *ctx)
{
	int cap = nk_cap_from_name(s);
	if (cap < 0 || cap > 63)
		return bad(c, "unknown capability %s", s);
	((struct cond *)ctx)->caps |= 1ull << cap;
	return 0;
}

static int cond_arch(struct compile *c, const char *s, void *ctx)
{
	struct cond *f = ctx;
	int i = lookup(go_arch_names, s);
	if (i < 0)
		return bad(c, "unknown architecture %s (Docker's names: amd64, arm64, x86, x32, s390x, ...)", s);
	f->has_arches = true;
	f->arch_match |= go_arch_values[i] == c->b.native;
	return 0;
}

static int parse_cond(struct compile *c, json_object *entry, const char *name, struct cond *f)
{
	static const char *const keys[] = {"caps", "arches", "minKernel", NULL};
	json_object *obj = member(entry, name);
	const char *kv;
	unsigned v[3] = {0, 0, 0};
	memset(f, 0, sizeof(*f));
	if (!obj)
		return 0;
	size_t mark = enter(c, name, 0);
	if (check_keys(c, obj, keys) < 0 || each_string(c, obj, "caps", cond_cap, f) < 0 ||
	    each_string(c, obj, "arches", cond_arch, f) < 0 || get_str(c, obj, "minKernel", false, &kv) < 0)
		return -EINVAL;
	if (kv && parse_version(kv, v, true) < 0) {
		enter(c, "minKernel", 0);
		return bad(c, "expected a kernel version like \"4.8\", found \"%s\"", kv);
	}
	f->has_kernel = kv != NULL;
	f->kernel_ok = c->kernel[0] != v[0] ? c->kernel[0] > v[0]
		       : c->kernel[1] != v[1] ? c->kernel[1] > v[1]
					      : c->kernel[2] >= v[2];
	leave(c, mark);
	return 0;
}

static int parse_args(struct compile *c, json_object *entry, struct scmp_arg_cmp *cmps, size_t *n, bool *split)
{
	static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
	json_object *list;
	unsigned seen = 0;
	*n = 0;
	*split = false;
	if (get_array(c, entry, "args", &list) < 0)
		return -EINVAL;
	size_t mark = enter(c, "args", 0);
	if (count(list) > MAX_CONDS)
		return bad(c, "more than %d conditions", MAX_CONDS);
	for (size_t i = 0; i < count(list); i++) {
		json_object *a = json_object_array_get_idx(list, i);
		uint64_t index = 6, value = 0, two = 0;
		const char *op;
		size_t mi = enter(c, NULL, i);
		if (check_keys(c, a, keys) < 0 || get_u64(c, a, "index", 5, &index) < 0 ||
		    get_u64(c, a, "value", UINT64_MAX, &value) < 0 || get_u64(c, a, "valueTwo", UINT64_MAX, &two) < 0 ||
		    get_str(c, a, "op", true, &op) < 0)
			return -EINVAL;
		if (index > 5)
			return bad(c, "index: missing");
		int o = lookup(op_names, op);
		if (o < 0) {
			enter(c, "op", 0);
			return bad(c, "unknown operator %s", op);
		}
		/* libseccomp takes one test per argument in a rule; like runc, several tests of the
		 * same argument become separate rules, any of which matches. */
		*split |= (seen >> index) & 1;
		seen |= 1u << index;
		cmps[(*n)++] = (struct scmp_arg_cmp){.arg = (unsigned)index, .op = op_values[o], .datum_a = value,
						     .datum_b = two};
		leave(c, mi);
	}
	leave(c, mark);
	return 0;
}

static int parse_entry(struct compile *c, json_object *e)
{
	static const char *const keys[] = {"names", "name", "action", "errnoRet", "args", "includes", "excludes", NULL};
	json_object *names;
	const char *legacy, *name;
	uint32_t action;
	struct scmp_arg_cmp cmps[MAX_CONDS];
	size_t n;
	bool split;
	struct cond inc, exc;
	if (check_keys(c, e, keys) < 0 || get_action(c, e, "action", "errnoRet", &action) < 0 ||
	    get_array(c, e, "names", &names) < 0 || get_str(c, e, "name", false, &legacy) < 0 ||
	    parse_args(c, e, cmps, &n, &split) < 0 || parse_cond(c, e, "includes", &inc) < 0 ||
	    parse_cond(c, e, "excludes", &exc) < 0)
		return -EINVAL;
	if (count(names) == 0 && !legacy)
		return bad(c, "no syscall names (\"names\": [...])");
	size_t mark = enter(c, "names", 0);
	for (size_t i = 0; i < count(names); i++) {
		size_t m = enter(c, NULL, i);
		if (as_string(c, json_object_array_get_idx(names, i), &name) < 0)
			return -EINVAL;
		if (!*name)
			return bad(c, "empty syscall name");
		leave(c, m);
	}
	leave(c, mark);
	bool applies = (!inc.caps || (c->caps & inc.caps) == inc.caps) && (!inc.has_arches || inc.arch_match) &&
		       (!inc.has_kernel || inc.kernel_ok) && !(c->caps & exc.caps) && !(exc.has_arches && exc.arch_match) &&
		       !(exc.has_kernel && exc.kernel_ok);
	if (!applies)
		return 0; /* the names of another architecture's entry need not be known here */
	for (size_t i = 0; i < count(names) + (legacy != NULL); i++) {
		bool listed = i < count(names);
		size_t m = enter(c, listed ? "names" : "name", 0);
		if (listed)
			enter(c, NULL, i);
		name = listed ? json_object_get_string(json_object_array_get_idx(names, i)) : legacy;
		if (nk_seccomp_build_rule(&c->b, c->where, name, action, cmps, n, split) < 0)
			return -EINVAL;
		leave(c, m);
	}
	return 0;
}

static int want_flag(struct compile *c, const char *s, void *ctx)
{
	(void)ctx;
	int f = lookup(flag_names, s);
	if (f < 0)
		return bad(c, "unknown flag %s", s);
	c->b.out->filter_flags |= flag_values[f];
	return 0;
}

static int compile_root(struct compile *c, json_object *root)
{
	static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls",
					   "flags", "listenerPath", "listenerMetadata", NULL};
	const char *s;
	json_object *calls;
	if (check_keys(c, root, keys) < 0 ||
	    get_action(c, root, "defaultAction", "defaultErrnoRet", &c->b.profile_default) < 0 ||
	    get_str(c, root, "listenerPath", false, &s) < 0 || get_str(c, root, "listenerMetadata", false, &s) < 0 ||
	    parse_arches(c, root) < 0 || each_string(c, root, "flags", want_flag, NULL) < 0 ||
	    get_array(c, root, "syscalls", &calls) < 0)
		return -EINVAL;
	if (member(root, "listenerPath")) {
		c->b.out->warning_count++;
		snprintf(c->b.out->warnings, sizeof(c->b.out->warnings),
			 "%s: listenerPath: ignored, nook's monitor answers the notifications itself", c->b.origin);
	}
	if (nk_seccomp_build_start(&c->b) < 0)
		return -ENOMEM;
	size_t mark = enter(c, "syscalls", 0);
	for (size_t i = 0; i < count(calls); i++) {
		size_t m = enter(c, NULL, i);
		if (parse_entry(c, json_object_array_get_idx(calls, i)) < 0)
			return -EINVAL;
		leave(c, m);
	}
	leave(c, mark);
	return nk_seccomp_build_finish(&c->b);
}

static int parse_json(struct compile *c, const char *json, size_t len, json_object **root)
{
	*root = NULL;
	if (len > MAX_INPUT)
		return nk_err_msg(c->b.err, EFBIG, "%s: %zu bytes is too large for a seccomp profile", c->b.origin, len);
	if (memchr(json, '\0', len))
		return bad(c, "not a JSON document (it contains a NUL byte)");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return nk_err_set(c->b.err, ENOMEM, "%s: cannot parse", c->b.origin);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *obj = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		bool truncated = jerr == json_tokener_continue || jerr == json_tokener_success;
		unsigned line = 1, col = 1;
		for (size_t i = 0; i < (truncated || end > len ? len : end); i++, col++)
			if (json[i] == '\n')
				line++, col = 0;
		return bad(c, "%u:%u: invalid JSON: %s", line, col,
			   truncated ? "unexpected end of file (truncated?)" : json_tokener_error_desc(jerr));
	}
	while (end < len && (json[end] == ' ' || json[end] == '\t' || json[end] == '\r' || json[end] == '\n'))
		end++;
	if (end < len) {
		json_object_put(obj);
		return bad(c, "invalid JSON: data after the end of the document");
	}
	*root = obj;
	return 0;
}

int nk_seccomp_compile(const char *json, size_t len, const char *origin, uint64_t caps, unsigned flags,
		       struct nk_seccomp_prog *out, struct nk_err *err)
{
	struct compile c = {.b = {.origin = origin ? origin : "seccomp profile", .flags = flags,
				  .native = seccomp_arch_native(), .out = out, .err = err},
			    .caps = caps};
	struct utsname u;
	json_object *root = NULL;
	memset(out, 0, sizeof(*out));
	if (uname(&u) == 0)
		(void)parse_version(u.release, c.kernel, false);
	int r = json ? parse_json(&c, json, len, &root) : bad(&c, "no data");
	if (r == 0)
		r = expect(&c, root, json_type_object, "a JSON object ({\"defaultAction\": ...})");
	if (r == 0)
		r = compile_root(&c, root);
	json_object_put(root);
	nk_seccomp_build_release(&c.b);
	if (r < 0)
		nk_seccomp_prog_free(out);
	return r < 0 ? r : 0;
}

int nk_seccomp_compile_file(const char *path, uint64_t caps, unsigned flags, struct nk_seccomp_prog *out,
			    struct nk_err *err)
{
	nk_autofree char *data = NULL;
	size_t len = 0;
	const char *base = strrchr(path, '/');
	memset(out, 0, sizeof(*out));
	if (nk_read_file(path, &data, &len, err) < 0)
		return -err->code;
	return nk_seccomp_compile(data, len, base ? base + 1 : path, caps, flags, out, err);
}
