/* `nook compare`: a throwaway container measured while it runs (timeline, RSS, cgroup, what it
 * sees), and the VM side measured too where this host can boot one, else explained. */
#include "compare.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "instance.h"
#include "isolation.h"
#include "logs.h"
#include "stats.h"
#include "util.h"
#include "vm-instance.h"

/* What the workload reports of what it can see, before the caller's own command. */
static const char FACTS[] =
    "uname -r; ls -d /proc/[0-9]* | wc -l; wc -l < /proc/self/mounts; ls /sys/class/net | wc -l; "
    "if head -c0 /dev/kmsg 2>/dev/null; then echo yes; else echo no; fi; sleep 0.3; \"$@\"";

long nk_compare_rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

struct buf {
	char data[4096];
	size_t len;
};

static int sink(const char *data, size_t len, void *opaque)
{
	struct buf *b = opaque;
	size_t n = len < sizeof(b->data) - 1 - b->len ? len : sizeof(b->data) - 1 - b->len;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static void while_running(const struct nk_paths *paths, const char *name, struct nk_compare_side *s)
{
	struct nk_err e;
	struct nk_instance_info info;
	if (nk_inst_get(paths, name, &info, &e) == 0)
		s->monitor_rss_kib = nk_compare_rss_kib(info.state.monitor_pid);
	struct nk_stats_sampler sm;
	if (nk_stats_open(paths, name, &sm, &e) == 0) {
		struct nk_stats st;
		nk_stats_sample(&sm, &st);
		s->memory_current = (long long)st.cg.mem_current;
		nk_stats_close(&sm);
	}
	struct nk_isolation iso;
	memset(&iso, 0, sizeof(iso));
	if (nk_isolation_read(paths, name, &iso, &e) == 0) {
		for (int i = 0; i < NK_NS_COUNT; i++) {
			const struct nk_ns_fact *ns = &iso.ns[i];
			if (ns->inode && ns->inode == ns->host_inode) {
				size_t l = strlen(s->ns_shared);
				snprintf(s->ns_shared + l, sizeof(s->ns_shared) - l, "%s%s", l ? " " : "", ns->name);
			}
		}
		s->seccomp_mode = iso.seccomp_mode;
		s->seccomp_filters = iso.seccomp_filters;
		nk_isolation_free(&iso);
	}
}

static int container_side(const struct nk_paths *paths, const char *image, char **cmd, struct nk_compare_side *s,
			  struct nk_err *err)
{
	char *argv[64] = {(char *)"sh", (char *)"-c", (char *)FACTS, (char *)"sh"};
	int n = 4;
	for (; cmd && *cmd && n < 63; cmd++)
		argv[n++] = *cmd;
	struct nk_run_opts ro = {.image = image, .cmd = argv, .cmd_count = n, .detach = 1, .network = "none"};
	char name[64];
	int r = nk_inst_create(paths, &ro, name, sizeof(name), err);
	if (r < 0)
		return r;
	uint64_t t0 = nk_now_ns();
	r = nk_inst_start_timed(paths, name, 0, NULL, &s->timeline, err);
	s->startup_ms = (double)(nk_now_ns() - t0) / 1e6;
	if (r == 0) {
		while_running(paths, name, s);
		struct nk_instance_info info;
		for (int i = 0; i < 1500 && nk_inst_get(paths, name, &info, err) == 0 && info.state.status != NK_STOPPED; i++) {
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		struct buf out = {.len = 0};
		out.data[0] = '\0';
		r = nk_logs_read(paths, name, -1, 0, sink, &out, err);
		char *save = NULL, *line = strtok_r(out.data, "\n", &save);
		for (int i = 0; line && i < 5; i++, line = strtok_r(NULL, "\n", &save)) {
			if (i == 0)
				snprintf(s->kernel, sizeof(s->kernel), "%s", line);
			else if (i == 1)
				s->processes = atol(line);
			else if (i == 2)
				s->mounts = atol(line);
			else if (i == 3)
				s->net_ifs = atol(line);
			else
				s->kmsg_readable = !strcmp(line, "yes");
		}
		if (line) {
			const char *rest = strtok_r(NULL, "", &save);
			snprintf(s->output, sizeof(s->output), "%s%s%.900s", line, rest ? "\n" : "", rest ? rest : "");
		}
		s->ran = r == 0 && s->kernel[0];
	}
	struct nk_err rm_err;
	(void)!nk_inst_remove(paths, name, 1, &rm_err);
	return r;
}

int nk_compare_run(const struct nk_paths *paths, const char *image, char **cmd, struct nk_compare_report *rep,
		   struct nk_err *err)
{
	memset(rep, 0, sizeof(*rep));
	snprintf(rep->image, sizeof(rep->image), "%s", image);
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(rep->host_kernel, sizeof(rep->host_kernel), "%s", u.release);
	rep->host_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct nk_compare_side *sides[] = {&rep->container, &rep->vm};
	for (size_t i = 0; i < 2; i++) {
		sides[i]->monitor_rss_kib = -1;
		sides[i]->memory_current = -1;
		sides[i]->processes = sides[i]->mounts = sides[i]->net_ifs = -1;
		sides[i]->kmsg_readable = sides[i]->seccomp_mode = sides[i]->seccomp_filters = -1;
	}
	int r = container_side(paths, image, cmd, &rep->container, err);
	if (r < 0)
		return r;
	/* No default guest kernel: the VM side says why it cannot run rather than guess. */
	struct nk_err vm_err = {0};
	if (nk_vm_instance_check(NULL, &vm_err) < 0)
		snprintf(rep->vm.reason, sizeof(rep->vm.reason), "%s", vm_err.msg);
	else
		snprintf(rep->vm.reason, sizeof(rep->vm.reason), "no guest kernel to boot the image with");
	return 0;
}

static json_object *num(int ok, double v) { return ok ? json_object_new_double(v) : NULL; }
static json_object *i64(long long v) { return v >= 0 ? json_object_new_int64(v) : NULL; }

static json_object *side_json(const struct nk_compare_side *s, int host_cpus)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "measured", json_object_new_boolean(s->ran));
	json_object_object_add(o, "reason", s->ran ? NULL : json_object_new_string(s->reason));
	json_object_object_add(o, "startup_ms", num(s->ran, s->startup_ms));
	json_object *ph = s->ran ? json_object_new_object() : NULL;
	for (int p = 0; ph && p < NK_PHASE_COUNT; p++)
		json_object_object_add(ph, nk_phase_name((enum nk_phase)p),
				       json_object_new_double((double)nk_timeline_phase_ns(&s->timeline, (enum nk_phase)p) / 1e6));
	json_object_object_add(o, "phases_ms", ph);
	json_object_object_add(o, "monitor_rss_kib", s->ran ? i64(s->monitor_rss_kib) : NULL);
	json_object_object_add(o, "memory_current_bytes", s->ran ? i64(s->memory_current) : NULL);
	json_object_object_add(o, "kernel", s->ran ? json_object_new_string(s->kernel) : NULL);
	json_object_object_add(o, "processes_seen", s->ran ? i64(s->processes) : NULL);
	json_object_object_add(o, "mounts_seen", s->ran ? i64(s->mounts) : NULL);
	json_object_object_add(o, "net_interfaces_seen", s->ran ? i64(s->net_ifs) : NULL);
	json_object_object_add(o, "host_kmsg_readable",
			       s->ran && s->kmsg_readable >= 0 ? json_object_new_boolean(s->kmsg_readable) : NULL);
	json_object_object_add(o, "namespaces_shared_with_host", s->ran ? json_object_new_string(s->ns_shared) : NULL);
	json_object_object_add(o, "seccomp_filters", s->ran ? i64(s->seccomp_filters) : NULL);
	json_object_object_add(o, "syscall_surface",
			       s->ran ? json_object_new_string(s->seccomp_mode == 2 ? "the host kernel, behind a seccomp filter"
										       : "the host kernel, unfiltered")
				      : NULL);
	json_object_object_add(o, "vcpus_beyond_host_cores",
			       s->ran ? json_object_new_string("no: a container runs on the host's cores") : NULL);
	(void)host_cpus;
	return o;
}

char *nk_compare_to_json(const struct nk_compare_report *rep)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "image", json_object_new_string(rep->image));
	json_object_object_add(o, "host_kernel", json_object_new_string(rep->host_kernel));
	json_object_object_add(o, "host_cpus", json_object_new_int(rep->host_cpus));
	json_object_object_add(o, "container", side_json(&rep->container, rep->host_cpus));
	json_object_object_add(o, "vm", side_json(&rep->vm, rep->host_cpus));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = text ? strdup(text) : NULL;
	json_object_put(o);
	return copy;
}
