/* cgroup v1 (and hybrid) backend: one directory per controller hierarchy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "spec.h"
#include "util.h"

static const char *const controllers[] = {"memory", "pids", "cpu", "cpuacct", "cpuset", "freezer", "blkio", "devices"};

static int hierarchy_present(const struct nk_cgroup *cg, const char *ctrl)
{
	char p[PATH_MAX];
	struct stat st;
	if (nk_fmt(p, sizeof(p), "%s/%s/cgroup.procs", cg->mount, ctrl) < 0)
		return 0;
	return stat(p, &st) == 0;
}

static int group_path(const struct nk_cgroup *cg, const char *ctrl, const char *file, char *out,
		      size_t size)
{
	if (file)
		return nk_fmt(out, size, "%s/%s/%s/%s", cg->mount, ctrl, cg->relpath, file);
	return nk_fmt(out, size, "%s/%s/%s", cg->mount, ctrl, cg->relpath);
}

static int write_file(const struct nk_cgroup *cg, const char *ctrl, const char *file, const char *value,
		      struct nk_err *err)
{
	char p[PATH_MAX];
	if (group_path(cg, ctrl, file, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	int r = nk_write_str(p, value);
	return r < 0 ? nk_err_set(err, -r, "cannot write %s to %s", value, p) : 0;
}

/* A new cpuset group has no CPUs and no memory nodes and refuses tasks: inherit both. */
static int cpuset_inherit(const char *dir)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char parent[PATH_MAX], p[PATH_MAX], buf[256];
	if (nk_fmt(parent, sizeof(parent), "%s", dir) < 0)
		return -ENAMETOOLONG;
	*strrchr(parent, '/') = '\0';
	for (size_t i = 0; i < NK_ARRAY_SIZE(files); i++) {
		if (nk_fmt(p, sizeof(p), "%s/%s", dir, files[i]) < 0)
			return -ENAMETOOLONG;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		int n = nk_cgroup_pread(fd, buf, sizeof(buf));
		if (fd >= 0)
			close(fd);
		if (n > 1)
			continue; /* already set */
		if (nk_fmt(p, sizeof(p), "%s/%s", parent, files[i]) < 0)
			return -ENAMETOOLONG;
		fd = open(p, O_RDONLY | O_CLOEXEC);
		n = nk_cgroup_pread(fd, buf, sizeof(buf));
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return n < 0 ? n : -EINVAL;
		if (nk_fmt(p, sizeof(p), "%s/%s", dir, files[i]) < 0)
			return -ENAMETOOLONG;
		int r = nk_write_str(p, buf);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_create(struct nk_cgroup *cg, struct nk_err *err)
{
	char p[PATH_MAX];
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (!hierarchy_present(cg, controllers[i]))
			continue;
		if (group_path(cg, controllers[i], NULL, p, sizeof(p)) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
		int r = nk_mkdir_p(p, 0755, err);
		if (r < 0)
			return r;
		if (!strcmp(controllers[i], "cpuset")) {
			/* Every level below the root, top down: each inherits from its parent. */
			char level[PATH_MAX];
			size_t base = strlen(cg->mount) + strlen("/cpuset/");
			for (char *slash = p + base;; slash++) {
				if (*slash != '/' && *slash != '\0')
					continue;
				if (nk_fmt(level, sizeof(level), "%.*s", (int)(slash - p), p) < 0)
					return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
				if ((r = cpuset_inherit(level)) < 0)
					return nk_err_set(err, -r, "cannot set up the cpuset group %s", level);
				if (*slash == '\0')
					break;
			}
		}
	}
	return 0;
}

static int v1_set_limits(struct nk_cgroup *cg, const struct nk_limits *l, struct nk_err *err)
{
	char v[64];
	int r;
	if (l->memory) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
		if ((r = write_file(cg, "memory", "memory.limit_in_bytes", v, err)) < 0)
			return r;
		uint64_t swap = l->memory_swap ? l->memory_swap : l->memory;
		snprintf(v, sizeof(v), "%lld", swap == NK_UNLIMITED ? -1ll : (long long)swap);
		r = write_file(cg, "memory", "memory.memsw.limit_in_bytes", v, err);
		/* Without swap accounting there is no swap to limit, unless one was asked for. */
		if (r < 0 && (r != -ENOENT || l->memory_swap))
			return r == -ENOENT ? nk_err_msg(err, ENOTSUP, "--memory-swap needs swap accounting, which "
							 "this kernel does not have (swapaccount=1)")
					    : r;
	}
	if (l->cpu_quota_us) {
		snprintf(v, sizeof(v), "%d", NK_CPU_PERIOD_US);
		if ((r = write_file(cg, "cpu", "cpu.cfs_period_us", v, err)) < 0)
			return r;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->cpu_quota_us);
		if ((r = write_file(cg, "cpu", "cpu.cfs_quota_us", v, err)) < 0)
			return r;
	}
	if (l->cpu_weight) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)nk_weight_to_shares(l->cpu_weight));
		if ((r = write_file(cg, "cpu", "cpu.shares", v, err)) < 0)
			return r;
	}
	if (l->cpuset[0] && (r = write_file(cg, "cpuset", "cpuset.cpus", l->cpuset, err)) < 0)
		return r;
	if (l->pids) {
		if (l->pids == NK_UNLIMITED)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids);
		if ((r = write_file(cg, "pids", "pids.max", v, err)) < 0)
			return r;
	}
	if (l->io_weight) {
		snprintf(v, sizeof(v), "%u", nk_weight_to_blkio(l->io_weight));
		if ((r = write_file(cg, "blkio", "blkio.weight", v, err)) < 0)
			return r;
	}
	return 0;
}

static int v1_supports(struct nk_cgroup *cg, const struct nk_limits *l, struct nk_err *err)
{
	char p[PATH_MAX];
	struct stat st;
	static const struct {
		const char *ctrl, *file, *flag;
	} needs[] = {{"memory", "memory.limit_in_bytes", "--memory"}, {"cpu", "cpu.cfs_quota_us", "--cpus"},
		     {"cpu", "cpu.shares", "--cpu-weight"},              {"cpuset", "cpuset.cpus", "--cpuset-cpus"},
		     /* the root group has no pids files; a mounted hierarchy is enough */
		     {"pids", "cgroup.procs", "--pids"},                 {"blkio", "blkio.weight", "--io-weight"}};
	int wanted[] = {l->memory != 0, l->cpu_quota_us != 0, l->cpu_weight != 0, l->cpuset[0] != 0,
			l->pids != 0, l->io_weight != 0};
	for (size_t i = 0; i < NK_ARRAY_SIZE(needs); i++) {
		if (!wanted[i])
			continue;
		if (nk_fmt(p, sizeof(p), "%s/%s/%s", cg->mount, needs[i].ctrl, needs[i].file) < 0 || stat(p, &st) < 0)
			return nk_err_msg(err, ENOTSUP, "%s is not available on this host: %s has no %s", needs[i].flag,
					  cg->mount, needs[i].file);
	}
	return 0;
}

static int v1_attach_self(struct nk_cgroup *cg, struct nk_err *err)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (!hierarchy_present(cg, controllers[i]))
			continue;
		int r = write_file(cg, controllers[i], "tasks", "0", err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_attach(struct nk_cgroup *cg, pid_t pid, struct nk_err *err)
{
	char s[32];
	snprintf(s, sizeof(s), "%d", (int)pid);
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (!hierarchy_present(cg, controllers[i]))
			continue;
		int r = write_file(cg, controllers[i], "cgroup.procs", s, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void v1_open_reader(struct nk_cgroup *cg, struct nk_cgroup_reader *rd)
{
	static const struct {
		const char *ctrl, *file;
	} files[NK_CGF_COUNT] = {
	    [NK_CGF_CPU_USAGE] = {"cpuacct", "cpuacct.usage"},
	    [NK_CGF_CPU_STAT] = {"cpu", "cpu.stat"},
	    [NK_CGF_MEM_CURRENT] = {"memory", "memory.usage_in_bytes"},
	    [NK_CGF_MEM_PEAK] = {"memory", "memory.max_usage_in_bytes"},
	    [NK_CGF_MEM_LIMIT] = {"memory", "memory.limit_in_bytes"},
	    [NK_CGF_MEM_EVENTS] = {"memory", "memory.oom_control"},
	    [NK_CGF_PIDS_CURRENT] = {"pids", "pids.current"},
	    [NK_CGF_PIDS_LIMIT] = {"pids", "pids.max"},
	    [NK_CGF_IO] = {"blkio", "blkio.throttle.io_service_bytes_recursive"},
	};
	char p[PATH_MAX];
	for (int i = 0; i < NK_CGF_COUNT; i++)
		rd->fd[i] = group_path(cg, files[i].ctrl, files[i].file, p, sizeof(p)) == 0
				    ? open(p, O_RDONLY | O_CLOEXEC)
				    : -1;
}

static void v1_read_stats(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st)
{
	char buf[4096];
	memset(st, 0, sizeof(*st));
	if (nk_cgroup_pread(rd->fd[NK_CGF_CPU_USAGE], buf, sizeof(buf)) > 0 &&
	    nk_cg_parse_u64(buf, &st->cpu_usage_ns) == 0)
		st->have |= NK_STAT_CPU;
	if (nk_cgroup_pread(rd->fd[NK_CGF_CPU_STAT], buf, sizeof(buf)) > 0 &&
	    nk_cg_parse_keyed(buf, "nr_periods", &st->cpu_periods) == 0 &&
	    nk_cg_parse_keyed(buf, "nr_throttled", &st->cpu_throttled_periods) == 0 &&
	    nk_cg_parse_keyed(buf, "throttled_time", &st->cpu_throttled_ns) == 0)
		st->have |= NK_STAT_THROTTLE;
	nk_cgroup_read_common(rd, st);
	if (nk_cgroup_pread(rd->fd[NK_CGF_IO], buf, sizeof(buf)) >= 0 &&
	    nk_cg_parse_blkio(buf, &st->io_read_bytes, &st->io_write_bytes) == 0)
		st->have |= NK_STAT_IO;
}

static int v1_freeze(struct nk_cgroup *cg, int frozen, struct nk_err *err)
{
	char p[PATH_MAX], buf[32];
	int r = write_file(cg, "freezer", "freezer.state", frozen ? "FROZEN" : "THAWED", err);
	if (r < 0 || !frozen)
		return r;
	/* FREEZING until every task has stopped; wait (briefly) for the real thing. */
	if (group_path(cg, "freezer", "freezer.state", p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	for (int i = 0; i < 1000; i++) {
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		int n = nk_cgroup_pread(fd, buf, sizeof(buf));
		if (fd >= 0)
			close(fd);
		if (n > 0 && !strncmp(buf, "FROZEN", 6))
			return 0;
		usleep(1000);
	}
	return nk_err_msg(err, ETIMEDOUT, "the freezer of %s did not settle", cg->relpath);
}

static int v1_kill_all(struct nk_cgroup *cg)
{
	char p[PATH_MAX];
	/* A frozen task cannot die; thaw first (harmless when not frozen). */
	if (group_path(cg, "freezer", "freezer.state", p, sizeof(p)) == 0)
		(void)nk_write_str(p, "THAWED");
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (group_path(cg, controllers[i], "cgroup.procs", p, sizeof(p)) < 0)
			continue;
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		int pid;
		while (fscanf(f, "%d", &pid) == 1)
			if (pid > 0)
				kill(pid, SIGKILL);
		fclose(f);
		return 0;
	}
	return 0;
}

static int v1_destroy(struct nk_cgroup *cg, struct nk_err *err)
{
	char p[PATH_MAX];
	int result = 0;
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (group_path(cg, controllers[i], NULL, p, sizeof(p)) < 0)
			continue;
		if (rmdir(p) < 0 && errno != ENOENT && result == 0)
			result = errno == EBUSY ? nk_err_set(err, EBUSY, "cgroup %s still has tasks", p)
						: nk_err_set(err, errno, "cannot remove cgroup %s", p);
	}
	return result;
}

/* One rule as the devices controller spells it: "c 1:3 rwm", "a *:* rwm". */
static void device_rule_text(const struct nk_device_rule *d, char *buf, size_t size)
{
	char major[24] = "*", minor[24] = "*";
	if (d->major >= 0)
		snprintf(major, sizeof(major), "%lld", (long long)d->major);
	if (d->minor >= 0)
		snprintf(minor, sizeof(minor), "%lld", (long long)d->minor);
	if (d->type == 'a')
		snprintf(buf, size, "a");
	else
		snprintf(buf, size, "%c %s:%s %s", d->type, major, minor, d->access);
}

static int v1_set_devices(struct nk_cgroup *cg, const struct nk_device_rule *rules, size_t n, struct nk_err *err)
{
	if (!hierarchy_present(cg, "devices"))
		return nk_err_msg(err, ENOTSUP, "this host has no devices cgroup: device rules cannot be enforced");
	/* The controller applies rules as they are written, so later ones win, as in OCI. */
	for (size_t i = 0; i < n; i++) {
		char rule[64];
		device_rule_text(&rules[i], rule, sizeof(rule));
		int r = write_file(cg, "devices", rules[i].allow ? "devices.allow" : "devices.deny", rule, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void v1_controllers(struct nk_cgroup *cg, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (!hierarchy_present(cg, controllers[i]))
			continue;
		int w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", controllers[i]);
		if (w < 0 || (size_t)w >= size - used)
			return;
		used += (size_t)w;
	}
}

const struct nk_cgroup_ops nk_cgroup_v1_ops = {
    .layout = "v1",
    .create = v1_create,
    .set_limits = v1_set_limits,
    .attach = v1_attach,
    .attach_self = v1_attach_self,
    .open_reader = v1_open_reader,
    .read_stats = v1_read_stats,
    .freeze = v1_freeze,
    .kill_all = v1_kill_all,
    .destroy = v1_destroy,
    .controllers = v1_controllers,
    .set_devices = v1_set_devices,
    .supports = v1_supports,
};
