/* Docker's seccomp JSON format: parse and check it, then compile it to BPF with libseccomp. */
#include "seccomp.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "caps.h"
#include "util.h"

#define MAX_INPUT (16u << 20)
#define MAX_SUB_ABIS 3
#define MAX_CONDS 32

/* What the child needs between installing the filter and exec: teach mode never turns these
 * into notifications, or handing the listener over would wait on itself. */
static const char *const handoff_calls[] = {"read", "write", "close", "execve", "execveat", "exit", "exit_group"};

struct compile {
	const char *origin;
	uint64_t caps;
	unsigned flags;
	uint32_t native;
	unsigned kernel[3];
	uint32_t subs[MAX_SUB_ABIS]; /* sub-ABIs of the native one the profile allows */
	size_t nsubs;
	uint32_t profile_default;   /* as written */
	uint32_t default_action;    /* after teach mode */
	scmp_filter_ctx ctx;        /* native ABI */
	scmp_filter_ctx sub;        /* sub-ABIs, merged in at the end; NULL when none */
	unsigned handoff_ruled;     /* bit i: the profile has a rule for handoff_calls[i] */
	struct nk_seccomp_prog *out;
	struct nk_err *err;
};

NK_PRINTF(2, 3)
static int bad(struct compile *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nk_err_msg(c->err, EINVAL, "%s: %s", c->origin, msg);
}

NK_PRINTF(2, 3)
static void warn(struct compile *c, const char *fmt, ...)
{
	struct nk_seccomp_prog *p = c->out;
	size_t used = strlen(p->warnings);
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->warning_count++;
	if (used < sizeof(p->warnings) - 1)
		snprintf(p->warnings + used, sizeof(p->warnings) - used, "%s%s: %s", used ? "\n" : "", c->origin,
			 msg);
}

static const char *type_name(json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

static int get_string(struct compile *c, json_object *v, const char *where, const char **out)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(c, "%s: expected a string, found %s", where, type_name(v));
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return bad(c, "%s: the string contains a NUL character", where);
	return 0;
}

static int get_u64(struct compile *c, json_object *v, const char *where, uint64_t max, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return bad(c, "%s: expected a non-negative integer, found %s", where, type_name(v));
	if (json_object_get_int64(v) < 0)
		return bad(c, "%s: expected a non-negative integer, found %lld", where,
			   (long long)json_object_get_int64(v));
	*out = json_object_get_uint64(v);
	if (*out > max)
		return bad(c, "%s: %llu is out of range (at most %llu)", where, (unsigned long long)*out,
			   (unsigned long long)max);
	return 0;
}

/* null counts as absent, as in Docker's Go structs. */
static int get_array(struct compile *c, json_object *v, const char *where, json_object **out)
{
	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return bad(c, "%s: expected an array, found %s", where, type_name(v));
	*out = v;
	return 0;
}

static int check_keys(struct compile *c, json_object *obj, const char *where, const char *const *known)
{
	if (!json_object_is_type(obj, json_type_object))
		return bad(c, "%s: expected an object, found %s", where, type_name(obj));
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool ok = !strcmp(key, "comment");
		for (size_t i = 0; known[i] && !ok; i++)
			ok = !strcmp(key, known[i]);
		if (!ok)
			return bad(c, "%s%sunknown key \"%s\"", where, *where ? ": " : "", key);
	}
	return 0;
}

static json_object *key(json_object *obj, const char *name)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, name, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static bool is_errno(uint32_t a)
{
	return (a & 0xffff0000u) == SCMP_ACT_ERRNO(0);
}

static bool denies(uint32_t a)
{
	return is_errno(a) || a == SCMP_ACT_KILL_THREAD || a == SCMP_ACT_KILL_PROCESS || a == SCMP_ACT_TRAP;
}

static bool permits(uint32_t a)
{
	return a == SCMP_ACT_ALLOW || a == SCMP_ACT_LOG;
}

static const struct {
	const char *name;
	uint32_t action;
} action_names[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD}, {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS}, {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)}, {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW}, {"SCMP_ACT_LOG", SCMP_ACT_LOG}, {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
};

/* action + errnoRet -> libseccomp action. Without errnoRet, ERRNO and TRACE answer EPERM. */
static int parse_action(struct compile *c, json_object *name, json_object *errno_ret, const char *where,
			const char *errno_where, uint32_t *out)
{
	const char *s;
	if (!name)
		return bad(c, "%s: missing", where);
	if (get_string(c, name, where, &s) < 0)
		return -EINVAL;
	size_t i = 0;
	while (i < NK_ARRAY_SIZE(action_names) && strcmp(action_names[i].name, s))
		i++;
	if (i == NK_ARRAY_SIZE(action_names))
		return bad(c, "%s: unknown action %s", where, s);
	uint32_t a = action_names[i].action;
	uint64_t e = EPERM;
	bool takes_errno = a == SCMP_ACT_ERRNO(0) || a == SCMP_ACT_TRACE(0);
	if (errno_ret) {
		if (!takes_errno)
			return bad(c, "%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, not %s", errno_where, s);
		if (get_u64(c, errno_ret, errno_where, 4095, &e) < 0)
			return -EINVAL;
	}
	*out = takes_errno ? a | (uint32_t)e : a;
	return 0;
}

static uint32_t teach(const struct compile *c, uint32_t a, bool is_default)
{
	if (!(c->flags & NK_SECCOMP_TEACH) || !denies(a))
		return a;
	if (!is_default && a == SCMP_ACT_ERRNO(ENOSYS))
		return a;
	return SCMP_ACT_NOTIFY;
}

/* "SCMP_ARCH_X86_64" -> token; 0 when unknown. */
static uint32_t arch_token(const char *s)
{
	static const char prefix[] = "SCMP_ARCH_";
	char lower[32];
	if (strncmp(s, prefix, sizeof(prefix) - 1))
		return 0;
	s += sizeof(prefix) - 1;
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(lower))
		return 0;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
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

/* An entry of "architectures" or "subArchitectures": the native ABI is always filtered; a
 * sub-ABI is added; another machine's ABI cannot reach this kernel and is left out. */
static int want_arch(struct compile *c, json_object *v, const char *where)
{
	const char *s;
	if (get_string(c, v, where, &s) < 0)
		return -EINVAL;
	uint32_t a = arch_token(s);
	if (!a)
		return bad(c, "%s: unknown architecture %s", where, s);
	if (a == c->native || !sub_abi_of(c->native, a))
		return 0;
	for (size_t i = 0; i < c->nsubs; i++)
		if (c->subs[i] == a)
			return 0;
	if (c->nsubs < MAX_SUB_ABIS)
		c->subs[c->nsubs++] = a;
	return 0;
}

static int parse_arches(struct compile *c, json_object *root)
{
	json_object *list, *map;
	if (get_array(c, key(root, "architectures"), "architectures", &list) < 0 ||
	    get_array(c, key(root, "archMap"), "archMap", &map) < 0)
		return -EINVAL;
	if (list && map && json_object_array_length(list) && json_object_array_length(map))
		return bad(c, "architectures and archMap: give one or the other");
	char where[96];
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		snprintf(where, sizeof(where), "architectures[%zu]", i);
		if (want_arch(c, json_object_array_get_idx(list, i), where) < 0)
			return -EINVAL;
	}
	static const char *const map_keys[] = {"architecture", "subArchitectures", NULL};
	for (size_t i = 0; map && i < json_object_array_length(map); i++) {
		json_object *m = json_object_array_get_idx(map, i), *subs;
		const char *s;
		snprintf(where, sizeof(where), "archMap[%zu]", i);
		if (check_keys(c, m, where, map_keys) < 0)
			return -EINVAL;
		snprintf(where, sizeof(where), "archMap[%zu].architecture", i);
		if (!key(m, "architecture"))
			return bad(c, "%s: missing", where);
		if (get_string(c, key(m, "architecture"), where, &s) < 0)
			return -EINVAL;
		uint32_t a = arch_token(s);
		if (!a)
			return bad(c, "%s: unknown architecture %s", where, s);
		snprintf(where, sizeof(where), "archMap[%zu].subArchitectures", i);
		if (get_array(c, key(m, "subArchitectures"), where, &subs) < 0)
			return -EINVAL;
		for (size_t j = 0; subs && j < json_object_array_length(subs); j++) {
			char w[128];
			snprintf(w, sizeof(w), "%s[%zu]", where, j);
			uint32_t sa = 0;
			if (get_string(c, json_object_array_get_idx(subs, j), w, &s) < 0)
				return -EINVAL;
			if (!(sa = arch_token(s)))
				return bad(c, "%s: unknown architecture %s", w, s);
			/* Only the native architecture's entry says what this machine runs. */
			if (a == c->native && want_arch(c, json_object_array_get_idx(subs, j), w) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

/* Docker's names for architectures in includes/excludes (Go's GOARCH, plus legacy spellings). */
static const struct {
	const char *name;
	uint32_t token;
} go_arches[] = {
    {"amd64", SCMP_ARCH_X86_64}, {"x86_64", SCMP_ARCH_X86_64}, {"386", SCMP_ARCH_X86},
    {"x86", SCMP_ARCH_X86},      {"i386", SCMP_ARCH_X86},      {"x32", SCMP_ARCH_X32},
    {"arm", SCMP_ARCH_ARM},      {"arm64", SCMP_ARCH_AARCH64}, {"aarch64", SCMP_ARCH_AARCH64},
    {"mips", SCMP_ARCH_MIPS},    {"mipsle", SCMP_ARCH_MIPSEL}, {"mips64", SCMP_ARCH_MIPS64},
    {"mips64le", SCMP_ARCH_MIPSEL64}, {"mips64n32", SCMP_ARCH_MIPS64N32},
    {"mips64len32", SCMP_ARCH_MIPSEL64N32}, {"ppc", SCMP_ARCH_PPC}, {"ppc64", SCMP_ARCH_PPC64},
    {"ppc64le", SCMP_ARCH_PPC64LE}, {"s390", SCMP_ARCH_S390}, {"s390x", SCMP_ARCH_S390X},
    {"riscv64", SCMP_ARCH_RISCV64}, {"parisc", SCMP_ARCH_PARISC}, {"parisc64", SCMP_ARCH_PARISC64},
    {"loong64", 0},
};

/* "4.8" or "4.8.1" (a kernel release such as "6.1.0-13-amd64" also parses: the rest is ignored
 * when `strict` is false). */
static int parse_number_list(const char *s, unsigned v[3], bool strict)
{
	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned long n = 0;
		while (*s >= '0' && *s <= '9' && n < 100000)
			n = n * 10 + (unsigned long)(*s++ - '0');
		v[i] = (unsigned)n;
		if (*s != '.' || i == 2)
			return (i >= 1 || !strict) && (!strict || *s == '\0') ? 0 : -EINVAL;
		s++;
	}
	return -EINVAL;
}

static int parse_version(const char *s, unsigned v[3])
{
	return parse_number_list(s, v, true);
}

/* includes / excludes: which of its three tests were given, and whether each matched. */
struct cond {
	bool has_caps, caps_all, caps_any;
	bool has_arches, arch_match;
	bool has_kernel, kernel_ok;
};

static int parse_cond(struct compile *c, json_object *obj, const char *where, struct cond *f)
{
	static const char *const keys[] = {"caps", "arches", "minKernel", NULL};
	memset(f, 0, sizeof(*f));
	if (!obj)
		return 0;
	if (check_keys(c, obj, where, keys) < 0)
		return -EINVAL;
	char w[160];
	json_object *caps, *arches, *kv = key(obj, "minKernel");
	snprintf(w, sizeof(w), "%s.caps", where);
	if (get_array(c, key(obj, "caps"), w, &caps) < 0)
		return -EINVAL;
	uint64_t mask = 0;
	for (size_t i = 0; caps && i < json_object_array_length(caps); i++) {
		const char *s;
		snprintf(w, sizeof(w), "%s.caps[%zu]", where, i);
		if (get_string(c, json_object_array_get_idx(caps, i), w, &s) < 0)
			return -EINVAL;
		int cap = nk_cap_from_name(s);
		if (cap < 0 || cap > 63)
			return bad(c, "%s: unknown capability %s", w, s);
		mask |= 1ull << cap;
	}
	f->has_caps = mask != 0;
	f->caps_all = (c->caps & mask) == mask;
	f->caps_any = (c->caps & mask) != 0;
	snprintf(w, sizeof(w), "%s.arches", where);
	if (get_array(c, key(obj, "arches"), w, &arches) < 0)
		return -EINVAL;
	for (size_t i = 0; arches && i < json_object_array_length(arches); i++) {
		const char *s;
		snprintf(w, sizeof(w), "%s.arches[%zu]", where, i);
		if (get_string(c, json_object_array_get_idx(arches, i), w, &s) < 0)
			return -EINVAL;
		size_t j = 0;
		while (j < NK_ARRAY_SIZE(go_arches) && strcmp(go_arches[j].name, s))
			j++;
		if (j == NK_ARRAY_SIZE(go_arches))
			return bad(c, "%s: unknown architecture %s (Docker's names: amd64, arm64, x86, x32, ...)", w, s);
		f->has_arches = true;
		f->arch_match |= go_arches[j].token == c->native;
	}
	if (kv) {
		const char *s;
		unsigned v[3] = {0, 0, 0};
		snprintf(w, sizeof(w), "%s.minKernel", where);
		if (get_string(c, kv, w, &s) < 0)
			return -EINVAL;
		if (parse_version(s, v) < 0)
			return bad(c, "%s: expected a kernel version like \"4.8\", found \"%s\"", w, s);
		f->has_kernel = true;
		f->kernel_ok = c->kernel[0] != v[0]   ? c->kernel[0] > v[0]
			       : c->kernel[1] != v[1] ? c->kernel[1] > v[1]
						      : c->kernel[2] >= v[2];
	}
	return 0;
}

static const struct {
	const char *name;
	enum scmp_compare op;
} op_names[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static int parse_args(struct compile *c, json_object *list, const char *where, struct scmp_arg_cmp *cmps,
		      size_t *n, bool *split)
{
	static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
	unsigned seen = 0;
	char w[160];
	*n = 0;
	*split = false;
	if (list && json_object_array_length(list) > MAX_CONDS)
		return bad(c, "%s: more than %d conditions", where, MAX_CONDS);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *a = json_object_array_get_idx(list, i);
		uint64_t index, value = 0, two = 0;
		const char *op;
		snprintf(w, sizeof(w), "%s[%zu]", where, i);
		if (check_keys(c, a, w, keys) < 0)
			return -EINVAL;
		snprintf(w, sizeof(w), "%s[%zu].index", where, i);
		if (!key(a, "index"))
			return bad(c, "%s: missing", w);
		if (get_u64(c, key(a, "index"), w, 5, &index) < 0)
			return -EINVAL;
		snprintf(w, sizeof(w), "%s[%zu].value", where, i);
		if (key(a, "value") && get_u64(c, key(a, "value"), w, UINT64_MAX, &value) < 0)
			return -EINVAL;
		snprintf(w, sizeof(w), "%s[%zu].valueTwo", where, i);
		if (key(a, "valueTwo") && get_u64(c, key(a, "valueTwo"), w, UINT64_MAX, &two) < 0)
			return -EINVAL;
		snprintf(w, sizeof(w), "%s[%zu].op", where, i);
		if (!key(a, "op"))
			return bad(c, "%s: missing", w);
		if (get_string(c, key(a, "op"), w, &op) < 0)
			return -EINVAL;
		size_t j = 0;
		while (j < NK_ARRAY_SIZE(op_names) && strcmp(op_names[j].name, op))
			j++;
		if (j == NK_ARRAY_SIZE(op_names))
			return bad(c, "%s: unknown operator %s", w, op);
		/* libseccomp takes one test per argument in a rule; like runc, several tests of the
		 * same argument become separate rules, any of which matches. */
		if (seen & (1u << index))
			*split = true;
		seen |= 1u << index;
		cmps[(*n)++] = (struct scmp_arg_cmp){.arg = (unsigned)index, .op = op_names[j].op, .datum_a = value,
						     .datum_b = two};
	}
	return 0;
}

static int add_to(struct compile *c, scmp_filter_ctx ctx, const char *where, const char *name, uint32_t action,
		  int nr, const struct scmp_arg_cmp *cmps, size_t n, bool split)
{
	int r = 0;
	if (split)
		for (size_t i = 0; i < n && r == 0; i++)
			r = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[i]);
	else
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, cmps);
	if (r < 0)
		return bad(c, "%s: libseccomp refused the rule for %s: %s", where, name, strerror(-r));
	c->out->rules++;
	return 0;
}

static int add_name(struct compile *c, const char *where, const char *name, uint32_t action,
		    const struct scmp_arg_cmp *cmps, size_t n, bool split)
{
	int nr = nk_seccomp_syscall_nr(c->native, name);
	bool libseccomp_knows = seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
	bool safe_to_skip = permits(action) || !permits(c->default_action);
	if (nr == __NR_SCMP_ERROR) {
		if (!(c->flags & NK_SECCOMP_LENIENT_NAMES) || !safe_to_skip)
			return bad(c, "%s: unknown syscall \"%s\"", where, name);
		warn(c, "%s: unknown syscall \"%s\" left out (it stays refused)", where, name);
		return 0;
	}
	for (size_t i = 0; i < NK_ARRAY_SIZE(handoff_calls); i++)
		if (!strcmp(name, handoff_calls[i])) {
			c->handoff_ruled |= 1u << i;
			if (action == SCMP_ACT_NOTIFY)
				return bad(c, "%s: %s cannot be SCMP_ACT_NOTIFY: handing the listener over "
					      "to the monitor needs it",
					   where, name);
		}
	if (action == c->default_action)
		return 0; /* what happens anyway; libseccomp refuses such rules */
	if (action == SCMP_ACT_NOTIFY)
		c->out->has_notify = 1;
	if (nr >= 0 && add_to(c, c->ctx, where, name, action, nr, cmps, n, split) < 0)
		return -EINVAL;
	if (!c->sub)
		return 0;
	bool on_sub = false;
	for (size_t i = 0; i < c->nsubs; i++)
		on_sub |= nk_seccomp_syscall_nr(c->subs[i], name) >= 0;
	if (!on_sub)
		return 0;
	if (!libseccomp_knows) {
		/* libseccomp cannot translate a number it does not know to another ABI. */
		if (!safe_to_skip)
			return bad(c, "%s: \"%s\" is newer than libseccomp and cannot be filtered for the "
				      "sub-architectures this profile allows",
				   where, name);
		warn(c, "%s: \"%s\" left out of the filter of the sub-architectures", where, name);
		return 0;
	}
	return add_to(c, c->sub, where, name, action, nr, cmps, n, split);
}

static int parse_entry(struct compile *c, json_object *e, size_t idx)
{
	static const char *const keys[] = {"names", "name", "action", "errnoRet", "args", "includes", "excludes", NULL};
	char where[64], w[96];
	snprintf(where, sizeof(where), "syscalls[%zu]", idx);
	if (check_keys(c, e, where, keys) < 0)
		return -EINVAL;
	uint32_t action;
	char aw[96], ew[96];
	snprintf(aw, sizeof(aw), "%s.action", where);
	snprintf(ew, sizeof(ew), "%s.errnoRet", where);
	if (parse_action(c, key(e, "action"), key(e, "errnoRet"), aw, ew, &action) < 0)
		return -EINVAL;
	json_object *names, *args;
	snprintf(w, sizeof(w), "%s.names", where);
	if (get_array(c, key(e, "names"), w, &names) < 0)
		return -EINVAL;
	const char *legacy = NULL;
	snprintf(w, sizeof(w), "%s.name", where);
	if (key(e, "name") && get_string(c, key(e, "name"), w, &legacy) < 0)
		return -EINVAL;
	size_t count = names ? json_object_array_length(names) : 0;
	if (count == 0 && !legacy)
		return bad(c, "%s: no syscall names (\"names\": [...])", where);
	struct scmp_arg_cmp cmps[MAX_CONDS];
	size_t n;
	bool split;
	snprintf(w, sizeof(w), "%s.args", where);
	if (get_array(c, key(e, "args"), w, &args) < 0 || parse_args(c, args, w, cmps, &n, &split) < 0)
		return -EINVAL;
	struct cond inc, exc;
	snprintf(w, sizeof(w), "%s.includes", where);
	if (parse_cond(c, key(e, "includes"), w, &inc) < 0)
		return -EINVAL;
	snprintf(w, sizeof(w), "%s.excludes", where);
	if (parse_cond(c, key(e, "excludes"), w, &exc) < 0)
		return -EINVAL;
	/* Check every name's type even when the entry does not apply here. */
	const char *name;
	for (size_t i = 0; i < count; i++) {
		snprintf(w, sizeof(w), "%s.names[%zu]", where, i);
		if (get_string(c, json_object_array_get_idx(names, i), w, &name) < 0)
			return -EINVAL;
		if (!*name)
			return bad(c, "%s: empty syscall name", w);
	}
	bool applies = (!inc.has_caps || inc.caps_all) && (!inc.has_arches || inc.arch_match) &&
		       (!inc.has_kernel || inc.kernel_ok) && !(exc.has_caps && exc.caps_any) &&
		       !(exc.has_arches && exc.arch_match) && !(exc.has_kernel && exc.kernel_ok);
	if (!applies)
		return 0; /* names of another architecture's entry need not be known here */
	bool is_handoff_exempt = false;
	uint32_t final = teach(c, action, false);
	for (size_t i = 0; i < count + (legacy ? 1 : 0); i++) {
		if (i < count) {
			snprintf(w, sizeof(w), "%s.names[%zu]", where, i);
			name = json_object_get_string(json_object_array_get_idx(names, i));
		} else {
			snprintf(w, sizeof(w), "%s.name", where);
			name = legacy;
		}
		is_handoff_exempt = false;
		for (size_t h = 0; h < NK_ARRAY_SIZE(handoff_calls); h++)
			is_handoff_exempt |= !strcmp(name, handoff_calls[h]);
		if (add_name(c, w, name, is_handoff_exempt ? action : final, cmps, n, split) < 0)
			return -EINVAL;
	}
	return 0;
}

static int parse_flags(struct compile *c, json_object *root)
{
	static const struct {
		const char *name;
		unsigned flag;
	} names[] = {
	    {"SECCOMP_FILTER_FLAG_TSYNC", 0}, /* the child is single-threaded when it installs */
	    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
	    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
	};
	json_object *list;
	if (get_array(c, key(root, "flags"), "flags", &list) < 0)
		return -EINVAL;
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		char w[32];
		const char *s;
		snprintf(w, sizeof(w), "flags[%zu]", i);
		if (get_string(c, json_object_array_get_idx(list, i), w, &s) < 0)
			return -EINVAL;
		size_t j = 0;
		while (j < NK_ARRAY_SIZE(names) && strcmp(names[j].name, s))
			j++;
		if (j == NK_ARRAY_SIZE(names))
			return bad(c, "%s: unknown flag %s", w, s);
		c->out->filter_flags |= names[j].flag;
	}
	return 0;
}

/* When the default notifies, the hand-over calls the profile says nothing about keep the
 * profile's own answer (EPERM if that was a notification too). */
static int add_handoff_rules(struct compile *c)
{
	if (c->default_action != SCMP_ACT_NOTIFY)
		return 0;
	uint32_t answer = c->profile_default == SCMP_ACT_NOTIFY ? SCMP_ACT_ERRNO(EPERM) : c->profile_default;
	for (size_t i = 0; i < NK_ARRAY_SIZE(handoff_calls); i++) {
		if (c->handoff_ruled & (1u << i))
			continue;
		int nr = seccomp_syscall_resolve_name(handoff_calls[i]);
		if (nr >= 0 && add_to(c, c->ctx, "teach mode", handoff_calls[i], answer, nr, NULL, 0, false) < 0)
			return -EINVAL;
		if (c->sub && add_to(c, c->sub, "teach mode", handoff_calls[i], answer, nr, NULL, 0, false) < 0)
			return -EINVAL;
	}
	return 0;
}

static int export_bpf(struct compile *c)
{
	nk_autoclose int fd = memfd_create("nook-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return nk_err_set(c->err, errno, "%s: cannot create a memfd for the filter", c->origin);
	/* libseccomp 2.5 has no seccomp_export_bpf_mem (2.6 does): export to a memfd, read back. */
	int r = seccomp_export_bpf(c->ctx, fd);
	if (r < 0)
		return nk_err_set(c->err, -r, "%s: cannot export the seccomp filter", c->origin);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return nk_err_set(c->err, errno, "%s: cannot export the seccomp filter", c->origin);
	size_t size = (size_t)st.st_size, count = size / sizeof(struct sock_filter);
	if (size == 0 || size % sizeof(struct sock_filter))
		return nk_err_msg(c->err, EIO, "%s: libseccomp exported a filter of %zu bytes", c->origin, size);
	if (count > BPF_MAXINSNS)
		return nk_err_msg(c->err, E2BIG, "%s: the filter needs %zu instructions, the kernel takes at most %d",
				  c->origin, count, BPF_MAXINSNS);
	struct sock_filter *prog = malloc(size);
	if (!prog)
		return nk_err_set(c->err, ENOMEM, "%s: cannot export the seccomp filter", c->origin);
	for (size_t done = 0; done < size;) {
		ssize_t n = pread(fd, (char *)prog + done, size - done, (off_t)done);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(prog);
			return nk_err_set(c->err, e, "%s: cannot read the exported filter back", c->origin);
		}
		done += (size_t)n;
	}
	c->out->filter = prog;
	c->out->len = (unsigned short)count;
	return 0;
}

static scmp_filter_ctx new_ctx(struct compile *c, bool sub)
{
	/* A foreign ABI is refused as a kernel without it would (ENOSYS), or killed when the profile
	 * kills by default: its numbers mean other calls, so no rule of ours may apply to them. */
	uint32_t badarch = c->profile_default == SCMP_ACT_KILL_PROCESS || c->profile_default == SCMP_ACT_KILL_THREAD ||
				   c->profile_default == SCMP_ACT_TRAP
			       ? SCMP_ACT_KILL_PROCESS
			       : SCMP_ACT_ERRNO(ENOSYS);
	scmp_filter_ctx ctx = seccomp_init(c->default_action);
	if (!ctx)
		return NULL;
	bool ok = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch) == 0 &&
		  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0;
	/* A binary tree over syscall numbers: the long allowlists stay fast. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; ok && sub && i < c->nsubs; i++)
		ok = seccomp_arch_add(ctx, c->subs[i]) == 0;
	if (ok && sub)
		ok = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) == 0;
	if (!ok) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

static int compile_root(struct compile *c, json_object *root)
{
	static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls",
					   "flags", "listenerPath", "listenerMetadata", NULL};
	if (check_keys(c, root, "", keys) < 0)
		return -EINVAL;
	if (parse_action(c, key(root, "defaultAction"), key(root, "defaultErrnoRet"), "defaultAction",
			 "defaultErrnoRet", &c->profile_default) < 0)
		return -EINVAL;
	c->default_action = teach(c, c->profile_default, true);
	if (c->default_action == SCMP_ACT_NOTIFY)
		c->out->has_notify = 1;
	const char *s;
	if (key(root, "listenerPath") && get_string(c, key(root, "listenerPath"), "listenerPath", &s) < 0)
		return -EINVAL;
	if (key(root, "listenerMetadata") &&
	    get_string(c, key(root, "listenerMetadata"), "listenerMetadata", &s) < 0)
		return -EINVAL;
	if (key(root, "listenerPath"))
		warn(c, "listenerPath: ignored, nook's monitor answers the notifications itself");
	if (parse_arches(c, root) < 0 || parse_flags(c, root) < 0)
		return -EINVAL;
	json_object *calls;
	if (get_array(c, key(root, "syscalls"), "syscalls", &calls) < 0)
		return -EINVAL;

	c->ctx = new_ctx(c, false);
	if (c->ctx && c->nsubs)
		c->sub = new_ctx(c, true);
	if (!c->ctx || (c->nsubs && !c->sub))
		return nk_err_msg(c->err, ENOMEM, "%s: libseccomp cannot start a filter with this default action",
				  c->origin);
	for (size_t i = 0; calls && i < json_object_array_length(calls); i++)
		if (parse_entry(c, json_object_array_get_idx(calls, i), i) < 0)
			return -EINVAL;
	if (add_handoff_rules(c) < 0)
		return -EINVAL;
	if (c->sub) {
		int r = seccomp_merge(c->ctx, c->sub);
		if (r < 0)
			return nk_err_set(c->err, -r, "%s: cannot merge the sub-architecture filter", c->origin);
		c->sub = NULL; /* the merge consumed it */
	}
	return export_bpf(c);
}

static void offset_to_line(const char *s, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int parse_json(struct compile *c, const char *json, size_t len, json_object **root)
{
	*root = NULL;
	if (len > MAX_INPUT)
		return nk_err_msg(c->err, EFBIG, "%s: %zu bytes is too large for a seccomp profile", c->origin, len);
	if (memchr(json, '\0', len))
		return bad(c, "not a JSON document (it contains a NUL byte)");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return nk_err_set(c->err, ENOMEM, "%s: cannot parse", c->origin);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *obj = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	unsigned line, col;
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue || (jerr == json_tokener_success && !obj)) {
			offset_to_line(json, len, &line, &col);
			return bad(c, "%u:%u: invalid JSON: unexpected end of file (truncated?)", line, col);
		}
		offset_to_line(json, end < len ? end : len, &line, &col);
		return bad(c, "%u:%u: invalid JSON: %s", line, col, json_tokener_error_desc(jerr));
	}
	for (size_t i = end; i < len; i++)
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') {
			json_object_put(obj);
			offset_to_line(json, i, &line, &col);
			return bad(c, "%u:%u: invalid JSON: data after the end of the document", line, col);
		}
	if (!json_object_is_type(obj, json_type_object)) {
		int r = bad(c, "expected a JSON object ({\"defaultAction\": ...}), found %s", type_name(obj));
		json_object_put(obj);
		return r;
	}
	*root = obj;
	return 0;
}

int nk_seccomp_compile(const char *json, size_t len, const char *origin, uint64_t caps, unsigned flags,
		       struct nk_seccomp_prog *out, struct nk_err *err)
{
	memset(out, 0, sizeof(*out));
	struct compile c = {.origin = origin ? origin : "seccomp profile", .caps = caps, .flags = flags,
			    .native = seccomp_arch_native(), .out = out, .err = err};
	struct utsname u;
	if (uname(&u) == 0)
		(void)parse_number_list(u.release, c.kernel, false);
	json_object *root;
	if (!json)
		return bad(&c, "no data");
	int r = parse_json(&c, json, len, &root);
	if (r == 0)
		r = compile_root(&c, root);
	json_object_put(root);
	if (c.sub)
		seccomp_release(c.sub);
	if (c.ctx)
		seccomp_release(c.ctx);
	if (r < 0) {
		nk_seccomp_prog_free(out);
		return r;
	}
	return 0;
}

int nk_seccomp_compile_file(const char *path, uint64_t caps, unsigned flags, struct nk_seccomp_prog *out,
			    struct nk_err *err)
{
	memset(out, 0, sizeof(*out));
	nk_autofree char *data = NULL;
	size_t len = 0;
	int r = nk_read_file(path, &data, &len, err);
	if (r < 0)
		return r;
	const char *base = strrchr(path, '/');
	return nk_seccomp_compile(data, len, base ? base + 1 : path, caps, flags, out, err);
}
