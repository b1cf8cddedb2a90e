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
#include "util.h"

/* cpuset is left out until limits need it: its groups start empty and refuse tasks. */
static const char *const controllers[] = {"memory", "pids", "cpu", "cpuacct", "freezer", "blkio"};

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
	}
	return 0;
}

static int v1_attach(struct nk_cgroup *cg, pid_t pid, struct nk_err *err)
{
	char p[PATH_MAX], s[32];
	snprintf(s, sizeof(s), "%d", (int)pid);
	for (size_t i = 0; i < NK_ARRAY_SIZE(controllers); i++) {
		if (!hierarchy_present(cg, controllers[i]))
			continue;
		if (group_path(cg, controllers[i], "cgroup.procs", p, sizeof(p)) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
		int r = nk_write_str(p, s);
		if (r < 0)
			return nk_err_set(err, -r, "cannot move pid %d into %s", (int)pid, p);
	}
	return 0;
}

static int v1_kill_all(struct nk_cgroup *cg)
{
	char p[PATH_MAX];
	/* Every task is in every hierarchy; the pids one (or memory) lists them all. */
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

const struct nk_cgroup_ops nk_cgroup_v1_ops = {
    .layout = "v1",
    .create = v1_create,
    .attach = v1_attach,
    .kill_all = v1_kill_all,
    .destroy = v1_destroy,
};
