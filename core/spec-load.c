/* Load an OCI runtime-spec config.json into struct nk_spec; refuse what nook cannot honour. */
#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "caps.h"
#include "spec-internal.h"
#include "spec.h"
#include "util.h"

char *nk_json_dup_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

int nk_json_bool(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

char **nk_json_dup_strv(json_object *o, const char *key, int *bad)
{
	json_object *a;
	if (!json_object_object_get_ex(o, key, &a))
		return NULL;
	if (!json_object_is_type(a, json_type_array)) {
		*bad = 1;
		return NULL;
	}
	size_t n = json_object_array_length(a);
	char **v = calloc(n + 1, sizeof(*v));
	if (!v) {
		*bad = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string)) {
			*bad = 1;
			v[i] = NULL;
			break;
		}
		v[i] = strdup(json_object_get_string(e));
	}
	return v;
}

void nk_json_free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static const struct {
	const char *name;
	unsigned long set, clear;
	int bind, recursive, readonly;
} mount_options[] = {
    {"ro", MS_RDONLY, 0, 0, 0, 1},    {"rw", 0, MS_RDONLY, 0, 0, 0},
    {"nosuid", MS_NOSUID, 0, 0, 0, 0}, {"suid", 0, MS_NOSUID, 0, 0, 0},
    {"nodev", MS_NODEV, 0, 0, 0, 0},   {"dev", 0, MS_NODEV, 0, 0, 0},
    {"noexec", MS_NOEXEC, 0, 0, 0, 0}, {"exec", 0, MS_NOEXEC, 0, 0, 0},
    {"noatime", MS_NOATIME, 0, 0, 0, 0}, {"relatime", MS_RELATIME, 0, 0, 0, 0},
    {"strictatime", MS_STRICTATIME, 0, 0, 0, 0}, {"nodiratime", MS_NODIRATIME, 0, 0, 0, 0},
    {"bind", MS_BIND, 0, 1, 0, 0},     {"rbind", MS_BIND | MS_REC, 0, 1, 1, 0},
    {"private", 0, 0, 0, 0, 0},        {"rprivate", 0, 0, 0, 0, 0},
};

static int load_mount(json_object *m, struct nk_mount *out, struct nk_err *err)
{
	memset(out, 0, sizeof(*out));
	out->destination = nk_json_dup_str(m, "destination");
	out->type = nk_json_dup_str(m, "type");
	out->source = nk_json_dup_str(m, "source");
	if (!out->destination || out->destination[0] != '/')
		return nk_err_msg(err, EINVAL, "config.json: a mount needs an absolute destination");
	if (!out->type)
		out->type = strdup("bind");
	if (!out->source)
		out->source = strdup(out->type);
	json_object *opts;
	char data[1024] = "";
	size_t used = 0;
	if (json_object_object_get_ex(m, "options", &opts) && json_object_is_type(opts, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(opts); i++) {
			const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
			if (!o)
				continue;
			size_t k;
			for (k = 0; k < NK_ARRAY_SIZE(mount_options); k++)
				if (!strcmp(o, mount_options[k].name))
					break;
			if (k < NK_ARRAY_SIZE(mount_options)) {
				out->flags = (out->flags | mount_options[k].set) & ~mount_options[k].clear;
				out->bind |= mount_options[k].bind;
				out->recursive |= mount_options[k].recursive;
				if (mount_options[k].readonly)
					out->readonly = 1;
				if (!strcmp(o, "rw"))
					out->readonly = 0;
				continue;
			}
			if (!strcmp(o, "tmpcopyup")) {
				out->copyup = 1;
				continue;
			}
			int w = snprintf(data + used, sizeof(data) - used, "%s%s", used ? "," : "", o);
			if (w < 0 || (size_t)w >= sizeof(data) - used)
				return nk_err_msg(err, E2BIG, "config.json: mount options of %s too long",
						  out->destination);
			used += (size_t)w;
		}
	}
	if (!strcmp(out->type, "bind"))
		out->bind = 1;
	if (out->copyup && strcmp(out->type, "tmpfs"))
		return nk_err_msg(err, EINVAL, "config.json: mount %s: tmpcopyup is for tmpfs mounts only", out->destination);
	out->data = strdup(data);
	return 0;
}

static int load_caps(json_object *process, struct nk_spec *s, struct nk_err *err)
{
	json_object *c;
	if (!json_object_object_get_ex(process, "capabilities", &c))
		return 0;
	static const char *const sets[] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
	uint64_t *dest[] = {&s->cap_bounding, &s->cap_effective, &s->cap_permitted,
			    &s->cap_inheritable, &s->cap_ambient};
	for (size_t i = 0; i < NK_ARRAY_SIZE(sets); i++) {
		json_object *a;
		if (!json_object_object_get_ex(c, sets[i], &a))
			continue;
		for (size_t k = 0; k < json_object_array_length(a); k++) {
			const char *n = json_object_get_string(json_object_array_get_idx(a, k));
			int cap = nk_cap_from_name(n);
			if (cap < 0)
				return nk_err_msg(err, EINVAL, "config.json: unknown capability '%s'",
						  n ? n : "");
			*dest[i] |= 1ull << cap;
		}
	}
	return 0;
}

static int load_namespaces(json_object *lnx, struct nk_spec *s, struct nk_err *err)
{
	static const struct {
		const char *type;
		int flag;
	} kinds[] = {{"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
		     {"uts", CLONE_NEWUTS},   {"mount", CLONE_NEWNS},    {"cgroup", CLONE_NEWCGROUP},
		     {"user", CLONE_NEWUSER}, {"time", 0}};
	json_object *a;
	if (!json_object_object_get_ex(lnx, "namespaces", &a))
		return 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *ns = json_object_array_get_idx(a, i);
		char *type = nk_json_dup_str(ns, "type");
		char *path = nk_json_dup_str(ns, "path");
		size_t k;
		for (k = 0; type && k < NK_ARRAY_SIZE(kinds); k++)
			if (!strcmp(type, kinds[k].type))
				break;
		int bad = !type || k == NK_ARRAY_SIZE(kinds) || kinds[k].flag == 0 ||
			  kinds[k].flag == CLONE_NEWUSER || (path && (path[0] != '/' || s->ns_path_count == NK_ARRAY_SIZE(s->ns_paths)));
		/* With a path the namespace is joined (setns), not created. */
		if (!bad && path) {
			s->ns_paths[s->ns_path_count++] = (struct nk_ns_path){.flag = kinds[k].flag, .path = path};
			path = NULL;
		} else if (!bad) {
			s->clone_flags |= kinds[k].flag;
		}
		int r = bad ? nk_err_msg(err, ENOTSUP,
					  "config.json: namespace '%s'%s is not supported by nook",
					  type ? type : "?", path ? " with that path" : "")
			    : 0;
		free(type);
		free(path);
		if (r < 0)
			return r;
	}
	return 0;
}

int nk_json_i64(json_object *o, const char *key, int64_t *out)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	*out = json_object_get_int64(v);
	return 1;
}

/* linux.resources, as far as nook applies it; anything malformed is refused. */
static int load_resources(json_object *lnx, struct nk_limits *l, struct nk_err *err)
{
	json_object *res, *m = NULL, *c = NULL, *p = NULL, *b = NULL, *v;
	if (!json_object_object_get_ex(lnx, "resources", &res))
		return 0;
	json_object_object_get_ex(res, "memory", &m);
	json_object_object_get_ex(res, "cpu", &c);
	json_object_object_get_ex(res, "pids", &p);
	json_object_object_get_ex(res, "blockIO", &b);
	int64_t x;
	int r;
	if ((r = nk_json_i64(m, "limit", &x)) < 0 || (r > 0 && x < 0))
		return nk_err_msg(err, EINVAL, "config.json: linux.resources.memory.limit must be a positive number");
	if (r > 0)
		l->memory = (uint64_t)x;
	if ((r = nk_json_i64(m, "swap", &x)) < 0)
		return nk_err_msg(err, EINVAL, "config.json: linux.resources.memory.swap must be a number");
	if (r > 0)
		l->memory_swap = x < 0 ? NK_UNLIMITED : (uint64_t)x;
	if ((r = nk_json_i64(c, "quota", &x)) < 0)
		return nk_err_msg(err, EINVAL, "config.json: linux.resources.cpu.quota must be a number");
	if (r > 0 && x > 0) {
		int64_t period = NK_CPU_PERIOD_US;
		if (nk_json_i64(c, "period", &period) < 0 || period <= 0)
			return nk_err_msg(err, EINVAL, "config.json: linux.resources.cpu.period must be positive");
		l->cpu_quota_us = (uint64_t)(x * NK_CPU_PERIOD_US / period);
	}
	if ((r = nk_json_i64(c, "shares", &x)) < 0)
		return nk_err_msg(err, EINVAL, "config.json: linux.resources.cpu.shares must be a number");
	if (r > 0)
		l->cpu_weight = nk_shares_to_weight((uint64_t)(x < 0 ? 0 : x));
	if (c && json_object_object_get_ex(c, "cpus", &v)) {
		const char *cpus = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) || snprintf(l->cpuset, sizeof(l->cpuset), "%s", cpus) >= (int)sizeof(l->cpuset))
			return nk_err_msg(err, EINVAL, "config.json: linux.resources.cpu.cpus must be a short string");
	}
	if ((r = nk_json_i64(p, "limit", &x)) < 0)
		return nk_err_msg(err, EINVAL, "config.json: linux.resources.pids.limit must be a number");
	if (r > 0)
		l->pids = x <= 0 ? NK_UNLIMITED : (uint64_t)x;
	if ((r = nk_json_i64(b, "weight", &x)) < 0)
		return nk_err_msg(err, EINVAL, "config.json: linux.resources.blockIO.weight must be a number");
	if (r > 0)
		l->io_weight = nk_blkio_to_weight((uint32_t)(x < 0 ? 0 : x));
	return 0;
}

static char *annotation(json_object *root, const char *key)
{
	json_object *a;
	if (!json_object_object_get_ex(root, "annotations", &a))
		return NULL;
	return nk_json_dup_str(a, key);
}

int nk_spec_load(const char *json, struct nk_spec *s, struct nk_err *err)
{
	memset(s, 0, sizeof(*s));
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return nk_err_set(err, ENOMEM, "parsing config.json");
	json_object *root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return nk_err_msg(err, EINVAL, "config.json is not a valid JSON object: %s",
				  json_tokener_error_desc(jerr));
	}
	int r = 0, bad = 0;
	json_object *process, *rootobj, *lnx, *mounts;
	if (!json_object_object_get_ex(root, "process", &process)) {
		r = nk_err_msg(err, EINVAL, "config.json has no process");
		goto out;
	}
	s->args = nk_json_dup_strv(process, "args", &bad);
	s->env = nk_json_dup_strv(process, "env", &bad);
	s->cwd = nk_json_dup_str(process, "cwd");
	s->terminal = nk_json_bool(process, "terminal");
	s->no_new_privs = nk_json_bool(process, "noNewPrivileges");
	if (bad || !s->args || !s->args[0]) {
		r = nk_err_msg(err, EINVAL, "config.json: process.args must be a non-empty string array");
		goto out;
	}
	if (!s->cwd || s->cwd[0] != '/') {
		r = nk_err_msg(err, EINVAL, "config.json: process.cwd must be an absolute path");
		goto out;
	}
	if ((r = load_caps(process, s, err)) < 0 || (r = nk_spec_check_top(root, err)) < 0 ||
	    (r = nk_spec_load_process(process, s, err)) < 0 || (r = nk_spec_load_hooks(root, s, err)) < 0)
		goto out;
	s->oci_version = nk_json_dup_str(root, "ociVersion");
	s->domainname = nk_json_dup_str(root, "domainname");
	if (!json_object_object_get_ex(root, "root", &rootobj) || !(s->root_path = nk_json_dup_str(rootobj, "path"))) {
		r = nk_err_msg(err, EINVAL, "config.json has no root.path");
		goto out;
	}
	s->root_readonly = nk_json_bool(rootobj, "readonly");
	s->hostname = nk_json_dup_str(root, "hostname");
	if (json_object_object_get_ex(root, "mounts", &mounts)) {
		size_t n = json_object_array_length(mounts);
		s->mounts = calloc(n ? n : 1, sizeof(*s->mounts));
		for (size_t i = 0; s->mounts && i < n; i++) {
			s->mount_count++;
			if ((r = load_mount(json_object_array_get_idx(mounts, i), &s->mounts[i], err)) < 0)
				goto out;
		}
	}
	if (json_object_object_get_ex(root, "linux", &lnx)) {
		if ((r = load_namespaces(lnx, s, err)) < 0)
			goto out;
		s->masked_paths = nk_json_dup_strv(lnx, "maskedPaths", &bad);
		s->readonly_paths = nk_json_dup_strv(lnx, "readonlyPaths", &bad);
		if ((r = load_resources(lnx, &s->limits, err)) < 0 || (r = nk_spec_load_linux(lnx, s, err)) < 0)
			goto out;
	}
	s->name = annotation(root, "org.nook.name");
	s->image = annotation(root, "org.nook.image");
	char *flag = annotation(root, "org.nook.rm");
	s->remove = flag && !strcmp(flag, "true");
	free(flag);
	flag = annotation(root, "org.nook.stdin");
	s->open_stdin = flag && !strcmp(flag, "true");
	free(flag);
	s->network = annotation(root, "org.nook.network");
	s->profile = annotation(root, "org.nook.profile");
	flag = annotation(root, "org.nook.kind");
	s->vm = flag && !strcmp(flag, "vm");
	free(flag);
	flag = annotation(root, "org.nook.vm.cpus");
	s->vm_vcpus = flag ? (unsigned)strtoul(flag, NULL, 10) : 0;
	free(flag);
	s->vm_kernel = annotation(root, "org.nook.vm.kernel");
	s->vm_initrd = annotation(root, "org.nook.vm.initrd");
	s->vm_cmdline = annotation(root, "org.nook.vm.cmdline");
	s->vm_boot = annotation(root, "org.nook.vm.boot");
	s->vm_disk = annotation(root, "org.nook.vm.disk");
	flag = annotation(root, "org.nook.vm.disk_size");
	s->vm_disk_size = flag ? strtoull(flag, NULL, 10) : 0;
	free(flag);
	flag = annotation(root, "org.nook.vm.init");
	s->vm_nook_init = flag && !strcmp(flag, "nook");
	free(flag);
	s->seccomp_path = annotation(root, "org.nook.seccomp");
	flag = annotation(root, "org.nook.seccomp.notify");
	s->seccomp_notify = flag && !strcmp(flag, "true");
	free(flag);
	flag = annotation(root, "org.nook.seccomp.learn");
	s->seccomp_learn = flag && !strcmp(flag, "true");
	free(flag);
	char *ports = annotation(root, "org.nook.ports");
	for (char *port = ports ? strtok(ports, ",") : NULL; port; port = strtok(NULL, ",")) {
		if (s->port_count >= NK_PORTS_MAX || nk_port_parse(port, &s->ports[s->port_count], err) < 0) {
			free(ports);
			r = nk_err_prefix(err, "config.json: org.nook.ports");
			goto out;
		}
		s->port_count++;
	}
	free(ports);
	s->rootfs_lower = annotation(root, "org.nook.rootfs.lower");
	s->rootfs_upper = annotation(root, "org.nook.rootfs.upper");
	s->rootfs_work = annotation(root, "org.nook.rootfs.work");
	s->json = strdup(json);
out:
	json_object_put(root);
	if (r < 0)
		nk_spec_free(s);
	return r;
}

int nk_spec_load_file(const char *path, struct nk_spec *spec, struct nk_err *err)
{
	nk_autofree char *json = NULL;
	int r = nk_read_file(path, &json, NULL, err);
	if (r < 0)
		return r;
	r = nk_spec_load(json, spec, err);
	return r < 0 ? nk_err_prefix(err, "%s", path) : 0;
}

void nk_spec_free(struct nk_spec *s)
{
	free(s->name);
	free(s->image);
	nk_json_free_strv(s->args);
	nk_json_free_strv(s->env);
	free(s->cwd);
	free(s->hostname);
	free(s->root_path);
	free(s->network);
	free(s->profile);
	free(s->vm_kernel);
	free(s->vm_initrd);
	free(s->vm_cmdline);
	free(s->vm_boot);
	free(s->vm_disk);
	free(s->seccomp_path);
	free(s->rootfs_lower);
	free(s->rootfs_upper);
	free(s->rootfs_work);
	for (size_t i = 0; i < s->mount_count; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].destination);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	nk_json_free_strv(s->masked_paths);
	nk_json_free_strv(s->readonly_paths);
	nk_spec_free_extra(s);
	free(s->json);
	memset(s, 0, sizeof(*s));
}
