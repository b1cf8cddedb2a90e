/* The OCI features document: what this runtime honours (runtime-spec features.md). */
#include <json-c/json.h>
#include <string.h>

#include "oci.h"
#include "util.h"

static json_object *strings(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

char *nk_oci_features_json(void)
{
	static const char *const hooks[] = {"prestart", "createRuntime", "createContainer", "startContainer",
					    "poststart", "poststop"};
	static const char *const mount_options[] = {"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
						    "noatime", "relatime", "strictatime", "nodiratime", "bind", "rbind",
						    "private", "rprivate"};
	static const char *const namespaces[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
	static const char *const actions[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
					      "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
					      "SCMP_ACT_LOG"};
	static const char *const operators[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
						"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
	static const char *const archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
	json_object *o = json_object_new_object(), *lnx = json_object_new_object();
	json_object *cg = json_object_new_object(), *sec = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string(NK_OCI_VERSION));
	json_object_object_add(o, "hooks", strings(hooks, NK_ARRAY_SIZE(hooks)));
	json_object_object_add(o, "mountOptions", strings(mount_options, NK_ARRAY_SIZE(mount_options)));
	json_object_object_add(lnx, "namespaces", strings(namespaces, NK_ARRAY_SIZE(namespaces)));
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(lnx, "cgroup", cg);
	json_object_object_add(sec, "enabled", json_object_new_boolean(1));
	json_object_object_add(sec, "actions", strings(actions, NK_ARRAY_SIZE(actions)));
	json_object_object_add(sec, "operators", strings(operators, NK_ARRAY_SIZE(operators)));
	json_object_object_add(sec, "archs", strings(archs, NK_ARRAY_SIZE(archs)));
	json_object_object_add(lnx, "seccomp", sec);
	json_object *aa = json_object_new_object(), *se = json_object_new_object();
	json_object_object_add(aa, "enabled", json_object_new_boolean(0));
	json_object_object_add(se, "enabled", json_object_new_boolean(0));
	json_object_object_add(lnx, "apparmor", aa);
	json_object_object_add(lnx, "selinux", se);
	json_object_object_add(o, "linux", lnx);
	json_object *ann = json_object_new_object();
	json_object_object_add(ann, "org.nook.runtime", json_object_new_string("nook"));
	json_object_object_add(o, "annotations", ann);
	char *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
