/* Per-instance cgroups: pick the backend for this host's layout. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "paths.h"
#include "util.h"

int nk_cgroup_init(struct nk_cgroup *cg, const struct nk_paths *paths, const char *instance, struct nk_err *err)
{
	char scope[24], relpath[sizeof(cg->relpath)];
	nk_paths_scope(paths, scope, sizeof(scope));
	if (nk_fmt(relpath, sizeof(relpath), "nook/%s%s", instance, scope) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long for %s", instance);
	return nk_cgroup_init_path(cg, relpath, err);
}

int nk_cgroup_init_path(struct nk_cgroup *cg, const char *relpath, struct nk_err *err)
{
	memset(cg, 0, sizeof(*cg));
	const char *mnt = getenv("NOOK_CGROUP_ROOT");
	if (!mnt || !*mnt)
		mnt = "/sys/fs/cgroup";
	while (*relpath == '/')
		relpath++;
	if (!*relpath || strstr(relpath, ".."))
		return nk_err_msg(err, EINVAL, "'%s' is not a cgroup path below the root", relpath);
	if (nk_fmt(cg->mount, sizeof(cg->mount), "%s", mnt) < 0 ||
	    nk_fmt(cg->relpath, sizeof(cg->relpath), "%s", relpath) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long: %s", relpath);
	struct statfs fs;
	if (statfs(cg->mount, &fs) < 0)
		return nk_err_set(err, errno, "cannot find the cgroup file system at %s", cg->mount);
	cg->ops = fs.f_type == CGROUP2_SUPER_MAGIC ? &nk_cgroup_v2_ops : &nk_cgroup_v1_ops;
	return 0;
}

int nk_cgroup_cleanup(struct nk_cgroup *cg, struct nk_err *err)
{
	/* Processes take a moment to leave after SIGKILL; retry the removal briefly. */
	int r = 0;
	for (int attempt = 0; attempt < 200; attempt++) {
		cg->ops->kill_all(cg);
		r = cg->ops->destroy(cg, err);
		if (r != -EBUSY)
			return r;
		usleep(5000);
	}
	return r;
}

void nk_cgroup_reader_open(struct nk_cgroup *cg, struct nk_cgroup_reader *rd)
{
	rd->ops = cg->ops;
	cg->ops->open_reader(cg, rd);
}

void nk_cgroup_reader_read(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st)
{
	rd->ops->read_stats(rd, st);
}

void nk_cgroup_reader_close(struct nk_cgroup_reader *rd)
{
	for (int i = 0; i < NK_CGF_COUNT; i++) {
		if (rd->fd[i] >= 0)
			close(rd->fd[i]);
		rd->fd[i] = -1;
	}
}

void nk_cgroup_read_common(const struct nk_cgroup_reader *rd, struct nk_cgroup_stats *st)
{
	char buf[4096];
	if (nk_cgroup_pread(rd->fd[NK_CGF_MEM_CURRENT], buf, sizeof(buf)) > 0 &&
	    nk_cg_parse_u64(buf, &st->mem_current) == 0 &&
	    nk_cgroup_pread(rd->fd[NK_CGF_MEM_LIMIT], buf, sizeof(buf)) > 0 && nk_cg_parse_u64(buf, &st->mem_limit) == 0)
		st->have |= NK_STAT_MEM;
	if (nk_cgroup_pread(rd->fd[NK_CGF_MEM_PEAK], buf, sizeof(buf)) > 0 && nk_cg_parse_u64(buf, &st->mem_peak) == 0)
		st->have |= NK_STAT_MEM_PEAK;
	if (nk_cgroup_pread(rd->fd[NK_CGF_MEM_EVENTS], buf, sizeof(buf)) > 0 &&
	    nk_cg_parse_keyed(buf, "oom_kill", &st->oom_kills) == 0)
		st->have |= NK_STAT_OOM;
	if (nk_cgroup_pread(rd->fd[NK_CGF_PIDS_CURRENT], buf, sizeof(buf)) > 0 &&
	    nk_cg_parse_u64(buf, &st->pids_current) == 0 &&
	    nk_cgroup_pread(rd->fd[NK_CGF_PIDS_LIMIT], buf, sizeof(buf)) > 0 && nk_cg_parse_u64(buf, &st->pids_limit) == 0)
		st->have |= NK_STAT_PIDS;
}

int nk_cgroup_pids(const struct nk_cgroup *cg, pid_t **pids, size_t *count, struct nk_err *err)
{
	static const char *const v1_dirs[] = {"pids", "memory", "freezer", "cpu"};
	char p[PATH_MAX];
	FILE *f = NULL;
	*pids = NULL;
	*count = 0;
	if (cg->ops == &nk_cgroup_v2_ops) {
		if (nk_fmt(p, sizeof(p), "%s/%s/cgroup.procs", cg->mount, cg->relpath) == 0)
			f = fopen(p, "re");
	} else {
		for (size_t i = 0; !f && i < NK_ARRAY_SIZE(v1_dirs); i++)
			if (nk_fmt(p, sizeof(p), "%s/%s/%s/cgroup.procs", cg->mount, v1_dirs[i], cg->relpath) == 0)
				f = fopen(p, "re");
	}
	if (!f)
		return nk_err_set(err, errno, "cannot read the processes of cgroup %s", cg->relpath);
	size_t cap = 0;
	long v;
	while (fscanf(f, "%ld", &v) == 1) {
		if (*count == cap) {
			cap = cap ? 2 * cap : 16;
			pid_t *grown = realloc(*pids, cap * sizeof(**pids));
			if (!grown) {
				fclose(f);
				return nk_err_set(err, ENOMEM, "reading cgroup %s", cg->relpath);
			}
			*pids = grown;
		}
		(*pids)[(*count)++] = (pid_t)v;
	}
	fclose(f);
	return 0;
}

/* "Threads:\t1" in /proc/self/status. */
static int single_threaded(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *t = strstr(buf, "\nThreads:");
	return t && strtol(t + strlen("\nThreads:"), NULL, 10) == 1;
}

int nk_cgroup_join(struct nk_cgroup *cg, struct nk_err *err)
{
	/* Another thread (a KVM worker counts: it is in the thread group) would stay behind. */
	return single_threaded() ? cg->ops->attach_self(cg, err) : cg->ops->attach(cg, getpid(), err);
}

void nk_cgroup_read_once(struct nk_cgroup *cg, struct nk_cgroup_stats *st)
{
	struct nk_cgroup_reader rd;
	memset(st, 0, sizeof(*st));
	nk_cgroup_reader_open(cg, &rd);
	nk_cgroup_reader_read(&rd, st);
	nk_cgroup_reader_close(&rd);
}
