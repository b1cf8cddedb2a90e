/* The OCI runtime's records: one directory per container under --root, its state.json, the
 * status worked out from the live process, and the state document clients read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "oci.h"
#include "util.h"

int nk_oci_init(struct nk_oci *rt, const char *root, const struct nk_paths *paths, struct nk_err *err)
{
	memset(rt, 0, sizeof(*rt));
	rt->paths = paths;
	if (!root || !*root)
		root = NK_OCI_DEFAULT_ROOT;
	if (root[0] != '/')
		return nk_err_msg(err, EINVAL, "--root must be an absolute path, not '%s'", root);
	if (nk_fmt(rt->root, sizeof(rt->root), "%s", root) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "--root too long");
	return nk_mkdir_p(rt->root, 0700, err);
}

int nk_oci_check_id(const char *id, struct nk_err *err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > NK_OCI_ID_MAX)
		return nk_err_msg(err, EINVAL, "invalid container id '%s': 1 to %d characters", id ? id : "",
				  NK_OCI_ID_MAX);
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-";
	if (!strchr(ok, id[0]) || id[0] == '.' || id[0] == '-' || strspn(id, ok) != n)
		return nk_err_msg(err, EINVAL, "invalid container id '%s': letters, digits and _.+- only", id);
	return 0;
}

int nk_oci_path(const struct nk_oci *rt, const char *id, const char *file, char *out, size_t size)
{
	return file ? nk_fmt(out, size, "%s/%s/%s", rt->root, id, file) : nk_fmt(out, size, "%s/%s", rt->root, id);
}

int nk_oci_lock(const struct nk_oci *rt, const char *id, struct nk_err *err)
{
	char p[PATH_MAX];
	if (nk_oci_path(rt, id, NULL, p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? nk_err_msg(err, ENOENT, "container %s does not exist", id)
				       : nk_err_set(err, errno, "cannot open %s", p);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return nk_err_set(err, e, "cannot lock %s", p);
	}
	return fd;
}

int nk_oci_state_write(const struct nk_oci *rt, const struct nk_oci_state *st, struct nk_err *err)
{
	char p[PATH_MAX];
	if (nk_oci_path(rt, st->id, "state.json", p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(st->pid_start));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_int64(st->created));
	json_object_object_add(o, "cgroup", json_object_new_string(st->cgroup));
	if (st->annotations)
		json_object_object_add(o, "annotations", json_tokener_parse(st->annotations));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	/* Lives on a tmpfs (/run) like the process it describes: no fsync. */
	int r = nk_write_file_replace(p, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

static void copy_str(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v;
	if (json_object_object_get_ex(o, key, &v))
		snprintf(out, size, "%s", json_object_get_string(v));
}

/* Whether the container's cgroup is frozen (v1 freezer or v2 cgroup.freeze). */
static int frozen(const char *relpath)
{
	struct nk_cgroup cg;
	struct nk_err ignored;
	char p[PATH_MAX], buf[32];
	if (nk_cgroup_init_path(&cg, relpath, &ignored) < 0)
		return 0;
	int r = cg.ops == &nk_cgroup_v2_ops ? nk_fmt(p, sizeof(p), "%s/%s/cgroup.freeze", cg.mount, cg.relpath)
					    : nk_fmt(p, sizeof(p), "%s/freezer/%s/freezer.state", cg.mount, cg.relpath);
	int fd = r == 0 ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	int n = nk_cgroup_pread(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return n > 0 && (!strncmp(buf, "1", 1) || !strncmp(buf, "FROZEN", 6) || !strncmp(buf, "FREEZING", 8));
}

int nk_oci_state_read(const struct nk_oci *rt, const char *id, struct nk_oci_state *st, struct nk_err *err)
{
	memset(st, 0, sizeof(*st));
	char p[PATH_MAX];
	int r = nk_oci_check_id(id, err);
	if (r < 0)
		return r;
	if (nk_oci_path(rt, id, "state.json", p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	nk_autofree char *text = NULL;
	if (access(p, F_OK) < 0)
		return nk_err_msg(err, ENOENT, "container %s does not exist", id);
	if ((r = nk_read_file(p, &text, NULL, err)) < 0)
		return r;
	json_object *o = json_tokener_parse(text), *v;
	if (!o)
		return nk_err_msg(err, EINVAL, "%s is damaged", p);
	snprintf(st->id, sizeof(st->id), "%s", id);
	copy_str(o, "bundle", st->bundle, sizeof(st->bundle));
	copy_str(o, "rootfs", st->rootfs, sizeof(st->rootfs));
	copy_str(o, "cgroup", st->cgroup, sizeof(st->cgroup));
	if (json_object_object_get_ex(o, "pid", &v))
		st->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid_start", &v))
		st->pid_start = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "created", &v))
		st->created = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "annotations", &v))
		st->annotations = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	char fifo[PATH_MAX];
	if (st->pid <= 0 || !nk_proc_alive(st->pid, st->pid_start))
		snprintf(st->status, sizeof(st->status), "stopped");
	else if (nk_oci_path(rt, id, "exec.fifo", fifo, sizeof(fifo)) == 0 && access(fifo, F_OK) == 0)
		snprintf(st->status, sizeof(st->status), "created");
	else if (frozen(st->cgroup))
		snprintf(st->status, sizeof(st->status), "paused");
	else
		snprintf(st->status, sizeof(st->status), "running");
	return 0;
}

void nk_oci_state_free(struct nk_oci_state *st)
{
	free(st->annotations);
	st->annotations = NULL;
}

char *nk_oci_state_json(const struct nk_oci_state *st)
{
	json_object *o = json_object_new_object();
	char created[64];
	nk_time_iso(st->created, created, sizeof(created));
	json_object_object_add(o, "ociVersion", json_object_new_string(NK_OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(strcmp(st->status, "stopped") ? st->pid : 0));
	json_object_object_add(o, "status", json_object_new_string(st->status));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_string(created));
	json_object_object_add(o, "owner", json_object_new_string(""));
	json_object *ann = st->annotations ? json_tokener_parse(st->annotations) : NULL;
	json_object_object_add(o, "annotations", ann ? ann : json_object_new_object());
	char *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct nk_oci_state *)a)->id, ((const struct nk_oci_state *)b)->id);
}

int nk_oci_list(const struct nk_oci *rt, struct nk_oci_state **out, size_t *count, struct nk_err *err)
{
	*out = NULL;
	*count = 0;
	DIR *d = opendir(rt->root);
	if (!d)
		return errno == ENOENT ? 0 : nk_err_set(err, errno, "cannot read %s", rt->root);
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct nk_oci_state st;
		struct nk_err ignored;
		if (e->d_name[0] == '.' || nk_oci_state_read(rt, e->d_name, &st, &ignored) < 0)
			continue;
		if (*count == cap) {
			cap = cap ? 2 * cap : 16;
			struct nk_oci_state *grown = realloc(*out, cap * sizeof(**out));
			if (!grown) {
				nk_oci_state_free(&st);
				break;
			}
			*out = grown;
		}
		(*out)[(*count)++] = st;
	}
	closedir(d);
	if (*count)
		qsort(*out, *count, sizeof(**out), by_id);
	return 0;
}

int nk_oci_write_pid_file(const char *path, pid_t pid, struct nk_err *err)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return nk_write_file_replace(path, buf, (size_t)n, 0644, err);
}
