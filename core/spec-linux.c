/* config.json's linux object beyond namespaces, resources and paths: device nodes, device
 * cgroup rules, sysctls, the cgroup path, an inline seccomp profile; and hooks. Every key
 * nook does not implement is refused with its name (docs/oci.md lists them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec-internal.h"
#include "util.h"

static int load_devices(json_object *lnx, struct nk_spec *s, struct nk_err *err)
{
	json_object *a;
	if (!json_object_object_get_ex(lnx, "devices", &a))
		return 0;
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	s->devices = calloc(n ? n : 1, sizeof(*s->devices));
	if (!s->devices)
		return nk_err_set(err, ENOMEM, "config.json: linux.devices");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct nk_device *d = &s->devices[s->device_count++];
		nk_autofree char *type = nk_json_dup_str(e, "type");
		int64_t mode = 0666, uid = 0, gid = 0;
		d->path = nk_json_dup_str(e, "path");
		if (!d->path || strncmp(d->path, "/dev/", 5) || strstr(d->path, ".."))
			return nk_err_msg(err, EINVAL, "config.json: linux.devices[%zu].path must be under /dev", i);
		if (!type || strlen(type) != 1 || !strchr("cubp", type[0]))
			return nk_err_msg(err, EINVAL, "config.json: linux.devices[%zu].type must be c, u, b or p", i);
		d->type = type[0] == 'u' ? 'c' : type[0];
		if (d->type != 'p' && (nk_json_i64(e, "major", &d->major) != 1 || nk_json_i64(e, "minor", &d->minor) != 1 ||
				       d->major < 0 || d->minor < 0))
			return nk_err_msg(err, EINVAL, "config.json: linux.devices[%zu] (%s) needs major and minor", i,
					  d->path);
		if (nk_json_i64(e, "fileMode", &mode) < 0 || nk_json_i64(e, "uid", &uid) < 0 ||
		    nk_json_i64(e, "gid", &gid) < 0 || mode < 0 || mode > 07777 || uid < 0 || gid < 0)
			return nk_err_msg(err, EINVAL, "config.json: linux.devices[%zu] (%s): bad fileMode, uid or gid", i,
					  d->path);
		d->mode = (uint32_t)mode & 0777;
		d->uid = (uint32_t)uid;
		d->gid = (uint32_t)gid;
	}
	return 0;
}

static int load_device_rules(json_object *res, struct nk_spec *s, struct nk_err *err)
{
	json_object *a;
	if (!res || !json_object_object_get_ex(res, "devices", &a))
		return 0;
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	s->device_rules = calloc(n ? n : 1, sizeof(*s->device_rules));
	if (!s->device_rules)
		return nk_err_set(err, ENOMEM, "config.json: linux.resources.devices");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct nk_device_rule *d = &s->device_rules[s->device_rule_count++];
		nk_autofree char *type = nk_json_dup_str(e, "type");
		nk_autofree char *access = nk_json_dup_str(e, "access");
		d->allow = nk_json_bool(e, "allow");
		d->type = type ? type[0] : 'a';
		d->major = d->minor = -1;
		if ((type && (strlen(type) != 1 || !strchr("acb", type[0]))) || nk_json_i64(e, "major", &d->major) < 0 ||
		    nk_json_i64(e, "minor", &d->minor) < 0)
			return nk_err_msg(err, EINVAL, "config.json: linux.resources.devices[%zu] is malformed", i);
		const char *acc = access ? access : "rwm";
		if (!*acc || strlen(acc) > 3 || strspn(acc, "rwm") != strlen(acc))
			return nk_err_msg(err, EINVAL, "config.json: linux.resources.devices[%zu].access must be some of rwm", i);
		snprintf(d->access, sizeof(d->access), "%s", acc);
	}
	return 0;
}

static int load_sysctl(json_object *lnx, struct nk_spec *s, struct nk_err *err)
{
	json_object *o;
	if (!json_object_object_get_ex(lnx, "sysctl", &o))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return nk_err_msg(err, EINVAL, "config.json: linux.sysctl must be an object");
	size_t n = (size_t)json_object_object_length(o), i = 0;
	s->sysctl = calloc(2 * n + 1, sizeof(*s->sysctl));
	if (!s->sysctl)
		return nk_err_set(err, ENOMEM, "config.json: linux.sysctl");
	json_object_object_foreach(o, key, val)
	{
		/* A key is a path below /proc/sys: dots or slashes, never a way out of it. */
		if (!json_object_is_type(val, json_type_string) || !*key || strstr(key, "..") || key[0] == '/')
			return nk_err_msg(err, EINVAL, "config.json: linux.sysctl '%s' is not a sysctl with a string value", key);
		s->sysctl[i++] = strdup(key);
		s->sysctl[i++] = strdup(json_object_get_string(val));
	}
	return 0;
}

/* Resource keys nook applies (resources.c / cgroup backends); any other one with a value is
 * refused rather than dropped. */
static int check_resources(json_object *res, struct nk_err *err)
{
	static const struct {
		const char *group;
		const char *const keys[8];
	} known[] = {
	    {"memory", {"limit", "swap", NULL}},
	    {"cpu", {"shares", "quota", "period", "cpus", NULL}},
	    {"pids", {"limit", NULL}},
	    {"blockIO", {"weight", NULL}},
	    {"devices", {NULL}},
	};
	if (!res)
		return 0;
	json_object_object_foreach(res, group, val)
	{
		size_t g;
		for (g = 0; g < NK_ARRAY_SIZE(known); g++)
			if (!strcmp(group, known[g].group))
				break;
		if (g == NK_ARRAY_SIZE(known)) {
			if (json_object_is_type(val, json_type_null))
				continue;
			return nk_err_msg(err, ENOTSUP, "config.json: linux.resources.%s is not supported by nook", group);
		}
		if (!json_object_is_type(val, json_type_object))
			continue;
		json_object_object_foreach(val, key, v)
		{
			size_t k;
			for (k = 0; known[g].keys[k]; k++)
				if (!strcmp(key, known[g].keys[k]))
					break;
			/* useHierarchy/checkBeforeUpdate change nothing a container sees; false/0 is the default. */
			if (!known[g].keys[k] && !json_object_is_type(v, json_type_null) &&
			    !(json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) &&
			    strcmp(key, "useHierarchy") && strcmp(key, "checkBeforeUpdate"))
				return nk_err_msg(err, ENOTSUP, "config.json: linux.resources.%s.%s is not supported by nook",
						  group, key);
		}
	}
	return 0;
}

static int refuse_linux(json_object *lnx, struct nk_err *err)
{
	static const char *const allowed[] = {"namespaces", "resources", "cgroupsPath", "devices", "sysctl", "seccomp",
					      "maskedPaths", "readonlyPaths", "rootfsPropagation", "mountLabel",
					      "uidMappings", "gidMappings"};
	json_object_object_foreach(lnx, key, val)
	{
		size_t k;
		for (k = 0; k < NK_ARRAY_SIZE(allowed); k++)
			if (!strcmp(key, allowed[k]))
				break;
		if (k == NK_ARRAY_SIZE(allowed) && !json_object_is_type(val, json_type_null))
			return nk_err_msg(err, ENOTSUP, "config.json: linux.%s is not supported by nook", key);
	}
	json_object *v;
	static const char *const mappings[] = {"uidMappings", "gidMappings"};
	for (size_t i = 0; i < NK_ARRAY_SIZE(mappings); i++)
		if (json_object_object_get_ex(lnx, mappings[i], &v) && json_object_array_length(v) > 0)
			return nk_err_msg(err, ENOTSUP,
					  "config.json: linux.%s: user namespaces (id mappings) are not supported by nook",
					  mappings[i]);
	nk_autofree char *label = nk_json_dup_str(lnx, "mountLabel");
	if (label && *label)
		return nk_err_msg(err, ENOTSUP, "config.json: linux.mountLabel: nook does not apply SELinux labels");
	/* nook makes the whole tree private: nothing in the container propagates out. */
	nk_autofree char *prop = nk_json_dup_str(lnx, "rootfsPropagation");
	if (prop && *prop && strcmp(prop, "private") && strcmp(prop, "rprivate") && strcmp(prop, "slave") &&
	    strcmp(prop, "rslave"))
		return nk_err_msg(err, ENOTSUP, "config.json: linux.rootfsPropagation '%s': nook keeps the root private",
				  prop);
	return 0;
}

int nk_spec_load_linux(json_object *lnx, struct nk_spec *s, struct nk_err *err)
{
	json_object *res = NULL, *sec;
	json_object_object_get_ex(lnx, "resources", &res);
	int r = refuse_linux(lnx, err);
	if (r == 0)
		r = check_resources(res, err);
	if (r == 0)
		r = load_devices(lnx, s, err);
	if (r == 0)
		r = load_device_rules(res, s, err);
	if (r == 0)
		r = load_sysctl(lnx, s, err);
	if (r < 0)
		return r;
	s->cgroups_path = nk_json_dup_str(lnx, "cgroupsPath");
	if (s->cgroups_path && (strstr(s->cgroups_path, "..") || strchr(s->cgroups_path, ':')))
		return nk_err_msg(err, EINVAL,
				  "config.json: linux.cgroupsPath '%s': give a path below the cgroup root (systemd's "
				  "slice:prefix:name form needs --systemd-cgroup, which nook does not support)",
				  s->cgroups_path);
	if (json_object_object_get_ex(lnx, "seccomp", &sec) && json_object_is_type(sec, json_type_object)) {
		const char *text = json_object_to_json_string_ext(sec, JSON_C_TO_STRING_PLAIN);
		if (!text || !(s->seccomp_json = strdup(text)))
			return nk_err_set(err, ENOMEM, "config.json: linux.seccomp");
	}
	return 0;
}

static const char *const hook_names[NK_HOOK_KINDS] = {"prestart",        "createRuntime", "createContainer",
						      "startContainer", "poststart",     "poststop"};

int nk_spec_load_hooks(json_object *root, struct nk_spec *s, struct nk_err *err)
{
	json_object *hooks;
	if (!json_object_object_get_ex(root, "hooks", &hooks))
		return 0;
	json_object_object_foreach(hooks, kind, list)
	{
		int k;
		for (k = 0; k < NK_HOOK_KINDS; k++)
			if (!strcmp(kind, hook_names[k]))
				break;
		if (k == NK_HOOK_KINDS)
			return nk_err_msg(err, ENOTSUP, "config.json: hooks.%s is not a hook nook knows", kind);
		size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
		struct nk_hook_list *hl = &s->hooks[k];
		hl->v = calloc(n ? n : 1, sizeof(*hl->v));
		if (!hl->v)
			return nk_err_set(err, ENOMEM, "config.json: hooks.%s", kind);
		for (size_t i = 0; i < n; i++) {
			json_object *h = json_object_array_get_idx(list, i);
			struct nk_hook *hk = &hl->v[hl->n++];
			int bad = 0;
			int64_t timeout = 0;
			hk->path = nk_json_dup_str(h, "path");
			hk->args = nk_json_dup_strv(h, "args", &bad);
			hk->env = nk_json_dup_strv(h, "env", &bad);
			if (!hk->path || hk->path[0] != '/' || bad || nk_json_i64(h, "timeout", &timeout) < 0 ||
			    timeout < 0)
				return nk_err_msg(err, EINVAL,
						  "config.json: hooks.%s[%zu] needs an absolute path (and string args/env, a "
						  "positive timeout)",
						  kind, i);
			hk->timeout_s = (int)timeout;
		}
	}
	return 0;
}

int nk_spec_check_top(json_object *root, struct nk_err *err)
{
	static const char *const allowed[] = {"ociVersion", "process",     "root",  "hostname", "domainname",
					      "mounts",     "annotations", "hooks", "linux"};
	json_object_object_foreach(root, key, val)
	{
		size_t k;
		for (k = 0; k < NK_ARRAY_SIZE(allowed); k++)
			if (!strcmp(key, allowed[k]))
				break;
		if (k == NK_ARRAY_SIZE(allowed) && !json_object_is_type(val, json_type_null))
			return nk_err_msg(err, ENOTSUP, "config.json: '%s' is not supported by nook (Linux containers only)",
					  key);
	}
	return 0;
}

void nk_spec_free_extra(struct nk_spec *s)
{
	free(s->groups);
	free(s->rlimits);
	free(s->domainname);
	for (size_t i = 0; i < s->ns_path_count; i++)
		free(s->ns_paths[i].path);
	nk_json_free_strv(s->sysctl);
	for (size_t i = 0; i < s->device_count; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s->device_rules);
	for (int k = 0; k < NK_HOOK_KINDS; k++) {
		for (size_t i = 0; i < s->hooks[k].n; i++) {
			free(s->hooks[k].v[i].path);
			nk_json_free_strv(s->hooks[k].v[i].args);
			nk_json_free_strv(s->hooks[k].v[i].env);
		}
		free(s->hooks[k].v);
	}
	free(s->cgroups_path);
	free(s->seccomp_json);
	free(s->oci_version);
}
