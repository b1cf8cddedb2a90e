/* cgroup v2 backend: one unified tree, controllers enabled through subtree_control. */
#include <errno.h>
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
	if (nk_fmt(parent, sizeof(parent), "%s/nook", cg->mount) < 0 || path_of(cg, NULL, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return nk_err_set(err, errno, "cannot create cgroup %s", parent);
	enable_controllers(cg->mount);
	enable_controllers(parent);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return nk_err_set(err, errno, "cannot create cgroup %s", p);
	return 0;
}

static int v2_attach(struct nk_cgroup *cg, pid_t pid, struct nk_err *err)
{
	char p[PATH_MAX], s[32];
	if (path_of(cg, "cgroup.procs", p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	snprintf(s, sizeof(s), "%d", (int)pid);
	int r = nk_write_str(p, s);
	return r < 0 ? nk_err_set(err, -r, "cannot move pid %d into %s", (int)pid, p) : 0;
}

static int v2_kill_all(struct nk_cgroup *cg)
{
	char p[PATH_MAX];
	if (path_of(cg, "cgroup.kill", p, sizeof(p)) < 0)
		return -ENAMETOOLONG;
	if (nk_write_str(p, "1") == 0)
		return 0;
	/* Kernels before 5.14 have no cgroup.kill: signal each listed process. */
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

const struct nk_cgroup_ops nk_cgroup_v2_ops = {
    .layout = "v2",
    .create = v2_create,
    .attach = v2_attach,
    .kill_all = v2_kill_all,
    .destroy = v2_destroy,
};
