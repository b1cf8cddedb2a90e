/* `nook drill`: a throwaway instance with the agent bound in, run to the end, read back
 * (console, events.log, spec, state), classified, removed. */
#include "drill-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "instance.h"
#include "spec.h"
#include "util.h"

#define AGENT_DEST "/.nook-drill-agent"
#define DRILL_PIDS "48"
#define DRILL_MEMORY "32M"
#define DRILL_TIMEOUT_S 60

int nk_drill_agent_path(char *out, size_t size, struct nk_err *err)
{
	const char *env = getenv("NOOK_DRILL_AGENT");
	if (env && *env) {
		if (access(env, X_OK) < 0)
			return nk_err_set(err, errno, "NOOK_DRILL_AGENT=%s", env);
		snprintf(out, size, "%s", env);
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		/* Built tree: ./nook beside build/; installed: PREFIX/bin/nook beside PREFIX/libexec. */
		const char *rel[] = {"build/drill-agent", "../libexec/nook/drill-agent"};
		for (size_t i = 0; i < NK_ARRAY_SIZE(rel); i++) {
			if ((size_t)snprintf(out, size, "%s/%s", self, rel[i]) >= size)
				continue;
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	return nk_err_msg(err, ENOENT, "the drill agent is missing: run `make` (it builds build/drill-agent), "
				       "or set NOOK_DRILL_AGENT to its path");
}

/* Asked of ourselves (a getpid, harmless). */
int nk_drill_host_i386(void)
{
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret > 0;
#else
	return 0;
#endif
}

int nk_drill_buf_add(struct nk_drill_buf *b, const char *data, size_t len)
{
	char *grown = realloc(b->data, b->len + len + 1);
	if (!grown)
		return -ENOMEM;
	memcpy(grown + b->len, data, len);
	b->len += len;
	grown[b->len] = '\0';
	b->data = grown;
	return 0;
}

static uint64_t oom_now(struct nk_cgroup *cg)
{
	struct nk_cgroup_stats st;
	nk_cgroup_read_once(cg, &st);
	return st.oom_kills;
}

/* The agent's lines as they arrive on the attached connection, until the instance ends.
 * OOM kills are counted while the cgroup still exists (the memory hog's line comes after
 * its kill, before the instance ends). */
static int follow(int fd, struct nk_cgroup *cg, struct nk_drill_buf *out, uint64_t *oom_kills, const char *name,
		  struct nk_err *err)
{
	uint64_t deadline = nk_now_ns() + (uint64_t)DRILL_TIMEOUT_S * 1000000000ull;
	static char buf[NK_CTL_MAX_PAYLOAD];
	for (;;) {
		uint64_t now = nk_now_ns();
		if (now >= deadline)
			return nk_err_msg(err, ETIMEDOUT, "the drill in %s did not finish within %d s", name,
					  DRILL_TIMEOUT_S);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
		if (n < 0 && errno != EINTR)
			return nk_err_set(err, errno, "waiting for the drill in %s", name);
		if (n <= 0)
			continue;
		struct nk_ctl_hdr h;
		ssize_t len = nk_ctl_recv(fd, &h, buf, sizeof(buf));
		if (len < 0 || h.type == NK_CTL_EXIT)
			return 0;
		if (h.type == NK_CTL_STDOUT || h.type == NK_CTL_STDERR) {
			if (nk_drill_buf_add(out, buf, (size_t)len) < 0)
				return nk_err_set(err, ENOMEM, "keeping the drill's output");
			uint64_t oom = oom_now(cg);
			if (oom > *oom_kills)
				*oom_kills = oom;
		}
	}
}

/* Everything after the instance exists. It is created --rm: its monitor removes it when the
 * agent is done, even if this process is killed on the way; the caller removes it only
 * when it never started. The feed's events.log is opened first, so it can be read after
 * the instance is gone. */
static int drill_in(const struct nk_paths *paths, const char *name, struct nk_drill_report *rep, int *started,
		    struct nk_err *err)
{
	char path[PATH_MAX];
	struct nk_spec spec;
	memset(&spec, 0, sizeof(spec));
	int r;
	if (nk_path_instance(paths, name, "config.json", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "instance path too long");
	if ((r = nk_spec_load_file(path, &spec, err)) < 0)
		return r;
	struct nk_drill_ctx ctx = {
	    .cap_eff = spec.cap_effective,
	    .seccomp = spec.seccomp_path && *spec.seccomp_path,
	    .seccomp_feed = spec.seccomp_notify,
	    .host_i386 = nk_drill_host_i386(),
	    .pids_limit = spec.limits.pids,
	    .memory_limit = spec.limits.memory,
	};
	nk_spec_free(&spec);
	if (nk_path_instance(paths, name, "events.log", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "instance path too long");
	int events_fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (events_fd < 0)
		return nk_err_set(err, errno, "cannot open %s", path);
	struct nk_cgroup cg;
	if ((r = nk_cgroup_init(&cg, paths, name, err)) < 0) {
		close(events_fd);
		return r;
	}
	int fd = -1;
	struct nk_drill_buf out = {0}, events = {0};
	r = nk_inst_start(paths, name, NK_ATTACH_OUTPUT, &fd, err);
	if (r == 0) {
		*started = 1;
		r = follow(fd, &cg, &out, &ctx.oom_kills, name, err);
		close(fd);
	}
	char buf[4096];
	ssize_t n;
	while (r == 0 && (n = read(events_fd, buf, sizeof(buf))) > 0)
		if (nk_drill_buf_add(&events, buf, (size_t)n) < 0)
			r = nk_err_set(err, ENOMEM, "keeping the drill's seccomp events");
	close(events_fd);
	if (r == 0)
		r = nk_drill_classify(out.data, events.data, &ctx, rep, err);
	free(out.data);
	free(events.data);
	return r;
}

/* A drill killed between creating its instance and starting it leaves a created one behind
 * (once started, its monitor removes it): its name says whose it was. */
static void forget_orphan(const struct nk_instance_info *info, void *opaque)
{
	const struct nk_paths *paths = opaque;
	int pid;
	char rest[32];
	if (info->state.status != NK_CREATED || sscanf(info->name, "drill-%d-%31s", &pid, rest) != 2 || pid <= 0 ||
	    pid == getpid())
		return;
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	if (access(proc, F_OK) == 0)
		return;
	struct nk_err ignored;
	(void)!nk_inst_remove(paths, info->name, 1, &ignored);
}

int nk_drill_run(const struct nk_paths *paths, const struct nk_drill_opts *opts, struct nk_drill_report *rep,
		 struct nk_err *err)
{
	memset(rep, 0, sizeof(*rep));
	struct nk_instance_info existing;
	struct nk_err ignored;
	if (nk_inst_get(paths, opts->image, &existing, &ignored) == 0)
		return nk_drill_live(paths, opts, &existing, rep, err);
	struct nk_volume vol = {.readonly = 1};
	snprintf(vol.dest, sizeof(vol.dest), "%s", AGENT_DEST);
	int r = nk_drill_agent_path(vol.source, sizeof(vol.source), err);
	if (r < 0)
		return r;
	char *cmd[] = {(char *)AGENT_DEST, NULL};
	struct nk_run_opts ro = {
	    .image = opts->image,
	    .cmd = cmd,
	    .cmd_count = 1,
	    .detach = 1,
	    .remove = 1,
	    .volumes = &vol,
	    .volume_count = 1,
	    .network = "none",
	    .profile = opts->profile,
	    .seccomp_notify_force = 1,
	};
	if ((r = nk_limits_set_pids(&ro.limits, DRILL_PIDS, err)) < 0 ||
	    (r = nk_limits_set_memory(&ro.limits, DRILL_MEMORY, err)) < 0)
		return r;
	struct nk_err ignored2;
	(void)!nk_inst_list(paths, forget_orphan, (void *)paths, &ignored2);
	char name[64], wanted[64];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(wanted, sizeof(wanted), "drill-%d-%lx", (int)getpid(), (unsigned long)(now.tv_nsec & 0xfffff));
	ro.name = wanted;
	if ((r = nk_inst_create(paths, &ro, name, sizeof(name), err)) < 0)
		return r;
	snprintf(rep->instance, sizeof(rep->instance), "%s", name);
	snprintf(rep->image, sizeof(rep->image), "%s", opts->image);
	snprintf(rep->profile, sizeof(rep->profile), "%s", opts->profile ? opts->profile : "default");
	int started = 0;
	r = drill_in(paths, name, rep, &started, err);
	/* Started, its monitor removes it (a timeout kills it first); never started, we do. */
	struct nk_err rm_err;
	if ((!started || r < 0) && nk_inst_remove(paths, name, 1, &rm_err) < 0 && r == 0 && rm_err.code != ENOENT) {
		*err = rm_err;
		r = -rm_err.code;
	}
	return r;
}

char *nk_drill_to_json(const struct nk_drill_report *rep)
{
	json_object *o = json_object_new_object(), *rows = json_object_new_array();
	json_object_object_add(o, "image", json_object_new_string(rep->image));
	json_object_object_add(o, "instance", rep->live ? json_object_new_string(rep->instance) : NULL);
	json_object_object_add(o, "profile", json_object_new_string(rep->profile));
	json_object_object_add(o, "seccomp", json_object_new_boolean(rep->ctx.seccomp));
	json_object_object_add(o, "seccomp_feed", json_object_new_boolean(rep->ctx.seccomp_feed));
	json_object_object_add(o, "pids_limit", json_object_new_int64((int64_t)rep->ctx.pids_limit));
	json_object_object_add(o, "memory_limit", json_object_new_int64((int64_t)rep->ctx.memory_limit));
	json_object_object_add(o, "oom_kills", json_object_new_int64((int64_t)rep->ctx.oom_kills));
	for (size_t i = 0; i < rep->count; i++) {
		const struct nk_drill_row *r = &rep->rows[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "seq", json_object_new_int(r->seq));
		json_object_object_add(j, "attempt", json_object_new_string(r->name));
		json_object_object_add(j, "syscall", json_object_new_string(r->syscall));
		json_object_object_add(j, "outcome", json_object_new_string(r->outcome));
		json_object_object_add(j, "errno", json_object_new_int(r->err));
		json_object_object_add(j, "signal", json_object_new_int(r->sig));
		json_object_object_add(j, "layer", json_object_new_string(nk_drill_layer_name(r->layer)));
		json_object_object_add(j, "why", json_object_new_string(r->why));
		json_object_object_add(j, "detail", json_object_new_string(r->detail));
		json_object_array_add(rows, j);
	}
	json_object_object_add(o, "attempts", rows);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = text ? strdup(text) : NULL;
	json_object_put(o);
	return copy;
}
