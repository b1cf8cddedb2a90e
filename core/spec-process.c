/* config.json's process object beyond args/env/cwd/capabilities: the user, resource limits,
 * umask, OOM score, console size. What nook cannot honour is refused, never ignored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "spec-internal.h"
#include "util.h"

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static int load_rlimits(json_object *process, struct nk_spec *s, struct nk_err *err)
{
	json_object *a;
	if (!json_object_object_get_ex(process, "rlimits", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return nk_err_msg(err, EINVAL, "config.json: process.rlimits must be an array");
	size_t n = json_object_array_length(a);
	s->rlimits = calloc(n ? n : 1, sizeof(*s->rlimits));
	if (!s->rlimits)
		return nk_err_set(err, ENOMEM, "config.json: process.rlimits");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		nk_autofree char *type = nk_json_dup_str(e, "type");
		int64_t soft = -1, hard = -1;
		size_t k;
		for (k = 0; type && k < NK_ARRAY_SIZE(rlimit_names); k++)
			if (!strcmp(type, rlimit_names[k].name))
				break;
		if (!type || k == NK_ARRAY_SIZE(rlimit_names))
			return nk_err_msg(err, EINVAL, "config.json: process.rlimits[%zu]: unknown type '%s'", i,
					  type ? type : "");
		/* JSON numbers above INT64_MAX (RLIM_INFINITY as uint64) arrive as doubles or
		 * clamped: json-c gives INT64_MAX, which setrlimit treats as infinity too. */
		if (nk_json_i64(e, "soft", &soft) != 1 || nk_json_i64(e, "hard", &hard) != 1)
			return nk_err_msg(err, EINVAL, "config.json: process.rlimits[%zu] (%s) needs soft and hard numbers",
					  i, type);
		if (soft < 0 || hard < 0 || (uint64_t)soft > (uint64_t)hard)
			return nk_err_msg(err, EINVAL, "config.json: process.rlimits[%zu] (%s): soft %lld above hard %lld", i,
					  type, (long long)soft, (long long)hard);
		s->rlimits[s->rlimit_count++] = (struct nk_rlimit){
		    .resource = rlimit_names[k].resource, .soft = (uint64_t)soft, .hard = (uint64_t)hard};
	}
	return 0;
}

static int load_user(json_object *process, struct nk_spec *s, struct nk_err *err)
{
	json_object *u, *a;
	if (!json_object_object_get_ex(process, "user", &u))
		return 0;
	int64_t uid = 0, gid = 0, umask_v = 0;
	if (nk_json_i64(u, "uid", &uid) < 0 || nk_json_i64(u, "gid", &gid) < 0 || uid < 0 || gid < 0 ||
	    uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
		return nk_err_msg(err, EINVAL, "config.json: process.user.uid and gid must be ids");
	s->has_user = 1;
	s->uid = (uint32_t)uid;
	s->gid = (uint32_t)gid;
	int r = nk_json_i64(u, "umask", &umask_v);
	if (r < 0 || umask_v < 0 || umask_v > 0777)
		return nk_err_msg(err, EINVAL, "config.json: process.user.umask must be between 0 and 0777");
	s->has_umask = r == 1;
	s->umask = (uint32_t)umask_v;
	nk_autofree char *username = nk_json_dup_str(u, "username");
	if (username && *username)
		return nk_err_msg(err, ENOTSUP, "config.json: process.user.username is for Windows; give uid and gid");
	if (!json_object_object_get_ex(u, "additionalGids", &a))
		return 0;
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	s->groups = calloc(n ? n : 1, sizeof(*s->groups));
	if (!s->groups)
		return nk_err_set(err, ENOMEM, "config.json: process.user.additionalGids");
	for (size_t i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(a, i);
		int64_t v = json_object_get_int64(g);
		if (!json_object_is_type(g, json_type_int) || v < 0 || v > UINT32_MAX - 1)
			return nk_err_msg(err, EINVAL, "config.json: process.user.additionalGids[%zu] is not a gid", i);
		s->groups[s->group_count++] = (uint32_t)v;
	}
	return 0;
}

/* Keys that would change how the process runs in ways nook does not implement. */
static int refuse_unsupported(json_object *process, struct nk_err *err)
{
	static const char *const labels[] = {"apparmorProfile", "selinuxLabel"};
	static const char *const refused[] = {"commandLine", "ioPriority", "scheduler", "execCPUAffinity"};
	for (size_t i = 0; i < NK_ARRAY_SIZE(labels); i++) {
		nk_autofree char *v = nk_json_dup_str(process, labels[i]);
		if (v && *v)
			return nk_err_msg(err, ENOTSUP,
					  "config.json: process.%s '%s': nook does not apply AppArmor or SELinux labels",
					  labels[i], v);
	}
	for (size_t i = 0; i < NK_ARRAY_SIZE(refused); i++)
		if (json_object_object_get_ex(process, refused[i], NULL))
			return nk_err_msg(err, ENOTSUP, "config.json: process.%s is not supported by nook", refused[i]);
	return 0;
}

int nk_spec_load_process(json_object *process, struct nk_spec *s, struct nk_err *err)
{
	int r = refuse_unsupported(process, err);
	if (r == 0)
		r = load_user(process, s, err);
	if (r == 0)
		r = load_rlimits(process, s, err);
	if (r < 0)
		return r;
	int64_t v;
	if ((r = nk_json_i64(process, "oomScoreAdj", &v)) < 0 || (r == 1 && (v < -1000 || v > 1000)))
		return nk_err_msg(err, EINVAL, "config.json: process.oomScoreAdj must be between -1000 and 1000");
	s->has_oom_score_adj = r == 1;
	s->oom_score_adj = (int)v;
	json_object *size;
	if (json_object_object_get_ex(process, "consoleSize", &size)) {
		int64_t h = 0, w = 0;
		if (nk_json_i64(size, "height", &h) < 0 || nk_json_i64(size, "width", &w) < 0 || h < 0 || w < 0 ||
		    h > 65535 || w > 65535)
			return nk_err_msg(err, EINVAL, "config.json: process.consoleSize needs height and width");
		s->console_rows = (unsigned short)h;
		s->console_cols = (unsigned short)w;
	}
	return 0;
}
