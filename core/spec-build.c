/* Build an OCI runtime-spec config.json from run options and an image's defaults. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "spec.h"
#include "util.h"
#include "vm-disk.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Paths Docker masks and makes read-only; nook uses the same lists so habits carry over. */
static const char *const masked_paths[] = {
    "/proc/asound",       "/proc/acpi",        "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",         "/sys/firmware",     "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_object *str_array(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

static json_object *mount_obj(const char *dest, const char *type, const char *source,
			      const char *const *options, size_t n_options)
{
	json_object *m = json_object_new_object();
	add_str(m, "destination", dest);
	add_str(m, "type", type);
	add_str(m, "source", source);
	json_object_object_add(m, "options", str_array(options, n_options));
	return m;
}

/* The files nook writes for each instance and binds over the image's own. */
static void add_etc_binds(json_object *a, const char *instance_dir)
{
	static const char *const files[] = {"hosts", "hostname", "resolv.conf"};
	static const char *const bind_opts[] = {"rbind", "rprivate"};
	char src[4096], dest[64];
	for (size_t i = 0; i < NK_ARRAY_SIZE(files); i++) {
		if (nk_fmt(src, sizeof(src), "%s/etc/%s", instance_dir, files[i]) < 0)
			continue;
		snprintf(dest, sizeof(dest), "/etc/%s", files[i]);
		json_object_array_add(a, mount_obj(dest, "bind", src, bind_opts, NK_ARRAY_SIZE(bind_opts)));
	}
}

static json_object *build_mounts(const struct nk_run_opts *opts, const char *instance_dir, int host_net)
{
	static const char *const proc_opts[] = {"nosuid", "noexec", "nodev"};
	static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
	static const char *const pts_opts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
					       "mode=0620", "gid=5"};
	static const char *const shm_opts[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"};
	static const char *const mq_opts[] = {"nosuid", "noexec", "nodev"};
	static const char *const sys_opts[] = {"nosuid", "noexec", "nodev", "ro"};
	json_object *a = json_object_new_array();
	json_object_array_add(a, mount_obj("/proc", "proc", "proc", proc_opts, NK_ARRAY_SIZE(proc_opts)));
	json_object_array_add(a, mount_obj("/dev", "tmpfs", "tmpfs", dev_opts, NK_ARRAY_SIZE(dev_opts)));
	json_object_array_add(a, mount_obj("/dev/pts", "devpts", "devpts", pts_opts, NK_ARRAY_SIZE(pts_opts)));
	json_object_array_add(a, mount_obj("/dev/shm", "tmpfs", "shm", shm_opts, NK_ARRAY_SIZE(shm_opts)));
	json_object_array_add(a, mount_obj("/dev/mqueue", "mqueue", "mqueue", mq_opts, NK_ARRAY_SIZE(mq_opts)));
	json_object_array_add(a, mount_obj("/sys", "sysfs", "sysfs", sys_opts, NK_ARRAY_SIZE(sys_opts)));
	if (!host_net)
		add_etc_binds(a, instance_dir);
	const struct nk_plan *plan = opts->plan;
	for (size_t i = 0; plan && i < plan->mount_count; i++) {
		const struct nk_plan_mount *m = &plan->mounts[i];
		if (m->tmpfs) {
			const char *o[] = {"nosuid", "nodev", m->readonly ? "ro" : "rw", m->options[0] ? m->options : "mode=755"};
			json_object_array_add(a, mount_obj(m->dest, "tmpfs", "tmpfs", o, 4));
		} else {
			const char *o[] = {"rbind", "rprivate", m->readonly ? "ro" : "rw"};
			json_object_array_add(a, mount_obj(m->dest, "bind", m->source, o, 3));
		}
	}
	for (size_t i = 0; i < opts->volume_count; i++) {
		const struct nk_volume *v = &opts->volumes[i];
		const char *vol_opts[] = {"rbind", "rprivate", v->readonly ? "ro" : "rw"};
		json_object_array_add(a, mount_obj(v->dest, "bind", v->source, vol_opts, 3));
	}
	return a;
}

/* Replace or append NAME=... in a NULL-terminated growing list. */
static void env_set(const char **list, size_t *n, const char *entry)
{
	size_t key = strcspn(entry, "=");
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(list[i], entry, key) == 0 && (list[i][key] == '=' || list[i][key] == '\0')) {
			list[i] = entry;
			return;
		}
	}
	list[(*n)++] = entry;
}

static json_object *build_process(const struct nk_run_opts *opts, const struct nk_image *img)
{
	json_object *p = json_object_new_object();
	json_object_object_add(p, "terminal", json_object_new_boolean(opts->tty));
	json_object *user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", user);

	json_object *args = json_object_new_array();
	char *const *ep = img->defaults.entrypoint;
	for (size_t i = 0; ep && ep[i]; i++)
		json_object_array_add(args, json_object_new_string(ep[i]));
	if (opts->cmd_count > 0) {
		for (int i = 0; i < opts->cmd_count; i++)
			json_object_array_add(args, json_object_new_string(opts->cmd[i]));
	} else if (img->defaults.cmd) {
		for (size_t i = 0; img->defaults.cmd[i]; i++)
			json_object_array_add(args, json_object_new_string(img->defaults.cmd[i]));
	}
	if (json_object_array_length(args) == 0)
		json_object_array_add(args, json_object_new_string("/bin/sh"));
	json_object_object_add(p, "args", args);

	size_t cap = 4 + opts->env_count;
	for (size_t i = 0; img->defaults.env && img->defaults.env[i]; i++)
		cap++;
	for (size_t i = 0; opts->plan && opts->plan->env[i]; i++)
		cap++;
	const char **env = calloc(cap, sizeof(*env));
	size_t n = 0;
	if (env) {
		env_set(env, &n, DEFAULT_PATH);
		if (opts->tty)
			env_set(env, &n, "TERM=xterm");
		for (size_t i = 0; img->defaults.env && img->defaults.env[i]; i++)
			env_set(env, &n, img->defaults.env[i]);
		for (size_t i = 0; opts->plan && opts->plan->env[i]; i++)
			env_set(env, &n, opts->plan->env[i]);
		for (size_t i = 0; i < opts->env_count; i++)
			env_set(env, &n, opts->env[i]);
		json_object_object_add(p, "env", str_array(env, n));
		free(env);
	}
	const char *cwd = opts->workdir ? opts->workdir
			  : opts->plan && opts->plan->workdir[0] ? opts->plan->workdir
			  : img->defaults.workdir && *img->defaults.workdir ? img->defaults.workdir : "/";
	add_str(p, "cwd", cwd);

	const char *caps[64];
	size_t ncaps = 0;
	if (opts->plan) {
		for (int c = 0; c < 64; c++)
			if ((opts->plan->caps & (1ull << c)) && nk_cap_name(c))
				caps[ncaps++] = nk_cap_name(c);
	} else {
		while (nk_caps_default[ncaps])
			caps[ncaps] = nk_caps_default[ncaps], ncaps++;
	}
	json_object *c = json_object_new_object();
	json_object_object_add(c, "bounding", str_array(caps, ncaps));
	json_object_object_add(c, "effective", str_array(caps, ncaps));
	json_object_object_add(c, "permitted", str_array(caps, ncaps));
	json_object_object_add(p, "capabilities", c);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	return p;
}

static json_object *build_resources(const struct nk_limits *l)
{
	json_object *res = json_object_new_object();
	if (l->memory) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "limit", json_object_new_int64((int64_t)l->memory));
		/* Docker's default: no swap beyond the memory limit. */
		uint64_t swap = l->memory_swap ? l->memory_swap : l->memory;
		json_object_object_add(m, "swap", json_object_new_int64(swap == NK_UNLIMITED ? -1 : (int64_t)swap));
		json_object_object_add(res, "memory", m);
	}
	if (l->cpu_quota_us || l->cpuset[0] || l->cpu_weight) {
		json_object *c = json_object_new_object();
		if (l->cpu_quota_us) {
			json_object_object_add(c, "quota", json_object_new_int64((int64_t)l->cpu_quota_us));
			json_object_object_add(c, "period", json_object_new_int64(NK_CPU_PERIOD_US));
		}
		if (l->cpuset[0])
			add_str(c, "cpus", l->cpuset);
		if (l->cpu_weight)
			json_object_object_add(c, "shares", json_object_new_int64((int64_t)nk_weight_to_shares(l->cpu_weight)));
		json_object_object_add(res, "cpu", c);
	}
	if (l->pids) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "limit", json_object_new_int64(l->pids == NK_UNLIMITED ? -1 : (int64_t)l->pids));
		json_object_object_add(res, "pids", p);
	}
	if (l->io_weight) {
		json_object *b = json_object_new_object();
		json_object_object_add(b, "weight", json_object_new_int((int)nk_weight_to_blkio(l->io_weight)));
		json_object_object_add(res, "blockIO", b);
	}
	return res;
}

static json_object *path_list(const char *const *defaults, size_t n, char **extra)
{
	json_object *a = str_array(defaults, n);
	for (size_t i = 0; extra && extra[i]; i++)
		json_object_array_add(a, json_object_new_string(extra[i]));
	return a;
}

static json_object *build_linux(const struct nk_limits *limits, int host_net, const struct nk_plan *plan)
{
	static const char *const ns[] = {"pid", "ipc", "uts", "mount", "cgroup", "network"};
	json_object *l = json_object_new_object();
	json_object *a = json_object_new_array();
	/* --net host shares the host's network namespace: the last entry is left out. */
	for (size_t i = 0; i < NK_ARRAY_SIZE(ns) - (host_net ? 1 : 0); i++) {
		json_object *o = json_object_new_object();
		add_str(o, "type", ns[i]);
		json_object_array_add(a, o);
	}
	json_object_object_add(l, "namespaces", a);
	json_object_object_add(l, "maskedPaths", path_list(masked_paths, NK_ARRAY_SIZE(masked_paths),
							      plan ? plan->masked : NULL));
	json_object_object_add(l, "readonlyPaths", path_list(readonly_paths, NK_ARRAY_SIZE(readonly_paths),
								plan ? plan->readonly : NULL));
	json_object_object_add(l, "resources", build_resources(limits));
	return l;
}

int nk_spec_build(const struct nk_run_opts *opts, const char *name, const struct nk_image *img,
		  const char *instance_dir, char **json_out, struct nk_err *err)
{
	char path[4096];
	if (opts->vm && img->is_host)
		return nk_err_msg(err, EINVAL, "the host image cannot be a VM's root disk: use busybox or an imported "
				  "image with --vm");
	json_object *root = json_object_new_object();
	if (!root)
		return nk_err_set(err, ENOMEM, "building config.json");
	add_str(root, "ociVersion", "1.0.2");
	json_object_object_add(root, "process", build_process(opts, img));

	json_object *r = json_object_new_object();
	if (nk_fmt(path, sizeof(path), "%s/rootfs", instance_dir) < 0)
		goto too_long;
	add_str(r, "path", path);
	json_object_object_add(r, "readonly", json_object_new_boolean(opts->plan && opts->plan->readonly_root));
	json_object_object_add(root, "root", r);
	add_str(root, "hostname", opts->hostname ? opts->hostname : name);
	const char *network = !opts->network || !strcmp(opts->network, "bridge") ? "nook" : opts->network;
	int host_net = !strcmp(network, "host");
	json_object_object_add(root, "mounts", build_mounts(opts, instance_dir, host_net));
	json_object_object_add(root, "linux", build_linux(&opts->limits, host_net, opts->plan));

	json_object *ann = json_object_new_object();
	add_str(ann, "org.nook.name", name);
	add_str(ann, "org.nook.image", img->name);
	add_str(ann, "org.nook.kind", opts->vm ? "vm" : "container");
	if (opts->vm) {
		char cpus[16];
		snprintf(cpus, sizeof(cpus), "%u", opts->vm_vcpus ? opts->vm_vcpus : 1);
		add_str(ann, "org.nook.vm.cpus", cpus);
		if (opts->vm_kernel)
			add_str(ann, "org.nook.vm.kernel", opts->vm_kernel);
		if (opts->vm_initrd)
			add_str(ann, "org.nook.vm.initrd", opts->vm_initrd);
		if (opts->vm_cmdline)
			add_str(ann, "org.nook.vm.cmdline", opts->vm_cmdline);
		if (opts->vm_boot)
			add_str(ann, "org.nook.vm.boot", opts->vm_boot);
		/* The root disk: the image's rootfs as ext4, made with the instance (instance.c). */
		if (nk_fmt(path, sizeof(path), "%s/" NK_VM_DISK_FILE, instance_dir) < 0)
			goto too_long;
		add_str(ann, "org.nook.vm.disk", path);
		if (opts->vm_disk_size) {
			char size[32];
			snprintf(size, sizeof(size), "%llu", (unsigned long long)opts->vm_disk_size);
			add_str(ann, "org.nook.vm.disk_size", size);
		}
		if (opts->plan && opts->plan->vm_nook_init)
			add_str(ann, "org.nook.vm.init", "nook");
	}
	add_str(ann, "org.nook.rm", opts->remove ? "true" : "false");
	add_str(ann, "org.nook.stdin", opts->interactive ? "true" : "false");
	add_str(ann, "org.nook.network", network);
	if (opts->plan) {
		add_str(ann, "org.nook.profile", opts->plan->profile);
		if (opts->plan->seccomp_path[0]) {
			if (nk_fmt(path, sizeof(path), "%s/seccomp.json", instance_dir) < 0)
				goto too_long;
			add_str(ann, "org.nook.seccomp", path);
			add_str(ann, "org.nook.seccomp.notify", opts->plan->seccomp_notify ? "true" : "false");
			if (opts->plan->seccomp_learn)
				add_str(ann, "org.nook.seccomp.learn", "true");
		}
	}
	if (opts->port_count) {
		char ports[NK_PORTS_MAX * 40] = "", one[40];
		for (size_t i = 0; i < opts->port_count; i++) {
			nk_port_format(&opts->ports[i], one, sizeof(one));
			strcat(ports, i ? "," : "");
			strcat(ports, one);
		}
		add_str(ann, "org.nook.ports", ports);
	}
	add_str(ann, "org.nook.rootfs.lower", img->rootfs);
	if (nk_fmt(path, sizeof(path), "%s/upper", instance_dir) < 0)
		goto too_long;
	add_str(ann, "org.nook.rootfs.upper", path);
	if (nk_fmt(path, sizeof(path), "%s/work", instance_dir) < 0)
		goto too_long;
	add_str(ann, "org.nook.rootfs.work", path);
	json_object_object_add(root, "annotations", ann);

	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	*json_out = s ? strdup(s) : NULL;
	json_object_put(root);
	if (!*json_out)
		return nk_err_set(err, ENOMEM, "building config.json");
	return 0;
too_long:
	json_object_put(root);
	return nk_err_msg(err, ENAMETOOLONG, "instance path too long: %s", instance_dir);
}
