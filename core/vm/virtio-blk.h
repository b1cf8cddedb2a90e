/* virtio-blk: a disk backed by a host file or block device (read, write, flush, get-id). */
#ifndef NOOK_VM_VIRTIO_BLK_H
#define NOOK_VM_VIRTIO_BLK_H

#include <stdbool.h>

#include "core/err.h"
#include "core/vm/virtio-mmio.h"

struct nk_virtio_blk_cfg {
	int fd;             /* O_RDWR (O_RDONLY is enough with read_only); not closed by us */
	bool read_only;     /* offer VIRTIO_BLK_F_RO and fail every write with IOERR */
	const char *serial; /* VIRTIO_BLK_T_GET_ID answer, at most 20 bytes used; NULL: "nook" */
};

struct nk_virtio_blk;

/* The capacity is the file's size (or the block device's) in 512-byte sectors, taken now;
 * a trailing partial sector is not visible to the guest. */
int nk_virtio_blk_create(const struct nk_virtio_blk_cfg *cfg, struct nk_virtio_blk **out,
			 struct nk_err *err) NK_MUST_CHECK;
void nk_virtio_blk_destroy(struct nk_virtio_blk *blk);
/* For nk_virtio_mmio_create. */
struct nk_virtio_dev *nk_virtio_blk_dev(struct nk_virtio_blk *blk);

#endif
