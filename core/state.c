/* An instance's state.json: read, written atomically, guarded by a per-instance lock. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util.h"

static const char *const status_names[] = {"created", "running", "paused", "stopped"};

const char *nk_status_name(enum nk_status s)
{
	return (unsigned)s < NK_ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

char *nk_state_to_json(const struct nk_state *st)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "status", json_object_new_string(nk_status_name(st->status)));
	json_object_object_add(o, "monitor_pid", json_object_new_int(st->monitor_pid));
	json_object_object_add(o, "monitor_start", json_object_new_uint64(st->monitor_start));
	json_object_object_add(o, "init_pid", json_object_new_int(st->init_pid));
	json_object_object_add(o, "init_start", json_object_new_uint64(st->init_start));
	json_object_object_add(o, "created_at", json_object_new_int64(st->created_at));
	json_object_object_add(o, "started_at", json_object_new_int64(st->started_at));
	json_object_object_add(o, "finished_at", json_object_new_int64(st->finished_at));
	json_object_object_add(o, "exit_code", json_object_new_int(st->exit_code));
	json_object_object_add(o, "oom_kills", json_object_new_uint64(st->oom_kills));
	json_object_object_add(o, "exit_reason", json_object_new_string(st->exit_reason));
	json_object_object_add(o, "error", json_object_new_string(st->error));
	json_object_object_add(o, "ephemeral", json_object_new_boolean(st->ephemeral));
	json_object_object_add(o, "ip", json_object_new_string(st->ip));
	json_object_object_add(o, "host_if", json_object_new_string(st->host_if));
	if (st->timeline.vm_count) {
		json_object *t = json_object_new_object();
		for (unsigned i = 0; i < st->timeline.vm_count && i < NK_VM_PHASES; i++)
			json_object_object_add(t, st->timeline.vm[i].name, json_object_new_int64(st->timeline.vm[i].us));
		json_object_object_add(o, "vm_timings_us", t);
	} else if (st->timeline.start_ns) {
		/* Phase durations in microseconds, in start order. */
		json_object *t = json_object_new_object();
		for (int p = 0; p < NK_PHASE_COUNT; p++)
			if (st->timeline.at_ns[p])
				json_object_object_add(t, nk_phase_name((enum nk_phase)p),
						       json_object_new_int64((int64_t)(st->timeline.at_ns[p] - st->timeline.start_ns) / 1000));
		json_object_object_add(o, "timings_us", t);
	}
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	char *out = s ? strdup(s) : NULL;
	json_object_put(o);
	return out;
}

static void copy_str(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

int nk_state_from_json(const char *json, struct nk_state *st, struct nk_err *err)
{
	memset(st, 0, sizeof(*st));
	json_object *o = json_tokener_parse(json);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return nk_err_msg(err, EINVAL, "state.json is not a JSON object");
	}
	json_object *v;
	int found = 0;
	if (json_object_object_get_ex(o, "status", &v)) {
		const char *s = json_object_get_string(v);
		for (size_t i = 0; s && i < NK_ARRAY_SIZE(status_names); i++)
			if (!strcmp(s, status_names[i])) {
				st->status = (enum nk_status)i;
				found = 1;
			}
	}
	if (!found) {
		json_object_put(o);
		return nk_err_msg(err, EINVAL, "state.json has no valid status");
	}
#define GET(key, field, fn) \
	if (json_object_object_get_ex(o, key, &v)) \
	st->field = fn(v)
	GET("monitor_pid", monitor_pid, json_object_get_int);
	GET("monitor_start", monitor_start, json_object_get_uint64);
	GET("init_pid", init_pid, json_object_get_int);
	GET("init_start", init_start, json_object_get_uint64);
	GET("created_at", created_at, json_object_get_int64);
	GET("started_at", started_at, json_object_get_int64);
	GET("finished_at", finished_at, json_object_get_int64);
	GET("exit_code", exit_code, json_object_get_int);
	GET("oom_kills", oom_kills, json_object_get_uint64);
	GET("ephemeral", ephemeral, json_object_get_boolean);
#undef GET
	copy_str(o, "exit_reason", st->exit_reason, sizeof(st->exit_reason));
	copy_str(o, "error", st->error, sizeof(st->error));
	copy_str(o, "ip", st->ip, sizeof(st->ip));
	copy_str(o, "host_if", st->host_if, sizeof(st->host_if));
	json_object *t;
	if (json_object_object_get_ex(o, "vm_timings_us", &t)) {
		json_object_object_foreach(t, key, val) {
			if (st->timeline.vm_count >= NK_VM_PHASES)
				break;
			struct nk_vm_phase *ph = &st->timeline.vm[st->timeline.vm_count++];
			snprintf(ph->name, sizeof(ph->name), "%s", key);
			ph->us = (uint32_t)json_object_get_int64(val);
		}
		st->timeline.start_ns = 1;
	}
	if (json_object_object_get_ex(o, "timings_us", &t)) {
		/* Kept relative to a start of 1 ns, so durations survive the round trip. */
		st->timeline.start_ns = 1;
		for (int p = 0; p < NK_PHASE_COUNT; p++)
			if (json_object_object_get_ex(t, nk_phase_name((enum nk_phase)p), &v))
				st->timeline.at_ns[p] = 1 + (uint64_t)json_object_get_int64(v) * 1000;
	}
	json_object_put(o);
	return 0;
}

int nk_state_read(const struct nk_paths *paths, const char *name, struct nk_state *st,
		  struct nk_err *err)
{
	char path[4096];
	if (nk_path_instance(paths, name, "state.json", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long for %s", name);
	nk_autofree char *json = NULL;
	int r = nk_read_file(path, &json, NULL, err);
	if (r < 0)
		return r;
	r = nk_state_from_json(json, st, err);
	return r < 0 ? nk_err_prefix(err, "%s", path) : 0;
}

int nk_state_write(const struct nk_paths *paths, const char *name, const struct nk_state *st,
		   struct nk_err *err)
{
	char path[4096];
	if (nk_path_instance(paths, name, "state.json", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long for %s", name);
	nk_autofree char *json = nk_state_to_json(st);
	if (!json)
		return nk_err_set(err, ENOMEM, "serialising state of %s", name);
	if (st->ephemeral)
		return nk_write_file_replace(path, json, strlen(json), 0600, err);
	return nk_write_file_atomic(path, json, strlen(json), 0600, err);
}

int nk_state_lock(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	char path[4096];
	if (nk_path_instance(paths, name, "lock", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long for %s", name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == ENOENT ? nk_err_msg(err, ENOENT, "no such instance: %s", name)
				       : nk_err_set(err, errno, "cannot open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return nk_err_set(err, e, "cannot lock %s", path);
		}
	}
	return fd;
}
