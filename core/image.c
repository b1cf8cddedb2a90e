/* Images: named root filesystems under NOOK_ROOT/images, with the defaults a run starts from. */
#include "image.h"

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

#include "image-internal.h"
#include "parse.h"
#include "paths.h"
#include "spec.h"
#include "util.h"
#include "vm-disk.h"

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void nk_image_defaults_free(struct nk_image_defaults *d)
{
	free_strv(d->entrypoint);
	free_strv(d->cmd);
	free_strv(d->env);
	free(d->workdir);
	memset(d, 0, sizeof(*d));
}

void nk_image_release(struct nk_image *img)
{
	nk_image_defaults_free(&img->defaults);
}

static json_object *strv_json(char **v)
{
	if (!v)
		return NULL;
	json_object *a = json_object_new_array();
	for (size_t i = 0; v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static char **json_strv(json_object *o, const char *key)
{
	json_object *a;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return NULL;
	size_t n = json_object_array_length(a);
	char **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		v[i] = strdup(s ? s : "");
	}
	return v;
}

int nk_image_meta_write(const char *path, const char *source, const struct nk_image_defaults *d,
			struct nk_err *err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "created", json_object_new_int64(nk_wall_time_s()));
	json_object *cfg = json_object_new_object();
	if (d->entrypoint)
		json_object_object_add(cfg, "Entrypoint", strv_json(d->entrypoint));
	if (d->cmd)
		json_object_object_add(cfg, "Cmd", strv_json(d->cmd));
	if (d->env)
		json_object_object_add(cfg, "Env", strv_json(d->env));
	if (d->workdir)
		json_object_object_add(cfg, "WorkingDir", json_object_new_string(d->workdir));
	json_object_object_add(o, "config", cfg);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = nk_write_file_atomic(path, s, strlen(s), 0644, err);
	json_object_put(o);
	return r;
}

int nk_image_meta_read(const char *path, struct nk_image_defaults *d, char *source, size_t size,
		       struct nk_err *err)
{
	memset(d, 0, sizeof(*d));
	nk_autofree char *text = NULL;
	int r = nk_read_file(path, &text, NULL, err);
	if (r < 0)
		return r;
	json_object *o = json_tokener_parse(text);
	if (!o)
		return nk_err_msg(err, EINVAL, "%s is not valid JSON", path);
	json_object *cfg, *v;
	if (source && json_object_object_get_ex(o, "source", &v))
		snprintf(source, size, "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "config", &cfg)) {
		d->entrypoint = json_strv(cfg, "Entrypoint");
		d->cmd = json_strv(cfg, "Cmd");
		d->env = json_strv(cfg, "Env");
		if (json_object_object_get_ex(cfg, "WorkingDir", &v))
			d->workdir = strdup(json_object_get_string(v));
	}
	json_object_put(o);
	return 0;
}

/* Build an image in a private directory, then rename it into place in one step: a
 * crash or a concurrent import never leaves a half image under the real name. */
static int stage_and_publish(const struct nk_paths *paths, const char *name, const char *source,
			     int (*fill)(const char *src, const char *rootfs, struct nk_image_defaults *d,
					 struct nk_err *err),
			     struct nk_err *err)
{
	char stage[PATH_MAX], rootfs[PATH_MAX], meta[PATH_MAX], final[PATH_MAX];
	char tmpname[128];
	snprintf(tmpname, sizeof(tmpname), ".staging-%s-%d", name, (int)getpid());
	if (nk_path_image(paths, tmpname, NULL, stage, sizeof(stage)) < 0 ||
	    nk_path_image(paths, tmpname, "rootfs", rootfs, sizeof(rootfs)) < 0 ||
	    nk_path_image(paths, tmpname, "image.json", meta, sizeof(meta)) < 0 ||
	    nk_path_image(paths, name, NULL, final, sizeof(final)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	struct nk_image_defaults d = {0};
	int r;
	if (mkdir(stage, 0700) < 0 || mkdir(rootfs, 0755) < 0) {
		r = nk_err_set(err, errno, "cannot create %s", stage);
		goto undo_stage;
	}
	if ((r = fill(source, rootfs, &d, err)) < 0 || (r = nk_image_meta_write(meta, source, &d, err)) < 0)
		goto undo_stage;
	chmod(stage, 0755);
	if (renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		r = errno == EEXIST ? nk_err_msg(err, EEXIST, "image %s already exists", name)
				    : nk_err_set(err, errno, "cannot publish image %s", name);
		goto undo_stage;
	}
	nk_image_defaults_free(&d);
	return 0;
undo_stage:
	nk_image_defaults_free(&d);
	struct nk_err ignored;
	(void)!nk_rm_rf(stage, &ignored);
	return r;
}

static int fill_busybox(const char *src, const char *rootfs, struct nk_image_defaults *d, struct nk_err *err)
{
	(void)src;
	d->cmd = calloc(2, sizeof(char *));
	if (d->cmd)
		d->cmd[0] = strdup("/bin/sh");
	return nk_image_build_busybox(rootfs, err);
}

static int fill_import(const char *src, const char *rootfs, struct nk_image_defaults *d, struct nk_err *err)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return nk_err_set(err, errno, "cannot import %s", src);
	if (nk_oci_detect(src))
		return nk_oci_import(src, rootfs, d, err);
	if (S_ISDIR(st.st_mode))
		return nk_image_copy_tree(src, rootfs, err);
	if (S_ISREG(st.st_mode))
		return nk_tar_extract(src, rootfs, err);
	return nk_err_msg(err, EINVAL, "cannot import %s: give a directory, a tarball or an OCI layout", src);
}

int nk_image_resolve(const struct nk_paths *paths, const char *name, struct nk_image *img,
		     struct nk_err *err)
{
	memset(img, 0, sizeof(*img));
	snprintf(img->name, sizeof(img->name), "%s", name);
	if (!strcmp(name, "host")) {
		img->is_host = 1;
		snprintf(img->rootfs, sizeof(img->rootfs), "/");
		return 0;
	}
	int r = nk_name_check(name, "image", err);
	if (r < 0)
		return r;
	char meta[PATH_MAX];
	if (nk_path_image(paths, name, "rootfs", img->rootfs, sizeof(img->rootfs)) < 0 ||
	    nk_path_image(paths, name, "image.json", meta, sizeof(meta)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (access(meta, F_OK) < 0 && !strcmp(name, "busybox")) {
		r = stage_and_publish(paths, name, "built from the host's busybox", fill_busybox, err);
		if (r == -EEXIST)
			r = 0; /* another nook built it at the same moment */
		if (r < 0)
			return nk_err_prefix(err, "building the busybox image");
	}
	if (access(meta, F_OK) < 0)
		return nk_err_msg(err, ENOENT,
				  "no such image: %s (see `nook image ls`; import one with "
				  "`nook image import %s PATH`, or use busybox or host)",
				  name, name);
	return nk_image_meta_read(meta, &img->defaults, NULL, 0, err);
}

int nk_image_import(const struct nk_paths *paths, const char *name, const char *source,
		    struct nk_err *err)
{
	int r = nk_name_check(name, "image", err);
	if (r < 0)
		return r;
	if (!strcmp(name, "host"))
		return nk_err_msg(err, EEXIST, "'host' is built in and cannot be replaced: pick another name");
	char final[PATH_MAX];
	if (nk_path_image(paths, name, NULL, final, sizeof(final)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (access(final, F_OK) == 0)
		return nk_err_msg(err, EEXIST, "image %s already exists: remove it first with `nook image rm %s`",
				  name, name);
	char abs[PATH_MAX];
	if (!realpath(source, abs))
		return nk_err_set(err, errno, "cannot import %s", source);
	r = stage_and_publish(paths, name, abs, fill_import, err);
	return r < 0 ? nk_err_prefix(err, "importing %s", name) : 0;
}

/* True when an instance's config.json names this image as its lower layer. */
static int image_in_use(const struct nk_paths *paths, const char *name, char *user, size_t size)
{
	char dir[PATH_MAX];
	if (nk_fmt(dir, sizeof(dir), "%s/instances", paths->root) < 0)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	int used = 0;
	while (!used && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char cfg[PATH_MAX];
		struct nk_spec spec;
		struct nk_err ignored;
		if (nk_path_instance(paths, de->d_name, "config.json", cfg, sizeof(cfg)) < 0 ||
		    nk_spec_load_file(cfg, &spec, &ignored) < 0)
			continue;
		if (spec.image && !strcmp(spec.image, name)) {
			used = 1;
			snprintf(user, size, "%s", de->d_name);
		}
		nk_spec_free(&spec);
	}
	closedir(d);
	return used;
}

int nk_image_remove(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	if (!strcmp(name, "host"))
		return nk_err_msg(err, EPERM, "'host' is built in and cannot be removed");
	int r = nk_name_check(name, "image", err);
	if (r < 0)
		return r;
	char dir[PATH_MAX], user[256];
	if (nk_path_image(paths, name, NULL, dir, sizeof(dir)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (access(dir, F_OK) < 0)
		return nk_err_msg(err, ENOENT, "no such image: %s (see `nook image ls`)", name);
	if (image_in_use(paths, name, user, sizeof(user)))
		return nk_err_msg(err, EBUSY, "image %s is used by instance %s: remove that first (`nook rm %s`)",
				  name, user, user);
	nk_vm_disk_forget_image(paths, name);
	return nk_rm_rf(dir, err);
}

static unsigned long long tree_bytes(int dirfd, dev_t dev)
{
	unsigned long long total = 0;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				total += tree_bytes(sub, dev);
		} else if (S_ISREG(st.st_mode)) {
			total += (unsigned long long)st.st_blocks * 512ull;
		}
	}
	closedir(d);
	return total;
}

int nk_image_list(const struct nk_paths *paths, nk_image_visit_fn visit, void *opaque, struct nk_err *err)
{
	char dir[PATH_MAX];
	if (nk_fmt(dir, sizeof(dir), "%s/images", paths->root) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	visit("host", "the host's own root, behind a throwaway layer", 0, opaque);
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return nk_err_set(err, errno, "cannot list %s", dir);
	int have_busybox = 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char meta[PATH_MAX], rootfs[PATH_MAX], source[PATH_MAX] = "";
		struct nk_image_defaults d;
		struct nk_err ignored;
		if (name[0] != '.' && nk_path_image(paths, name, "image.json", meta, sizeof(meta)) == 0 &&
		    nk_path_image(paths, name, "rootfs", rootfs, sizeof(rootfs)) == 0 &&
		    nk_image_meta_read(meta, &d, source, sizeof(source), &ignored) == 0) {
			nk_image_defaults_free(&d);
			struct stat st;
			int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			unsigned long long bytes = 0;
			if (fd >= 0 && fstat(fd, &st) == 0)
				bytes = tree_bytes(fd, st.st_dev); /* takes the descriptor */
			else if (fd >= 0)
				close(fd);
			visit(name, source, bytes, opaque);
			have_busybox |= !strcmp(name, "busybox");
		}
		free(names[i]);
	}
	free(names);
	if (!have_busybox)
		visit("busybox", "built from the host's busybox on first use", 0, opaque);
	return 0;
}
