/* Images: named root filesystems under NOOK_ROOT/images, with the defaults a run starts from. */
#ifndef NOOK_IMAGE_H
#define NOOK_IMAGE_H

#include <limits.h>

#include "err.h"

struct nk_paths;

/* Defaults an image brings (from an OCI image config); every field may be NULL. */
struct nk_image_defaults {
	char **entrypoint; /* NULL-terminated, malloc'd */
	char **cmd;        /* NULL-terminated, malloc'd */
	char **env;        /* NULL-terminated "K=V", malloc'd */
	char *workdir;
};

/* A resolved image: where its root filesystem is, and what it defaults to. */
struct nk_image {
	char name[128];
	char rootfs[PATH_MAX]; /* read-only lower layer ("/" for the host image) */
	int is_host;           /* the host's own root, masked where nook keeps state */
	struct nk_image_defaults defaults;
};

void nk_image_defaults_free(struct nk_image_defaults *d);

/* Find an image by name, building `busybox` on first use. */
int nk_image_resolve(const struct nk_paths *paths, const char *name, struct nk_image *img,
		     struct nk_err *err) NK_MUST_CHECK;
void nk_image_release(struct nk_image *img);

/* Import NAME from a directory, a rootfs tarball, an OCI layout or a `docker save` tarball. */
int nk_image_import(const struct nk_paths *paths, const char *name, const char *source,
		    struct nk_err *err) NK_MUST_CHECK;
int nk_image_remove(const struct nk_paths *paths, const char *name, struct nk_err *err) NK_MUST_CHECK;

/* One line per image for `image ls`; callback gets name, kind and size in bytes. */
typedef void (*nk_image_visit_fn)(const char *name, const char *source, unsigned long long bytes,
				  void *opaque);
int nk_image_list(const struct nk_paths *paths, nk_image_visit_fn visit, void *opaque,
		  struct nk_err *err) NK_MUST_CHECK;

/* --- importers (image-tar.c, image-oci.c) ------------------------------------------- */

/* Extract a tar (plain, gzip, xz, zstd...) into dest, an existing directory. Applies OCI
 * whiteouts (.wh.NAME deletes NAME, .wh..wh..opq empties the directory) against what is
 * already in dest, so layers extracted in order build the image. No entry ever writes
 * outside dest: absolute paths, "..", and symlinks pointing out are all contained. */
int nk_tar_extract(const char *tar_path, const char *dest, struct nk_err *err) NK_MUST_CHECK;

/* True when source (a directory or a tar file) is an OCI image layout or `docker save`. */
int nk_oci_detect(const char *source);

/* Unpack the image's layers in order into dest_rootfs and read its config's defaults
 * (Entrypoint, Cmd, Env, WorkingDir). source is an OCI layout directory or tarball, or a
 * `docker save` tarball. Picks the linux/amd64 manifest when there is an index of several. */
int nk_oci_import(const char *source, const char *dest_rootfs, struct nk_image_defaults *defaults,
		  struct nk_err *err) NK_MUST_CHECK;

#endif
