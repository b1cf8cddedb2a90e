/* `nook drill`: escape attempts run by a static agent inside a throwaway sandbox, each
 * classified by the layer that stopped it, from its errno and the live seccomp feed. */
#ifndef NOOK_DRILL_H
#define NOOK_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "paths.h"

enum nk_drill_layer {
	NK_LAYER_SECCOMP,
	NK_LAYER_CAPABILITY,
	NK_LAYER_READONLY,   /* read-only mount */
	NK_LAYER_MASKED,     /* masked path */
	NK_LAYER_DEVICE,     /* device policy: /dev's contents, the devices cgroup */
	NK_LAYER_CGROUP,     /* cgroup limit */
	NK_LAYER_NAMESPACE,  /* it worked, but only inside the sandbox's namespaces */
	NK_LAYER_KERNEL,     /* the host kernel lacks the feature: nothing of nook's was tested */
	NK_LAYER_THROUGH,    /* got through: reached the host kernel or the host's resources */
	NK_LAYER_UNKNOWN,
};

#define NK_DRILL_MAX 32

struct nk_drill_row {
	int seq;
	char name[32];     /* the attempt: "mount", "fork-bomb" ... */
	char syscall[32];  /* the call that decided it */
	int err;           /* errno it got; 0 when it succeeded */
	int sig;           /* the signal that killed it; 0 when none */
	char outcome[48];  /* "EPERM", "ok", "killed (SIGKILL)" */
	enum nk_drill_layer layer;
	char why[192];     /* one short line */
	char detail[160];  /* what the agent said */
};

/* What the classifier knows about the sandbox, besides the agent's lines. */
struct nk_drill_ctx {
	uint64_t cap_eff;     /* the command's effective capabilities */
	int seccomp;          /* a filter is installed */
	int seccomp_feed;     /* denials are reported to events.log (teach / forced notify) */
	int feed_to_drill;    /* ... to the drill itself instead (a drill inside a running instance) */
	int host_i386;        /* the host kernel takes i386 system calls */
	uint64_t pids_limit, memory_limit; /* 0: none */
	uint64_t oom_kills;   /* OOM kills the cgroup saw during the drill */
};

struct nk_drill_report {
	int live;            /* drilled inside a running instance (not a throwaway one) */
	char instance[64];
	char image[128];
	char profile[64];
	struct nk_drill_ctx ctx;
	struct nk_drill_row rows[NK_DRILL_MAX];
	size_t count;
};

struct nk_drill_opts {
	const char *image;
	const char *profile;  /* NULL: "default" */
};

const char *nk_drill_layer_name(enum nk_drill_layer l);

/* Parse the agent's lines and classify each against ctx and the events.log text (may be
 * NULL). Pure: no system state is read. */
int nk_drill_classify(const char *agent_out, const char *events, const struct nk_drill_ctx *ctx,
		      struct nk_drill_report *rep, struct nk_err *err) NK_MUST_CHECK;

/* Where the static agent is: next to the nook binary (build/drill-agent), else installed
 * under PREFIX/libexec/nook/; NOOK_DRILL_AGENT overrides. */
int nk_drill_agent_path(char *out, size_t size, struct nk_err *err) NK_MUST_CHECK;

/* Create a throwaway instance of opts->image under the profile with the seccomp feed on, run
 * the agent in it, classify, remove the instance. Bad input leaves nothing behind. When
 * opts->image names a running container instead, the agent runs inside it (drill-live.c). */
int nk_drill_run(const struct nk_paths *paths, const struct nk_drill_opts *opts, struct nk_drill_report *rep,
		 struct nk_err *err) NK_MUST_CHECK;

/* The report as a JSON document (malloc'd). */
char *nk_drill_to_json(const struct nk_drill_report *rep);

#endif
