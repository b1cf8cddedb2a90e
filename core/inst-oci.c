/* Containers made through the OCI runtime interface (by podman, say), seen as instances of
 * kind "oci" by `nook ls`, `nook stats` and the dashboard. Their engine manages them:
 * nook's own lifecycle commands point there instead of acting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "instance.h"
#include "oci.h"
#include "util.h"

const char *nk_inst_oci_root(void)
{
	const char *root = getenv("NOOK_OCI_ROOT");
	return root && *root ? root : NK_OCI_DEFAULT_ROOT;
}

uint64_t nk_inst_oci_stamp(void)
{
	struct stat st;
	if (stat(nk_inst_oci_root(), &st) < 0)
		return 0;
	return (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
}

static enum nk_status status_of(const char *s)
{
	return !strcmp(s, "running") ? NK_RUNNING
	       : !strcmp(s, "paused") ? NK_PAUSED
	       : !strcmp(s, "created") ? NK_CREATED
				       : NK_STOPPED;
}

static void fill(const struct nk_oci_state *st, struct nk_instance_info *info)
{
	memset(info, 0, sizeof(*info));
	/* Engines' ids are 64 hex digits: shown, and found, by their first 12 as they do. */
	size_t len = strlen(st->id);
	memcpy(info->name, st->id, len < sizeof(info->name) ? len : 12);
	snprintf(info->kind, sizeof(info->kind), "oci");
	snprintf(info->cgroup, sizeof(info->cgroup), "%s", st->cgroup);
	snprintf(info->image, sizeof(info->image), "-");
	info->state.status = status_of(st->status);
	info->state.init_pid = st->pid;
	info->state.init_start = st->pid_start;
	info->state.created_at = info->state.started_at = st->created;
	char p[PATH_MAX];
	struct nk_spec spec;
	struct nk_err ignored;
	if (nk_fmt(p, sizeof(p), "%s/config.json", st->bundle) < 0 || nk_spec_load_file(p, &spec, &ignored) < 0)
		return;
	size_t used = 0;
	for (size_t i = 0; spec.args && spec.args[i] && used + 1 < sizeof(info->command); i++) {
		int w = snprintf(info->command + used, sizeof(info->command) - used, "%s%s", i ? " " : "", spec.args[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	info->tty = spec.terminal;
	nk_spec_free(&spec);
}

/* The one container whose id starts with prefix. */
static int read_by_prefix(const struct nk_oci *rt, const char *prefix, struct nk_oci_state *out, struct nk_err *err)
{
	struct nk_oci_state *list;
	size_t n, found = 0;
	int r = nk_oci_list(rt, &list, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(list[i].id, prefix, strlen(prefix)) && found++ == 0) {
			*out = list[i];
			continue;
		}
		nk_oci_state_free(&list[i]);
	}
	free(list);
	if (found == 1)
		return 0;
	if (found > 1)
		nk_oci_state_free(out);
	return nk_err_msg(err, ENOENT, "no single OCI container with id %s", prefix);
}

int nk_inst_oci_get(const char *id, struct nk_instance_info *info, struct nk_err *err)
{
	struct nk_oci rt = {0};
	struct nk_oci_state st;
	if (nk_fmt(rt.root, sizeof(rt.root), "%s", nk_inst_oci_root()) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_OCI_ROOT is too long");
	int r = nk_oci_state_read(&rt, id, &st, err);
	if (r == -ENOENT)
		r = read_by_prefix(&rt, id, &st, err);
	if (r < 0)
		return r;
	fill(&st, info);
	nk_oci_state_free(&st);
	return 0;
}

void nk_inst_oci_list(nk_inst_visit_fn visit, void *opaque)
{
	struct nk_oci rt = {0};
	struct nk_oci_state *list;
	size_t n;
	struct nk_err ignored;
	if (nk_fmt(rt.root, sizeof(rt.root), "%s", nk_inst_oci_root()) < 0 || nk_oci_list(&rt, &list, &n, &ignored) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct nk_instance_info info;
		fill(&list[i], &info);
		visit(&info, opaque);
		nk_oci_state_free(&list[i]);
	}
	free(list);
}

int nk_inst_get_any(const struct nk_paths *paths, const char *name, struct nk_instance_info *info,
		    struct nk_err *err)
{
	int r = nk_inst_get(paths, name, info, err);
	if (r == 0)
		return 0;
	struct nk_err ignored;
	return nk_inst_oci_get(name, info, &ignored) == 0 ? 0 : r;
}
