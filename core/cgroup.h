/* Per-instance cgroups, behind one interface for cgroup v2 and the v1/hybrid layout:
 * create, attach, limits, live usage, freeze, destroy. */
#ifndef NOOK_CGROUP_H
#define NOOK_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "resources.h"

struct nk_paths;
struct nk_device_rule;

struct nk_cgroup;

/* Live usage; a field is valid when its NK_STAT_* bit is in `have`. */
struct nk_cgroup_stats {
	uint64_t cpu_usage_ns;
	uint64_t cpu_periods, cpu_throttled_periods, cpu_throttled_ns;
	uint64_t mem_current, mem_peak, mem_limit; /* mem_limit NK_UNLIMITED when none */
	uint64_t pids_current, pids_limit;         /* pids_limit NK_UNLIMITED when none */
	uint64_t io_read_bytes, io_write_bytes;
	uint64_t oom_kills;
	unsigned have;
};

enum {
	NK_STAT_CPU = 1 << 0,
	NK_STAT_THROTTLE = 1 << 1,
	NK_STAT_MEM = 1 << 2,
	NK_STAT_MEM_PEAK = 1 << 3,
	NK_STAT_PIDS = 1 << 4,
	NK_STAT_IO = 1 << 5,
	NK_STAT_OOM = 1 << 6,
};

/* The files a refresh reads, kept open between refreshes (one pread each). */
enum nk_cgroup_file {
	NK_CGF_CPU_USAGE, NK_CGF_CPU_STAT, NK_CGF_MEM_CURRENT, NK_CGF_MEM_PEAK, NK_CGF_MEM_LIMIT,
	NK_CGF_MEM_EVENTS, NK_CGF_PIDS_CURRENT, NK_CGF_PIDS_LIMIT, NK_CGF_IO, NK_CGF_COUNT
};

struct nk_cgroup_reader {
	const struct nk_cgroup_ops *ops;
	int fd[NK_CGF_COUNT]; /* -1 where the host lacks the file */
};

/* One backend per layout; chosen at run time by nk_cgroup_init. */
struct nk_cgroup_ops {
	const char *layout; /* "v2" or "v1" */
	int (*create)(struct nk_cgroup *cg, struct nk_err *err);
	int (*set_limits)(struct nk_cgroup *cg, const struct nk_limits *l, struct nk_err *err);
	int (*attach)(struct nk_cgroup *cg, pid_t pid, struct nk_err *err);
	/* Move the calling process, which must have a single thread. On v1 it moves itself by
	 * writing 0 to `tasks`: the kernel then skips the global threadgroup lock whose first
	 * writer after a quiet spell waits out an RCU grace period (0.3 ms instead of 10-20). */
	int (*attach_self)(struct nk_cgroup *cg, struct nk_err *err);
	/* Open the files read_stats needs; missing ones stay -1. */
	void (*open_reader)(struct nk_cgroup *cg, struct nk_cgroup_reader *rd);
	void (*read_stats)(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st);
	int (*freeze)(struct nk_cgroup *cg, int frozen, struct nk_err *err);
	/* SIGKILL everything left in the group. */
	int (*kill_all)(struct nk_cgroup *cg);
	/* Remove the group (after kill_all); a group already gone is not an error. */
	int (*destroy)(struct nk_cgroup *cg, struct nk_err *err);
	/* Which controllers this host offers, space separated, for `nook info`. */
	void (*controllers)(struct nk_cgroup *cg, char *buf, size_t size);
	/* The device rules (OCI linux.resources.devices order: later rules win); NULL where the
	 * layout cannot enforce them. */
	int (*set_devices)(struct nk_cgroup *cg, const struct nk_device_rule *rules, size_t n, struct nk_err *err);
	/* Whether a limit can be applied here (e.g. io weight needs a weight-aware scheduler). */
	int (*supports)(struct nk_cgroup *cg, const struct nk_limits *l, struct nk_err *err);
};

struct nk_cgroup {
	const struct nk_cgroup_ops *ops;
	char mount[PATH_MAX];   /* /sys/fs/cgroup, or NOOK_CGROUP_ROOT for tests */
	char relpath[256];      /* "nook/NAME" below each hierarchy */
};

/* Detect the layout and name the instance's group ("nook/NAME"; with another NOOK_ROOT than
 * the default, "nook/NAME@<hash of the root>", so two roots on one host never share a
 * group); creates nothing. */
int nk_cgroup_init(struct nk_cgroup *cg, const struct nk_paths *paths, const char *instance,
		   struct nk_err *err) NK_MUST_CHECK;

/* The same for a group at a given path below the cgroup root (an OCI bundle's cgroupsPath). */
int nk_cgroup_init_path(struct nk_cgroup *cg, const char *relpath, struct nk_err *err) NK_MUST_CHECK;

/* The group's processes (host pids, malloc'd) from cgroup.procs (v1: of the pids or memory
 * hierarchy). */
int nk_cgroup_pids(const struct nk_cgroup *cg, pid_t **pids, size_t *count, struct nk_err *err) NK_MUST_CHECK;

/* Move the calling process into cg: attach_self when it has a single thread, attach otherwise. */
int nk_cgroup_join(struct nk_cgroup *cg, struct nk_err *err) NK_MUST_CHECK;

/* Kill what is left in the group and remove it; tolerant of a missing group. */
int nk_cgroup_cleanup(struct nk_cgroup *cg, struct nk_err *err) NK_MUST_CHECK;

void nk_cgroup_reader_open(struct nk_cgroup *cg, struct nk_cgroup_reader *rd);
void nk_cgroup_reader_read(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st);
void nk_cgroup_reader_close(struct nk_cgroup_reader *rd);
/* One reading, for callers that do not refresh (open, read, close). */
void nk_cgroup_read_once(struct nk_cgroup *cg, struct nk_cgroup_stats *st);

/* Memory, OOM and pids: the same files' meaning on both layouts (the names differ and
 * are in rd). Adds to st->have. */
void nk_cgroup_read_common(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st);

/* Read a small cgroup file at offset 0 into buf (NUL-terminated); -errno on failure. */
int nk_cgroup_pread(int fd, char *buf, size_t size);

/* Parsers for cgroup file contents, shared by both backends and tested on recordings. */
int nk_cg_parse_u64(const char *buf, uint64_t *out);          /* "123\n", "max" */
int nk_cg_parse_keyed(const char *buf, const char *key, uint64_t *out); /* "key value" lines */
int nk_cg_parse_io_stat(const char *buf, uint64_t *rbytes, uint64_t *wbytes);  /* v2 io.stat */
int nk_cg_parse_blkio(const char *buf, uint64_t *rbytes, uint64_t *wbytes);    /* v1 blkio */
int nk_cg_parse_cpu_max(const char *buf, uint64_t *quota, uint64_t *period);  /* v2 cpu.max */

/* cgroup v2 device rules (cgroup-v2-devices.c): the eBPF program for rules (its length, or
 * -E2BIG when out cannot hold 8 + 9 * n instructions), and loading it onto a group. */
struct bpf_insn;
int nk_cgroup_v2_device_prog(const struct nk_device_rule *rules, size_t n, struct bpf_insn *out, size_t max);
int nk_cgroup_v2_attach_devices(const char *dir, const struct nk_device_rule *rules, size_t n,
				struct nk_err *err) NK_MUST_CHECK;

extern const struct nk_cgroup_ops nk_cgroup_v1_ops;
extern const struct nk_cgroup_ops nk_cgroup_v2_ops;

#endif
