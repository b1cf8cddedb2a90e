/* cgroup v2 backend: one unified tree, controllers enabled through subtree_control. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static int path_of(const struct nk_cgroup *cg, const char *file, char *out, size_t size)
{
	if (file)
		return nk_fmt(out, size, "%s/%s/%s", cg->mount, cg->relpath, file);
	return nk_fmt(out, size, "%s/%s", cg->mount, cg->relpath);
}

static int write_file(const struct nk_cgroup *cg, const char *file, const char *value, struct nk_err *err)
{
	char p[PATH_MAX];
	if (path_of(cg, file, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	int r = nk_write_str(p, value);
	return r < 0 ? nk_err_set(err, -r, "cannot write %s to %s", value, p) : 0;
}

/* Enable what the parent offers; a controller that is missing is simply not limited. */
static void enable_controllers(const char *dir)
{
	static const char *const wanted[] = {"+cpu", "+memory", "+pids", "+io", "+cpuset"};
	char p[PATH_MAX];
	if (nk_fmt(p, sizeof(p), "%s/cgroup.subtree_control", dir) < 0)
		return;
	for (size_t i = 0; i < NK_ARRAY_SIZE(wanted); i++)
		(void)nk_write_str(p, wanted[i]);
}

static int v2_create(struct nk_cgroup *cg, struct nk_err *err)
{
	char parent[PATH_MAX], p[PATH_MAX];
	if (path_of(cg, NULL, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	/* Each level top down; a group's controllers are the ones its parent delegates. */
	enable_controllers(cg->mount);
	for (char *slash = p + strlen(cg->mount) + 1;; slash++) {
		if (*slash != '/' && *slash != '\0')
			continue;
		if (nk_fmt(parent, sizeof(parent), "%.*s", (int)(slash - p), p) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot create cgroup %s", parent);
		if (*slash == '\0')
			break;
		enable_controllers(parent);
	}
	return 0;
}

static int v2_set_limits(struct nk_cgroup *cg, const struct nk_limits *l, struct nk_err *err)
{
	char v[64];
	int r;
	if (l->memory) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
		if ((r = write_file(cg, "memory.max", v, err)) < 0)
			return r;
		/* v2 limits swap alone; Docker's --memory-swap counts memory plus swap. */
		uint64_t total = l->memory_swap ? l->memory_swap : l->memory;
		if (total == NK_UNLIMITED)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%llu", (unsigned long long)(total - l->memory));
		r = write_file(cg, "memory.swap.max", v, err);
		if (r < 0 && (r != -ENOENT || l->memory_swap))
			return r;
	}
	if (l->cpu_quota_us) {
		snprintf(v, sizeof(v), "%llu %d", (unsigned long long)l->cpu_quota_us, NK_CPU_PERIOD_US);
		if ((r = write_file(cg, "cpu.max", v, err)) < 0)
			return r;
	}
	if (l->cpu_weight) {
		snprintf(v, sizeof(v), "%u", l->cpu_weight);
		if ((r = write_file(cg, "cpu.weight", v, err)) < 0)
			return r;
	}
	if (l->cpuset[0] && (r = write_file(cg, "cpuset.cpus", l->cpuset, err)) < 0)
		return r;
	if (l->pids) {
		if (l->pids == NK_UNLIMITED)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids);
		if ((r = write_file(cg, "pids.max", v, err)) < 0)
			return r;
	}
	if (l->io_weight) {
		snprintf(v, sizeof(v), "default %u", l->io_weight);
		if ((r = write_file(cg, "io.weight", v, err)) < 0)
			return r;
	}
	return 0;
}

static int v2_supports(struct nk_cgroup *cg, const struct nk_limits *l, struct nk_err *err)
{
	static const struct {
		const char *ctrl, *flag;
	} needs[] = {{"memory", "--memory"}, {"cpu", "--cpus"}, {"cpu", "--cpu-weight"},
		     {"cpuset", "--cpuset-cpus"}, {"pids", "--pids"}, {"io", "--io-weight"}};
	int wanted[] = {l->memory != 0, l->cpu_quota_us != 0, l->cpu_weight != 0, l->cpuset[0] != 0,
			l->pids != 0, l->io_weight != 0};
	char p[PATH_MAX], buf[512];
	if (nk_fmt(p, sizeof(p), "%s/cgroup.controllers", cg->mount) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	int n = nk_cgroup_pread(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < NK_ARRAY_SIZE(needs); i++) {
		if (!wanted[i])
			continue;
		const char *hit = n > 0 ? strstr(buf, needs[i].ctrl) : NULL;
		size_t len = strlen(needs[i].ctrl);
		if (!hit || (hit != buf && hit[-1] != ' ') || (hit[len] != ' ' && hit[len] != '\n' && hit[len]))
			return nk_err_msg(err, ENOTSUP, "%s is not available on this host: the %s controller is missing",
					  needs[i].flag, needs[i].ctrl);
	}
	return 0;
}

/* A domain group takes whole processes only, through cgroup.procs ("0": the caller's). */
static int v2_attach_self(struct nk_cgroup *cg, struct nk_err *err)
{
	return write_file(cg, "cgroup.procs", "0", err);
}

static int v2_attach(struct nk_cgroup *cg, pid_t pid, struct nk_err *err)
{
	char s[32];
	snprintf(s, sizeof(s), "%d", (int)pid);
	return write_file(cg, "cgroup.procs", s, err);
}

static void v2_open_reader(struct nk_cgroup *cg, struct nk_cgroup_reader *rd)
{
	static const char *const files[NK_CGF_COUNT] = {
	    [NK_CGF_CPU_USAGE] = NULL, /* cpu.stat carries usage_usec */
	    [NK_CGF_CPU_STAT] = "cpu.stat",
	    [NK_CGF_MEM_CURRENT] = "memory.current",
	    [NK_CGF_MEM_PEAK] = "memory.peak",
	    [NK_CGF_MEM_LIMIT] = "memory.max",
	    [NK_CGF_MEM_EVENTS] = "memory.events",
	    [NK_CGF_PIDS_CURRENT] = "pids.current",
	    [NK_CGF_PIDS_LIMIT] = "pids.max",
	    [NK_CGF_IO] = "io.stat",
	};
	char p[PATH_MAX];
	for (int i = 0; i < NK_CGF_COUNT; i++)
		rd->fd[i] = files[i] && path_of(cg, files[i], p, sizeof(p)) == 0 ? open(p, O_RDONLY | O_CLOEXEC) : -1;
}

static void v2_read_stats(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st)
{
	char buf[4096];
	uint64_t usec;
	memset(st, 0, sizeof(*st));
	if (nk_cgroup_pread(rd->fd[NK_CGF_CPU_STAT], buf, sizeof(buf)) > 0) {
		if (nk_cg_parse_keyed(buf, "usage_usec", &usec) == 0) {
			st->cpu_usage_ns = usec * 1000;
			st->have |= NK_STAT_CPU;
		}
		if (nk_cg_parse_keyed(buf, "nr_periods", &st->cpu_periods) == 0 &&
		    nk_cg_parse_keyed(buf, "nr_throttled", &st->cpu_throttled_periods) == 0 &&
		    nk_cg_parse_keyed(buf, "throttled_usec", &usec) == 0) {
			st->cpu_throttled_ns = usec * 1000;
			st->have |= NK_STAT_THROTTLE;
		}
	}
	nk_cgroup_read_common(rd, st);
	if (nk_cgroup_pread(rd->fd[NK_CGF_IO], buf, sizeof(buf)) >= 0 &&
	    nk_cg_parse_io_stat(buf, &st->io_read_bytes, &st->io_write_bytes) == 0)
		st->have |= NK_STAT_IO;
}

static int v2_freeze(struct nk_cgroup *cg, int frozen, struct nk_err *err)
{
	int r = write_file(cg, "cgroup.freeze", frozen ? "1" : "0", err);
	if (r < 0 || !frozen)
		return r;
	char p[PATH_MAX], buf[256];
	uint64_t v;
	if (path_of(cg, "cgroup.events", p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	for (int i = 0; i < 1000; i++) {
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		int n = nk_cgroup_pread(fd, buf, sizeof(buf));
		if (fd >= 0)
			close(fd);
		if (n > 0 && nk_cg_parse_keyed(buf, "frozen", &v) == 0 && v == 1)
			return 0;
		usleep(1000);
	}
	return nk_err_msg(err, ETIMEDOUT, "cgroup %s did not freeze", cg->relpath);
}

static int v2_kill_all(struct nk_cgroup *cg)
{
	char p[PATH_MAX];
	if (path_of(cg, "cgroup.kill", p, sizeof(p)) < 0)
		return -ENAMETOOLONG;
	if (nk_write_str(p, "1") == 0)
		return 0;
	/* Kernels before 5.14 have no cgroup.kill: thaw, then signal each process. */
	if (path_of(cg, "cgroup.freeze", p, sizeof(p)) == 0)
		(void)nk_write_str(p, "0");
	if (path_of(cg, "cgroup.procs", p, sizeof(p)) < 0)
		return -ENAMETOOLONG;
	FILE *f = fopen(p, "re");
	if (!f)
		return -errno;
	int pid;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0)
			kill(pid, SIGKILL);
	fclose(f);
	return 0;
}

static int v2_destroy(struct nk_cgroup *cg, struct nk_err *err)
{
	char p[PATH_MAX];
	if (path_of(cg, NULL, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	if (rmdir(p) < 0 && errno != ENOENT)
		return errno == EBUSY ? nk_err_set(err, EBUSY, "cgroup %s still has tasks", p)
				      : nk_err_set(err, errno, "cannot remove cgroup %s", p);
	return 0;
}

static void v2_controllers(struct nk_cgroup *cg, char *buf, size_t size)
{
	char p[PATH_MAX];
	buf[0] = '\0';
	if (nk_fmt(p, sizeof(p), "%s/cgroup.controllers", cg->mount) < 0)
		return;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	int n = nk_cgroup_pread(fd, buf, size);
	if (fd >= 0)
		close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

static int v2_set_devices(struct nk_cgroup *cg, const struct nk_device_rule *rules, size_t n, struct nk_err *err)
{
	char p[PATH_MAX];
	if (path_of(cg, NULL, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	return nk_cgroup_v2_attach_devices(p, rules, n, err);
}

const struct nk_cgroup_ops nk_cgroup_v2_ops = {
    .layout = "v2",
    .create = v2_create,
    .set_limits = v2_set_limits,
    .attach = v2_attach,
    .attach_self = v2_attach_self,
    .open_reader = v2_open_reader,
    .read_stats = v2_read_stats,
    .freeze = v2_freeze,
    .kill_all = v2_kill_all,
    .destroy = v2_destroy,
    .controllers = v2_controllers,
    .set_devices = v2_set_devices,
    .supports = v2_supports,
};
