/* Per-instance cgroups: pick the backend for this host's layout. */
#include "cgroup.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "paths.h"
#include "util.h"

int nk_cgroup_init(struct nk_cgroup *cg, const struct nk_paths *paths, const char *instance, struct nk_err *err)
{
	memset(cg, 0, sizeof(*cg));
	const char *mnt = getenv("NOOK_CGROUP_ROOT");
	if (!mnt || !*mnt)
		mnt = "/sys/fs/cgroup";
	char scope[24];
	nk_paths_scope(paths, scope, sizeof(scope));
	if (nk_fmt(cg->mount, sizeof(cg->mount), "%s", mnt) < 0 ||
	    nk_fmt(cg->relpath, sizeof(cg->relpath), "nook/%s%s", instance, scope) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long for %s", instance);
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
