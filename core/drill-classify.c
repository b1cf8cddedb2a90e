/* The drill's classifier: each attempt's errno, signal and the live seccomp feed, turned into
 * the layer that stopped it. Pure, so the unit tests can feed it any sandbox they like. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "util.h"

/* What each attempt needs, and what its success would mean. */
struct attempt_kind {
	const char *name;
	int cap;              /* the capability the kernel checks; -1 none */
	int ns_only;          /* success stays inside the sandbox's namespaces */
	const char *success;  /* why, when it worked */
};

static const struct attempt_kind kinds[] = {
    {"mount", 21, 1, "mounted a tmpfs, in the sandbox's own mount namespace only"},
    {"userns", -1, 1, "a new user namespace: root in it owns nothing of the host's"},
    {"proc-sys", 21, 0, "a host-wide sysctl was open for writing"},
    {"masked", -1, 0, "the kernel's file was readable"},
    {"kmsg", 34, 0, "the host's kernel log was readable"},
    {"module", 16, 0, "reached the kernel's module loader (only the bad fd stopped it)"},
    {"mknod-disk", 27, 0, "the host's disk was opened"},
    {"ptrace", 19, 0, "attached to another process"},
    {"open-by-handle", 2, 0, "reached open_by_handle_at (only the empty handle stopped it)"},
    {"reboot", 22, 0, "reached reboot (only the wrong magic stopped it)"},
    {"bpf", 39, 0, "reached bpf (only the unknown command stopped it)"},
    {"i386", -1, 0, "the kernel's i386 entry point answered: a filter for x86-64 alone would miss it"},
    {"kill-pid1", -1, 1, "pid 1 is the sandbox's own init, not the host's"},
    {"hostname", 21, 1, "the hostname changed in the sandbox's UTS namespace only"},
    {"fork-bomb", -1, 0, "no process limit met"},
    {"memory-hog", -1, 0, "no memory limit met"},
};

static const char *const layer_names[] = {
    [NK_LAYER_SECCOMP] = "seccomp",         [NK_LAYER_CAPABILITY] = "capability",
    [NK_LAYER_READONLY] = "read-only mount", [NK_LAYER_MASKED] = "masked path",
    [NK_LAYER_DEVICE] = "device policy",    [NK_LAYER_CGROUP] = "cgroup limit",
    [NK_LAYER_NAMESPACE] = "namespace",     [NK_LAYER_KERNEL] = "host kernel",
    [NK_LAYER_THROUGH] = "got through",     [NK_LAYER_UNKNOWN] = "unknown",
};

static const char *const cap_names[] = {[2] = "CAP_DAC_READ_SEARCH", [16] = "CAP_SYS_MODULE",
					 [19] = "CAP_SYS_PTRACE",      [21] = "CAP_SYS_ADMIN",
					 [22] = "CAP_SYS_BOOT",        [27] = "CAP_MKNOD",
					 [34] = "CAP_SYSLOG",          [39] = "CAP_BPF"};

const char *nk_drill_layer_name(enum nk_drill_layer l)
{
	return (unsigned)l < NK_ARRAY_SIZE(layer_names) ? layer_names[l] : "unknown";
}

static const struct attempt_kind *kind_of(const char *name)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

/* The next seccomp event for call at or after *pos in the feed; advances *pos past it. The
 * attempts run one after another, so their events come in the same order. */
static int take_event(const char *events, const char **pos, const char *call, int *nr)
{
	if (!events)
		return 0;
	char want[64];
	snprintf(want, sizeof(want), "\"syscall\":\"%s\"", call);
	for (const char *line = *pos ? *pos : events; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *hit = memmem(line, len, want, strlen(want));
		if (hit && memmem(line, len, "\"kind\":\"seccomp\"", 16)) {
			const char *n = memmem(line, len, "\"nr\":", 5);
			*nr = n ? atoi(n + 5) : -1;
			*pos = end ? end + 1 : line + len;
			return 1;
		}
		line = end ? end + 1 : line + len;
	}
	return 0;
}

static void set(struct nk_drill_row *r, enum nk_drill_layer layer, const char *fmt, ...) NK_PRINTF(3, 4);
static void set(struct nk_drill_row *r, enum nk_drill_layer layer, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->layer = layer;
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static int refused(int e) { return e == EPERM || e == EACCES; }

static void classify(struct nk_drill_row *r, const struct nk_drill_ctx *c, const char *events, const char **pos)
{
	const struct attempt_kind *k = kind_of(r->name);
	int nr, cap = k ? k->cap : -1;
	const char *capname = cap >= 0 && (size_t)cap < NK_ARRAY_SIZE(cap_names) && cap_names[cap] ? cap_names[cap] : "?";
	int cap_held = cap >= 0 && (c->cap_eff >> cap & 1);
	if (r->err == EPERM && take_event(events, pos, r->syscall, &nr))
		return set(r, NK_LAYER_SECCOMP, "the filter refused %s (nr %d), reported live %s", r->syscall, nr,
			   c->feed_to_drill ? "to the drill" : "in events.log");
	if (!strcmp(r->name, "memory-hog")) {
		if (r->sig == SIGKILL && c->oom_kills > 0)
			return set(r, NK_LAYER_CGROUP, "OOM-killed at the %llu MiB memory limit (%s)",
				   (unsigned long long)(c->memory_limit >> 20), r->detail);
		if (r->sig == SIGKILL)
			return set(r, NK_LAYER_UNKNOWN, "killed, but the cgroup recorded no OOM kill");
	}
	if (!strcmp(r->name, "fork-bomb") && r->err == EAGAIN && c->pids_limit)
		return set(r, NK_LAYER_CGROUP, "fork failed (EAGAIN) at the pids limit of %llu (%s)",
			   (unsigned long long)c->pids_limit, r->detail);
	if (r->err == EROFS)
		return set(r, NK_LAYER_READONLY, "%s is mounted read-only (EROFS)", r->detail);
	if (r->err == 0 && !strncmp(r->detail, "masked:", 7))
		return set(r, NK_LAYER_MASKED, "%s", r->detail + 8);
	if (!strcmp(r->name, "kmsg") && r->err == ENOENT)
		return set(r, NK_LAYER_DEVICE, "/dev/kmsg is not in the sandbox's /dev");
	if (!strcmp(r->name, "mknod-disk") && !strcmp(r->syscall, "open") && refused(r->err))
		return set(r, NK_LAYER_DEVICE, "the node was made, but the devices cgroup refuses to open it");
	if (!strcmp(r->name, "i386") && r->err == ENOSYS) {
		if (!c->host_i386)
			return set(r, NK_LAYER_KERNEL, "this host kernel takes no i386 system calls at all");
		if (c->seccomp)
			return set(r, NK_LAYER_SECCOMP, "the filter refuses a foreign ABI (ENOSYS, not reported: no rule "
							"applies to it)");
	}
	if (r->err == ENOSYS && !c->seccomp)
		return set(r, NK_LAYER_KERNEL, "this host kernel does not have %s", r->syscall);
	if (refused(r->err) && cap >= 0 && !cap_held)
		return set(r, NK_LAYER_CAPABILITY, "needs %s, which is not in the effective set", capname);
	if (refused(r->err) && c->seccomp && !c->seccomp_feed)
		return set(r, NK_LAYER_SECCOMP, "refused with %s held: the filter, by errno (no live feed here)",
			   cap >= 0 ? capname : "nothing needed");
	if (r->err == 0 && r->sig == 0) {
		if (k && k->ns_only)
			return set(r, NK_LAYER_NAMESPACE, "%s", k->success);
		return set(r, NK_LAYER_THROUGH, "%s", k ? k->success : "it worked");
	}
	/* Refused only for the harmless argument: the call itself was allowed through. */
	if ((r->err == EINVAL || r->err == EBADF || r->err == EFAULT) && r->sig == 0)
		return set(r, NK_LAYER_THROUGH, "%s", k ? k->success : "reached the kernel");
	set(r, NK_LAYER_UNKNOWN, "refused (%s) by something the drill cannot name", r->outcome);
}

static void outcome(struct nk_drill_row *r)
{
	if (r->sig)
		snprintf(r->outcome, sizeof(r->outcome), "killed (%s)", r->sig == SIGKILL ? "SIGKILL" : "signal");
	else if (r->err == 0)
		snprintf(r->outcome, sizeof(r->outcome), "ok");
	else
	{
		const char *n = strerrorname_np(r->err);
		if (n)
			snprintf(r->outcome, sizeof(r->outcome), "%s", n);
		else
			snprintf(r->outcome, sizeof(r->outcome), "errno %d", r->err);
	}
}

int nk_drill_classify(const char *agent_out, const char *events, const struct nk_drill_ctx *ctx,
		      struct nk_drill_report *rep, struct nk_err *err)
{
	rep->count = 0;
	rep->ctx = *ctx;
	const char *pos = NULL;
	for (const char *line = agent_out; line && *line && rep->count < NK_DRILL_MAX;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[512], result[16];
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), line);
		line = end ? end + 1 : line + len;
		struct nk_drill_row *r = &rep->rows[rep->count];
		memset(r, 0, sizeof(*r));
		char *f[5] = {0}, *save = NULL, *s = buf;
		for (int i = 0; i < 5; i++, s = NULL)
			f[i] = strtok_r(s, "\t\r", &save);
		if (!f[0] || !f[1] || !f[2] || !f[3])
			continue; /* not one of the agent's lines */
		r->seq = atoi(f[0]);
		snprintf(r->name, sizeof(r->name), "%s", f[1]);
		snprintf(r->syscall, sizeof(r->syscall), "%s", f[2]);
		snprintf(result, sizeof(result), "%s", f[3]);
		snprintf(r->detail, sizeof(r->detail), "%s", f[4] ? f[4] : "");
		int skipped = !strcmp(result, "skip");
		if (skipped)
			; /* not run: classified below, no errno to read */
		else if (result[0] == 'e')
			r->err = atoi(result + 1);
		else if (result[0] == 's')
			r->sig = atoi(result + 1);
		else if (strcmp(result, "ok"))
			continue;
		if (skipped) {
			snprintf(r->outcome, sizeof(r->outcome), "not run");
			set(r, NK_LAYER_THROUGH, "no %s limit here: nothing would stop it short of the host (not run, "
				"to spare the host)", !strcmp(r->name, "fork-bomb") ? "pids" : "memory");
		} else {
			outcome(r);
			classify(r, ctx, events, &pos);
		}
		rep->count++;
	}
	if (rep->count == 0)
		return nk_err_msg(err, EIO, "the drill agent reported nothing (its output: %.200s)",
				  agent_out && *agent_out ? agent_out : "none");
	return 0;
}
