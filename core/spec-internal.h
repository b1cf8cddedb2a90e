/* Shared by the parts of the config.json loader (spec-load.c, spec-process.c, spec-linux.c). */
#ifndef NOOK_SPEC_INTERNAL_H
#define NOOK_SPEC_INTERNAL_H

#include <json-c/json.h>
#include <stdint.h>

#include "err.h"
#include "spec.h"

/* obj[key] as a malloc'd string; NULL when absent or not a string. */
char *nk_json_dup_str(json_object *o, const char *key);
int nk_json_bool(json_object *o, const char *key);
/* obj[key] as a NULL-terminated string array; *bad set when it is not one. */
char **nk_json_dup_strv(json_object *o, const char *key, int *bad);
void nk_json_free_strv(char **v);
/* 0 when absent, 1 when read, -EINVAL when not an integer. */
int nk_json_i64(json_object *o, const char *key, int64_t *out);

/* process.user, rlimits, oomScoreAdj, consoleSize; refuses what nook cannot honour. */
int nk_spec_load_process(json_object *process, struct nk_spec *s, struct nk_err *err) NK_MUST_CHECK;
/* linux.devices, resources.devices, sysctl, cgroupsPath, seccomp, and the keys refused. */
int nk_spec_load_linux(json_object *lnx, struct nk_spec *s, struct nk_err *err) NK_MUST_CHECK;
/* hooks.* */
int nk_spec_load_hooks(json_object *root, struct nk_spec *s, struct nk_err *err) NK_MUST_CHECK;
/* Top-level keys: everything nook does not know is refused. */
int nk_spec_check_top(json_object *root, struct nk_err *err) NK_MUST_CHECK;
void nk_spec_free_extra(struct nk_spec *s);

#endif
