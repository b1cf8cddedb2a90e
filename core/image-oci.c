/* OCI image layouts and `docker save` archives: choose the manifest, unpack layers, read defaults. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-oci-internal.h"
#include "util.h"
#include "archive-dl.h"

#define MAX_JSON_BYTES (16u << 20)
#define MAX_LAYERS 512
#define MAX_INDEX_DEPTH 4
#define MAX_ARGS 65536

#if defined(__aarch64__)
#define HOST_ARCH "arm64"
#else
#define HOST_ARCH "amd64"
#endif

/* What to unpack, as paths relative to the layout directory, decided before anything is written. */
struct plan {
	char config[PATH_MAX];
	char *layers[MAX_LAYERS];
	size_t n_layers;
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_layers; i++)
		free(p->layers[i]);
	p->n_layers = 0;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void defaults_clear(struct nk_image_defaults *d)
{
	free_strv(d->entrypoint);
	free_strv(d->cmd);
	free_strv(d->env);
	free(d->workdir);
	memset(d, 0, sizeof(*d));
}

static json_object *parse_json(const char *buf, size_t len, const char *what, struct nk_err *err)
{
	if (len > MAX_JSON_BYTES) {
		nk_err_msg(err, EFBIG, "%s is larger than %u bytes", what, MAX_JSON_BYTES);
		return NULL;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		nk_err_set(err, ENOMEM, "cannot parse %s", what);
		return NULL;
	}
	json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o && je == json_tokener_success) {
		while (end < len && buf[end] && strchr(" \t\r\n", buf[end]))
			end++;
		if (end == len)
			return o;
	}
	json_object_put(o);
	nk_err_msg(err, EINVAL, "cannot parse %s: %s", what,
		   je == json_tokener_continue ? "the document is incomplete"
		   : je != json_tokener_success ? json_tokener_error_desc(je)
		   : o ? "text after the JSON document" : "the document is null");
	return NULL;
}

/* Read rel inside the layout; symlinks in a layout are resolved inside it, never out. */
static char *read_in(int dirfd, const char *rel, const char *src, size_t *len, struct nk_err *err)
{
	nk_autoclose int fd = nk_open_in_root(dirfd, rel, O_RDONLY);
	if (fd < 0) {
		nk_err_set(err, -fd, "cannot open %s in %s", rel, src);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_JSON_BYTES) {
		nk_err_msg(err, EINVAL, "%s in %s is not a regular file of at most %u bytes", rel, src,
			   MAX_JSON_BYTES);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		nk_err_set(err, ENOMEM, "reading %s in %s", rel, src);
		return NULL;
	}
	ssize_t n = nk_read_full(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		free(buf);
		nk_err_set(err, (int)-n, "cannot read %s in %s", rel, src);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static json_object *load_json(int dirfd, const char *rel, const char *src, struct nk_err *err)
{
	size_t len;
	nk_autofree char *buf = read_in(dirfd, rel, src, &len, err);
	if (!buf)
		return NULL;
	char what[PATH_MAX + 64];
	snprintf(what, sizeof(what), "%s in %s", rel, src);
	return parse_json(buf, len, what, err);
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A digest becomes a path only when it is exactly sha256 and 64 lower-case hex digits. */
static int blob_path(json_object *desc, char *out, size_t size, const char *src,
		     struct nk_err *err)
{
	const char *digest = str_of(desc, "digest");
	const char *hex = digest && !strncmp(digest, "sha256:", 7) ? digest + 7 : NULL;
	size_t n = 0;
	while (hex && ((hex[n] >= '0' && hex[n] <= '9') || (hex[n] >= 'a' && hex[n] <= 'f')))
		n++;
	if (!hex || n != 64 || hex[n])
		return nk_err_msg(err, EINVAL, "refusing digest \"%.100s\" in %s: only sha256:<64 hex "
				  "digits> is accepted; the image is damaged or hostile",
				  digest ? digest : "(missing)", src);
	return nk_fmt(out, size, "blobs/sha256/%s", hex);
}

/* Relative, no "..": a docker manifest.json path that stays inside the archive. */
static int check_rel(const char *rel, const char *src, struct nk_err *err)
{
	int ok = rel && *rel && *rel != '/' && strlen(rel) < PATH_MAX;
	for (const char *p = rel; ok && p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
		ok = strncmp(p, "..", 2) || (p[2] && p[2] != '/');
	if (!ok)
		return nk_err_msg(err, EINVAL, "refusing path \"%.100s\" in %s/manifest.json: it must "
				  "stay inside the archive; the image is damaged or hostile",
				  rel ? rel : "(missing)", src);
	return 0;
}

/* Several manifests: the one for this machine; unlabelled ones (several tags) are equal. */
static json_object *pick_manifest(json_object *list, const char *src, struct nk_err *err)
{
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	json_object *unlabelled = NULL;
	for (size_t i = 0; i < n; i++) {
		json_object *desc = json_object_array_get_idx(list, i), *platform;
		if (!json_object_is_type(desc, json_type_object))
			continue;
		if (n == 1)
			return desc;
		if (!json_object_object_get_ex(desc, "platform", &platform)) {
			unlabelled = unlabelled ? unlabelled : desc;
			continue;
		}
		const char *os = str_of(platform, "os"), *arch = str_of(platform, "architecture");
		if (os && arch && !strcmp(os, "linux") && !strcmp(arch, HOST_ARCH))
			return desc;
	}
	if (!unlabelled)
		nk_err_msg(err, ENOENT, "%s has no linux/" HOST_ARCH " image among its %zu manifests; "
			   "pull or save the image for this platform", src, n);
	return unlabelled;
}

static int add_layer(struct plan *p, const char *rel, const char *src, struct nk_err *err)
{
	if (p->n_layers == MAX_LAYERS)
		return nk_err_msg(err, E2BIG, "%s has more than %d layers", src, MAX_LAYERS);
	if (!(p->layers[p->n_layers] = strdup(rel)))
		return nk_err_set(err, ENOMEM, "reading %s", src);
	p->n_layers++;
	return 0;
}

/* index.json -> (nested indexes) -> manifest -> config + layers. */
static int oci_plan(int dirfd, const char *src, struct plan *p, struct nk_err *err)
{
	char rel[128] = "index.json";
	json_object *doc = NULL, *list, *layers = NULL, *config = NULL;
	int r = 0;
	for (int depth = 0; r == 0; depth++) {
		json_object_put(doc);
		if (!(doc = load_json(dirfd, rel, src, err)))
			return -err->code;
		if (!json_object_object_get_ex(doc, "manifests", &list))
			break;
		json_object *desc = pick_manifest(list, src, err);
		if (depth == MAX_INDEX_DEPTH)
			r = nk_err_msg(err, ELOOP, "%s: image indexes nested too deep", src);
		else
			r = desc ? blob_path(desc, rel, sizeof(rel), src, err) : -err->code;
	}
	if (r == 0 && (!json_object_object_get_ex(doc, "config", &config) ||
		       !json_object_object_get_ex(doc, "layers", &layers) ||
		       !json_object_is_type(layers, json_type_array)))
		r = nk_err_msg(err, EINVAL, "%s: manifest %s has no config or no layers list", src, rel);
	if (r == 0)
		r = blob_path(config, p->config, sizeof(p->config), src, err);
	for (size_t i = 0; r == 0 && i < json_object_array_length(layers); i++) {
		char path[128];
		r = blob_path(json_object_array_get_idx(layers, i), path, sizeof(path), src, err);
		if (r == 0)
			r = add_layer(p, path, src, err);
	}
	json_object_put(doc);
	return r;
}

/* manifest.json: [{"Config": "x.json", "Layers": ["a/layer.tar", ...]}, ...]; first image. */
static int docker_plan(int dirfd, const char *src, struct plan *p, struct nk_err *err)
{
	json_object *doc = load_json(dirfd, "manifest.json", src, err), *layers = NULL;
	if (!doc)
		return -err->code;
	json_object *img = json_object_is_type(doc, json_type_array)
		? json_object_array_get_idx(doc, 0) : NULL;
	const char *config = img ? str_of(img, "Config") : NULL;
	int r = 0;
	if (!config || !json_object_object_get_ex(img, "Layers", &layers) ||
	    !json_object_is_type(layers, json_type_array))
		r = nk_err_msg(err, EINVAL, "%s/manifest.json lists no image with Config and Layers; "
			       "re-export it with `docker save`", src);
	if (r == 0 && (r = check_rel(config, src, err)) == 0)
		r = nk_fmt(p->config, sizeof(p->config), "%s", config);
	for (size_t i = 0; r == 0 && i < json_object_array_length(layers); i++) {
		json_object *l = json_object_array_get_idx(layers, i);
		const char *rel = json_object_is_type(l, json_type_string) ? json_object_get_string(l)
									   : NULL;
		r = check_rel(rel, src, err);
		if (r == 0)
			r = add_layer(p, rel, src, err);
	}
	json_object_put(doc);
	return r;
}

static int str_array(json_object *cfg, const char *key, char ***out, struct nk_err *err)
{
	json_object *v;
	if (!json_object_object_get_ex(cfg, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
	if (!json_object_is_type(v, json_type_array) || n > MAX_ARGS)
		return nk_err_msg(err, EINVAL, "image config: %s must be a list of strings", key);
	char **arr = calloc(n + 1, sizeof(*arr));
	if (!arr)
		return nk_err_set(err, ENOMEM, "image config: %s", key);
	*out = arr;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(v, i);
		if (!json_object_is_type(s, json_type_string))
			return nk_err_msg(err, EINVAL, "image config: %s[%zu] is not a string", key, i);
		if (!(arr[i] = strdup(json_object_get_string(s))))
			return nk_err_set(err, ENOMEM, "image config: %s", key);
	}
	return 0;
}

int nk_oci_parse_config(const char *json, size_t len, struct nk_image_defaults *d,
			struct nk_err *err)
{
	memset(d, 0, sizeof(*d));
	json_object *root = parse_json(json, len, "image config", err), *cfg, *wd;
	if (!root)
		return err ? -err->code : -EINVAL;
	int r = 0;
	if (!json_object_is_type(root, json_type_object))
		r = nk_err_msg(err, EINVAL, "image config is not a JSON object");
	else if (!json_object_object_get_ex(root, "config", &cfg) ||
		 json_object_is_type(cfg, json_type_null))
		goto out; /* an image without defaults: the run must say what to start */
	else if (!json_object_is_type(cfg, json_type_object))
		r = nk_err_msg(err, EINVAL, "image config: \"config\" is not an object");
	if (r == 0)
		r = str_array(cfg, "Entrypoint", &d->entrypoint, err);
	if (r == 0)
		r = str_array(cfg, "Cmd", &d->cmd, err);
	if (r == 0)
		r = str_array(cfg, "Env", &d->env, err);
	if (r == 0 && json_object_object_get_ex(cfg, "WorkingDir", &wd) &&
	    !json_object_is_type(wd, json_type_null)) {
		if (!json_object_is_type(wd, json_type_string))
			r = nk_err_msg(err, EINVAL, "image config: WorkingDir is not a string");
		else if (*json_object_get_string(wd) && !(d->workdir = strdup(json_object_get_string(wd))))
			r = nk_err_set(err, ENOMEM, "image config: WorkingDir");
	}
out:
	json_object_put(root);
	if (r < 0)
		defaults_clear(d);
	return r;
}

static int import_layout(const char *dir, const char *src, const char *dest,
			 struct nk_image_defaults *d, struct nk_err *err)
{
	nk_autoclose int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return nk_err_set(err, errno, "cannot open %s", dir);
	struct plan p = {.n_layers = 0};
	struct stat st;
	int r;
	if (fstatat(dirfd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0)
		r = oci_plan(dirfd, src, &p, err);
	else if (fstatat(dirfd, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0)
		r = docker_plan(dirfd, src, &p, err);
	else
		r = nk_err_msg(err, EINVAL, "%s is neither an OCI image layout (no oci-layout file) nor "
			       "a `docker save` archive (no manifest.json)", src);
	size_t len;
	nk_autofree char *cfg = r == 0 ? read_in(dirfd, p.config, src, &len, err) : NULL;
	if (r == 0)
		r = cfg ? nk_oci_parse_config(cfg, len, d, err) : -err->code;
	if (r < 0 && cfg)
		nk_err_prefix(err, "%s in %s", p.config, src);
	if (r == 0)
		r = nk_mkdir_p(dest, 0755, err);
	for (size_t i = 0; r == 0 && i < p.n_layers; i++) {
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "layer %zu (%s) of %s", i + 1, p.layers[i], src);
		nk_autoclose int fd = nk_open_in_root(dirfd, p.layers[i], O_RDONLY);
		if (fd < 0)
			r = nk_err_set(err, -fd, "cannot open %s", what);
		else
			r = nk_tar_extract_fd(fd, what, dest, err);
	}
	plan_free(&p);
	return r;
}

int nk_oci_import(const char *source, const char *dest_rootfs, struct nk_image_defaults *defaults,
		  struct nk_err *err)
{
	struct nk_err local;
	if (!err)
		err = &local;
	memset(defaults, 0, sizeof(*defaults));
	nk_err_clear(err);
	struct stat st;
	if (stat(source, &st) < 0)
		return nk_err_set(err, errno, "cannot import %s", source);
	if (S_ISDIR(st.st_mode))
		return import_layout(source, source, dest_rootfs, defaults, err);
	if (!S_ISREG(st.st_mode))
		return nk_err_msg(err, EINVAL, "cannot import %s: not a directory or a tar file", source);
	/* A tarball is unpacked whole next to dest (same filesystem, same cleanup), then read
	 * as a directory; its symlinks are harmless there because every lookup stays in-root. */
	char tmp[PATH_MAX];
	size_t n = strlen(dest_rootfs);
	while (n > 1 && dest_rootfs[n - 1] == '/')
		n--;
	if (nk_fmt(tmp, sizeof(tmp), "%.*s.oci-XXXXXX", (int)n, dest_rootfs) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long: %s", dest_rootfs);
	if (!mkdtemp(tmp))
		return nk_err_set(err, errno, "cannot create a scratch directory %s", tmp);
	int r = nk_tar_extract(source, tmp, err);
	if (r == 0)
		r = import_layout(tmp, source, dest_rootfs, defaults, err);
	struct nk_err rm_err;
	if (nk_rm_rf(tmp, &rm_err) < 0)
		fprintf(stderr, "nook: warning: %s; remove it by hand\n", rm_err.msg);
	if (r < 0)
		defaults_clear(defaults);
	return r;
}

/* The header names of a tarball decide; a rootfs tarball gives itself away early by etc/ or usr/. */
static int tar_is_image(const char *path)
{
	struct archive *a = archive_read_new();
	if (!a)
		return 0;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int found = 0;
	struct archive_entry *e;
	if (archive_read_open_filename(a, path, 65536) == ARCHIVE_OK) {
		while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
			const char *name = archive_entry_pathname(e);
			while (name && (*name == '/' || (name[0] == '.' && name[1] == '/')))
				name += *name == '/' ? 1 : 2;
			if (!name)
				continue;
			if (!strcmp(name, "oci-layout") || !strcmp(name, "manifest.json"))
				found = 1;
			else if (!strncmp(name, "etc/", 4) || !strncmp(name, "usr/", 4) ||
				 !strcmp(name, "etc") || !strcmp(name, "usr"))
				break;
		}
	}
	archive_read_free(a);
	return found;
}

int nk_oci_detect(const char *source)
{
	struct stat st;
	if (stat(source, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return tar_is_image(source);
	if (!S_ISDIR(st.st_mode))
		return 0;
	nk_autoclose int fd = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstatat(fd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		return 1;
	/* A root filesystem might hold a stray manifest.json; it also holds etc/. */
	return fstatat(fd, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       fstatat(fd, "etc", &st, AT_SYMLINK_NOFOLLOW) < 0;
}
