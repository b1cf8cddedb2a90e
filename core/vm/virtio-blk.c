/* virtio-blk: requests from the guest's queue turned into preadv/pwritev/fdatasync on a file. */
#include "core/vm/virtio-blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK 2
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_FLUSH 9
#define SECTOR 512
#define ID_BYTES 20
#define HDR_BYTES 16 /* le32 type, le32 reserved, le64 sector */
#define QUEUE_MAX 256
#define CONFIG_BYTES 24 /* capacity, size_max, seg_max, geometry, blk_size */

struct nk_virtio_blk {
	struct nk_virtio_dev dev;
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	char serial[ID_BYTES];
	uint8_t config[CONFIG_BYTES];
	/* Scratch for the request being handled; used only under the queue's lock. */
	struct nk_vq_chain chain;
	struct iovec iov[NK_VQ_MAX_SEGS];
};

static struct nk_virtio_blk *to_blk(struct nk_virtio_dev *dev)
{
	return (struct nk_virtio_blk *)dev;
}

/* All of [off, off + total) through iov, resuming after short transfers. */
static int full_io(int fd, struct iovec *iov, int n, uint64_t off, uint64_t total, bool write)
{
	while (total) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO; /* 0: the file shrank under us */
		off += (uint64_t)r;
		total -= (uint64_t)r;
		size_t left = (size_t)r;
		while (n && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/* Data transfer for IN (disk to guest) and OUT (guest to disk). */
static uint8_t transfer(struct nk_virtio_blk *b, const struct nk_vq_chain *c, uint64_t sector,
			bool write, uint32_t *written)
{
	/* IN: only the header is readable, the data is writable (a read-only data buffer is
	 * refused, not written). OUT: header then data readable, then the status byte. */
	uint64_t len = write ? c->read_len - HDR_BYTES : c->write_len - 1u;
	if (!write && c->read_len != HDR_BYTES)
		return BLK_S_IOERR;
	if (len % SECTOR || sector > b->capacity || len / SECTOR > b->capacity - sector)
		return BLK_S_IOERR;
	if (len == 0)
		return BLK_S_OK;
	int n = nk_vq_chain_iov(c, !write, write ? HDR_BYTES : 0, len, b->iov, NK_VQ_MAX_SEGS);
	if (n < 0 || full_io(b->fd, b->iov, n, sector * SECTOR, len, write) < 0)
		return BLK_S_IOERR;
	if (!write)
		*written = (uint32_t)len;
	return BLK_S_OK;
}

static uint8_t request(struct nk_virtio_blk *b, const struct nk_vq_chain *c, uint32_t *written)
{
	uint8_t hdr[HDR_BYTES];
	if (nk_vq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr))
		return BLK_S_IOERR;
	uint32_t type;
	uint64_t sector;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case BLK_T_IN:
		return transfer(b, c, sector, false, written);
	case BLK_T_OUT:
		if (b->read_only)
			return BLK_S_IOERR;
		return transfer(b, c, sector, true, written);
	case BLK_T_FLUSH:
		if (!b->read_only && fdatasync(b->fd) < 0)
			return BLK_S_IOERR;
		return BLK_S_OK;
	case BLK_T_GET_ID: {
		uint32_t n = c->write_len - 1u < ID_BYTES ? c->write_len - 1u : ID_BYTES;
		*written = (uint32_t)nk_vq_chain_write(c, 0, b->serial, n);
		return BLK_S_OK;
	}
	default:
		return BLK_S_UNSUPP;
	}
}

static void blk_notify(struct nk_virtio_dev *dev, uint16_t queue)
{
	struct nk_virtio_blk *b = to_blk(dev);
	struct nk_virtq *vq = nk_virtio_mmio_queue_get(dev->transport, queue);
	if (!vq)
		return;
	struct nk_vq_chain *c = &b->chain;
	/* Everything available when we started; later buffers come with their own notify. */
	for (unsigned i = 0; i < vq->size; i++) {
		if (nk_virtq_pop(vq, c) <= 0)
			break;
		if (c->write_len == 0) {
			/* Nowhere to say the request failed: the driver is broken. */
			nk_virtq_fail(vq, "chain %u: block request without a writable status byte", c->head);
			break;
		}
		uint32_t written = 0;
		uint8_t status = request(b, c, &written);
		/* Written last: the driver takes the status byte as "the data is there". */
		nk_vq_chain_write(c, c->write_len - 1u, &status, 1);
		nk_virtq_push(vq, c, written + 1);
	}
	nk_virtio_mmio_queue_put(dev->transport, queue);
}

static uint64_t blk_features(struct nk_virtio_dev *dev)
{
	struct nk_virtio_blk *b = to_blk(dev);
	return (1ull << BLK_F_SEG_MAX) | (1ull << BLK_F_FLUSH) | (b->read_only ? 1ull << BLK_F_RO : 0);
}

static void blk_config_read(struct nk_virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct nk_virtio_blk *b = to_blk(dev);
	nk_virtio_config_copy(b->config, sizeof(b->config), offset, data, len);
}

static const struct nk_virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = QUEUE_MAX,
	.features = blk_features,
	.config_read = blk_config_read,
	.notify = blk_notify,
};

static int backing_size(int fd, uint64_t *size, struct nk_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return nk_err_set(err, errno, "virtio-blk: cannot stat the backing file");
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return nk_err_set(err, errno, "virtio-blk: cannot get the block device's size");
		return 0;
	}
	return nk_err_msg(err, EINVAL, "virtio-blk: the backing file must be a regular file or a "
			  "block device");
}

int nk_virtio_blk_create(const struct nk_virtio_blk_cfg *cfg, struct nk_virtio_blk **out,
			 struct nk_err *err)
{
	int fl = fcntl(cfg->fd, F_GETFL);
	if (fl < 0)
		return nk_err_set(err, errno, "virtio-blk: bad backing file descriptor %d", cfg->fd);
	if (!cfg->read_only && (fl & O_ACCMODE) == O_RDONLY)
		return nk_err_msg(err, EBADF, "virtio-blk: the backing file is open read-only; open it "
				  "read-write or attach the disk read-only");
	uint64_t size;
	int r = backing_size(cfg->fd, &size, err);
	if (r < 0)
		return r;
	struct nk_virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return nk_err_set(err, ENOMEM, "virtio-blk: cannot allocate the device");
	b->dev.ops = &blk_ops;
	b->fd = cfg->fd;
	b->read_only = cfg->read_only;
	b->capacity = size / SECTOR;
	const char *serial = cfg->serial ? cfg->serial : "nook";
	/* Zero-padded, and not NUL-terminated when it is 20 bytes long (as the spec says). */
	memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
	uint32_t seg_max = QUEUE_MAX - 2; /* plus header and status: one full chain */
	memcpy(b->config, &b->capacity, 8);
	memcpy(b->config + 12, &seg_max, 4);
	*out = b;
	return 0;
}

void nk_virtio_blk_destroy(struct nk_virtio_blk *blk)
{
	free(blk);
}

struct nk_virtio_dev *nk_virtio_blk_dev(struct nk_virtio_blk *blk)
{
	return &blk->dev;
}
