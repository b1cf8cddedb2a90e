/* Private helpers shared by the image sources. */
#ifndef NOOK_IMAGE_INTERNAL_H
#define NOOK_IMAGE_INTERNAL_H

#include "err.h"
#include "image.h"
#include "paths.h"

/* Copy a directory tree (not crossing into other file systems) into dest, which exists. */
int nk_image_copy_tree(const char *source, const char *dest, struct nk_err *err) NK_MUST_CHECK;

/* Copy one file into dest_dir under name, keeping its mode. */
int nk_image_copy_file(const char *source, const char *dest_dir, const char *name,
		       struct nk_err *err) NK_MUST_CHECK;

/* Build the busybox image from the host's static busybox into rootfs (an empty dir). */
int nk_image_build_busybox(const char *rootfs, struct nk_err *err) NK_MUST_CHECK;

/* image.json: where the image came from and its defaults. */
int nk_image_meta_write(const char *path, const char *source, const struct nk_image_defaults *d,
			struct nk_err *err) NK_MUST_CHECK;
int nk_image_meta_read(const char *path, struct nk_image_defaults *d, char *source, size_t size,
		       struct nk_err *err) NK_MUST_CHECK;

#endif
