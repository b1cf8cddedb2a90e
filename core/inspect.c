/* The `inspect` document: an instance's spec, state and paths as one JSON object. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "instance.h"
#include "util.h"

int nk_inst_inspect(const struct nk_paths *paths, const char *name, char **json, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	char p[PATH_MAX];
	nk_autofree char *cfg_text = NULL, *state_text = NULL;
	if ((r = nk_path_instance(paths, name, "config.json", p, sizeof(p))) < 0 ||
	    (r = nk_read_file(p, &cfg_text, NULL, err)) < 0)
		return r;
	state_text = nk_state_to_json(&info.state);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "Name", json_object_new_string(info.name));
	json_object_object_add(o, "Kind", json_object_new_string(info.kind));
	json_object_object_add(o, "Image", json_object_new_string(info.image));
	json_object *st = state_text ? json_tokener_parse(state_text) : NULL;
	if (st) {
		char when[32];
		nk_time_iso(info.state.created_at, when, sizeof(when));
		json_object_object_add(st, "created", json_object_new_string(when));
		if (info.state.started_at) {
			nk_time_iso(info.state.started_at, when, sizeof(when));
			json_object_object_add(st, "started", json_object_new_string(when));
		}
		if (info.state.finished_at) {
			nk_time_iso(info.state.finished_at, when, sizeof(when));
			json_object_object_add(st, "finished", json_object_new_string(when));
		}
	}
	json_object_object_add(o, "State", st);
	json_object_object_add(o, "Config", json_tokener_parse(cfg_text));
	json_object *pa = json_object_new_object();
	if (nk_path_instance(paths, name, NULL, p, sizeof(p)) == 0)
		json_object_object_add(pa, "bundle", json_object_new_string(p));
	if (nk_path_instance(paths, name, "console.log", p, sizeof(p)) == 0)
		json_object_object_add(pa, "log", json_object_new_string(p));
	if (nk_path_socket(paths, name, p, sizeof(p)) == 0)
		json_object_object_add(pa, "socket", json_object_new_string(p));
	struct nk_cgroup cg;
	struct nk_err ignored;
	if (nk_cgroup_init(&cg, paths, name, &ignored) == 0) {
		json_object_object_add(pa, "cgroup", json_object_new_string(cg.relpath));
		json_object_object_add(pa, "cgroup_layout", json_object_new_string(cg.ops->layout));
	}
	json_object_object_add(o, "Paths", pa);
	struct nk_spec spec;
	if (nk_path_instance(paths, name, "config.json", p, sizeof(p)) == 0 && nk_spec_load_file(p, &spec, &ignored) == 0) {
		json_object *net = json_object_new_object();
		json_object_object_add(net, "network", json_object_new_string(spec.network ? spec.network : "none"));
		json_object_object_add(net, "ip", json_object_new_string(info.state.ip));
		json_object_object_add(net, "host_interface", json_object_new_string(info.state.host_if));
		json_object_object_add(o, "Network", net);
		json_object *warnings = json_object_new_array();
		if (spec.network && !strcmp(spec.network, "host"))
			json_object_array_add(warnings, json_object_new_string(
			    "--net host: the instance shares the host's network namespace; its network is not isolated"));
		if (!spec.vm && !spec.seccomp_path)
			json_object_array_add(warnings, json_object_new_string(
			    "no seccomp filter (unconfined): every system call reaches the host's kernel, checked only by "
			    "capabilities and namespaces"));
		json_object *sec = json_object_new_object();
		json_object_object_add(sec, "profile", json_object_new_string(spec.profile ? spec.profile : "-"));
		json_object_object_add(sec, "seccomp", json_object_new_string(spec.seccomp_path ? spec.seccomp_path : "none"));
		json_object_object_add(sec, "seccomp_notify", json_object_new_boolean(spec.seccomp_notify));
		char caps[1024];
		nk_caps_format(spec.cap_effective, caps, sizeof(caps));
		json_object_object_add(sec, "capabilities", json_object_new_string(caps));
		json_object_object_add(sec, "no_new_privileges", json_object_new_boolean(spec.no_new_privs));
		json_object_object_add(sec, "readonly_root", json_object_new_boolean(spec.root_readonly));
		json_object_object_add(o, "Security", sec);
		char *kvm = NULL;
		json_object *sandbox = NULL, *boot = NULL;
		if (spec.vm && info.state.status == NK_RUNNING && nk_inst_kvm_stats(paths, name, &kvm, &ignored) == 0) {
			json_object *k = json_tokener_parse(kvm);
			/* The monitor answers with its VMM's sandbox and boot protocol too: those
			 * belong under "VM". */
			if (k && json_object_object_get_ex(k, "sandbox", &sandbox)) {
				json_object_get(sandbox);
				json_object_object_del(k, "sandbox");
			}
			if (k && json_object_object_get_ex(k, "boot_protocol", &boot)) {
				json_object_get(boot);
				json_object_object_del(k, "boot_protocol");
			}
			json_object_object_add(o, "KVM", k);
			free(kvm);
		}
		if (spec.vm) {
			json_object *v = json_object_new_object();
			json_object_object_add(v, "kernel", json_object_new_string(spec.vm_kernel ? spec.vm_kernel : "-"));
			json_object_object_add(v, "vcpus", json_object_new_int((int)(spec.vm_vcpus ? spec.vm_vcpus : 1)));
			long cores = sysconf(_SC_NPROCESSORS_ONLN);
			json_object_object_add(v, "host_cores", json_object_new_int((int)cores));
			if ((long)spec.vm_vcpus > cores)
				json_object_array_add(warnings, json_object_new_string(
				    "more vCPUs than the host has cores: they share the cores (allowed, but slower)"));
			json_object_object_add(v, "memory_bytes",
					       json_object_new_int64((int64_t)(spec.limits.memory ? spec.limits.memory : 256ull << 20)));
			if (spec.vm_initrd)
				json_object_object_add(v, "initrd", json_object_new_string(spec.vm_initrd));
			if (spec.vm_disk) {
				struct stat dst;
				json_object_object_add(v, "disk", json_object_new_string(spec.vm_disk));
				/* Made on the first start: no size before that. */
				if (stat(spec.vm_disk, &dst) == 0) {
					json_object_object_add(v, "disk_bytes", json_object_new_int64((int64_t)dst.st_size));
					json_object_object_add(v, "disk_allocated_bytes",
							       json_object_new_int64((int64_t)dst.st_blocks * 512));
				}
			}
			json_object_object_add(v, "boot", json_object_new_string(spec.vm_boot ? spec.vm_boot : "auto"));
			if (boot)
				json_object_object_add(v, "boot_protocol", boot);
			if (sandbox)
				json_object_object_add(v, "sandbox", sandbox);
			json_object_object_add(o, "VM", v);
		}
		json_object_object_add(o, "Warnings", warnings);
		nk_spec_free(&spec);
	}
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	*json = s ? strdup(s) : NULL;
	json_object_put(o);
	return *json ? 0 : nk_err_set(err, ENOMEM, "building the inspect document");
}
