/* Private to the image importers (image-tar.c, image-oci.c), their unit tests and fuzz targets. */
#ifndef NOOK_IMAGE_OCI_INTERNAL_H
#define NOOK_IMAGE_OCI_INTERNAL_H

#include <stddef.h>

#include "err.h"
#include "image.h"

/* Parse an OCI image config document into d (zeroed first; left empty on error). */
int nk_oci_parse_config(const char *json, size_t len, struct nk_image_defaults *d,
			struct nk_err *err) NK_MUST_CHECK;

/* nk_tar_extract reading from an open descriptor; what names the archive in messages. */
int nk_tar_extract_fd(int fd, const char *what, const char *dest, struct nk_err *err) NK_MUST_CHECK;

/* Open rel beneath rootfd, resolving symlinks as if rootfd were "/", so nothing escapes it.
 * Without openat2 no symlink is followed at all. Returns a descriptor or -errno. */
int nk_open_in_root(int rootfd, const char *rel, int flags);

#endif
