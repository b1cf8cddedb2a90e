/* The virtio-mmio transport (version 2): registers, feature negotiation, queue set-up,
 * interrupts, reset; devices (blk, net, rng) plug in behind struct nk_virtio_dev_ops.
 *
 * Wiring, for the VMM (see tests/vm-guest/README.md for a full example):
 *	nk_virtio_blk_create(&cfg, &blk, err);
 *	nk_vm_alloc_mmio(vm, NK_VIRTIO_MMIO_SIZE, &base, &gsi);   // also extends the cmdline
 *	struct nk_vm_irq irq = nk_vm_irq_line(vm, gsi);
 *	nk_virtio_mmio_create(nk_virtio_blk_dev(blk), nk_vm_memory(vm), &irq, &t, err);
 *	nk_vm_register_dev(vm, "virtio-blk", NK_VM_BUS_MMIO, base, NK_VIRTIO_MMIO_SIZE,
 *			   &nk_virtio_mmio_bus_ops, t, err);
 * Tear down after the vCPUs and the I/O thread are gone: nk_virtio_mmio_destroy(t),
 * then the device's destroy.
 *
 * What a misbehaving driver gets:
 * - Breaking the ring protocol (anything nk_virtq_pop refuses, a queue made ready with a
 *   bad size or bad ring addresses, a block request with no writable status byte) sets
 *   DEVICE_NEEDS_RESET, sends a config-change interrupt when DRIVER_OK is set, and stops
 *   every queue of the device until the driver writes Status = 0. The request is not
 *   returned: with a broken ring there is no safe way to. nk_virtio_mmio_take_error says
 *   what happened, for the VMM's log.
 * - A well-formed request the device cannot serve (sector out of range, write to a
 *   read-only disk, unknown type, a read into device-readable buffers, a runt frame)
 *   fails alone: blk status IOERR/UNSUPP, net frame dropped and counted.
 * - Queue registers (QueueNum, QueueDesc/Driver/Device) written while the queue is
 *   ready are ignored: the live queue keeps the layout it was checked with. Writing
 *   QueueReady = 0 first (or resetting) makes them writable again.
 * - Features: FEATURES_OK is refused (reads back clear) unless the driver accepted
 *   VIRTIO_F_VERSION_1 and nothing that was not offered; DRIVER_OK without FEATURES_OK
 *   is ignored. Transport features offered: VERSION_1, RING_INDIRECT_DESC (no EVENT_IDX:
 *   VRING_AVAIL_F_NO_INTERRUPT is honoured instead).
 *
 * Threading contract:
 * - The bus ops may be called from any number of vCPU threads at once.
 * - A QueueNotify write calls the kick hook if one is set (nk_virtio_mmio_set_kick) and
 *   returns at once; the VMM's I/O thread then calls nk_virtio_mmio_notify(t, queue),
 *   which does the device I/O on that thread. Without a hook the I/O runs inline on the
 *   vCPU thread that wrote QueueNotify. (With an ioeventfd on QueueNotify, KVM never
 *   exits: the I/O thread reads the eventfd and calls nk_virtio_mmio_notify. Without a
 *   datamatch the eventfd does not say which queue: notify each one, an idle queue
 *   costs one index read.)
 * - nk_virtio_mmio_notify, nk_virtio_net_poll_rx and the bus ops are safe to call from
 *   different threads at the same time. Each queue has a lock held while it is being
 *   processed; a reset (Status = 0) or a QueueReady change waits for it, so no device
 *   touches guest memory after the driver has seen the reset complete.
 * - Lock order: queue locks (by index) before the register lock. irq->set is called
 *   with the register lock held and must not call back into the device.
 *
 * Interrupts are level-triggered: the line is raised when InterruptStatus turns non-zero
 * and lowered when an InterruptACK write brings it back to zero (or on reset). This is
 * correct whether the guest programs the pin edge- or level-triggered. */
#ifndef NOOK_VM_VIRTIO_MMIO_H
#define NOOK_VM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/vm/virtqueue.h"
#include "core/vm/vm.h"

/* Size of the register window to register on the bus (config space starts at 0x100). */
#define NK_VIRTIO_MMIO_SIZE 0x200
#define NK_VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define NK_VIRTIO_MMIO_VENDOR 0x4b4f4f4e /* "NOOK" */
#define NK_VIRTIO_MAX_QUEUES 8

/* Register offsets (virtio 1.x, 4.2.2). */
enum {
	NK_VIRTIO_MMIO_MAGIC_VALUE = 0x000,
	NK_VIRTIO_MMIO_VERSION = 0x004,
	NK_VIRTIO_MMIO_DEVICE_ID = 0x008,
	NK_VIRTIO_MMIO_VENDOR_ID = 0x00c,
	NK_VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
	NK_VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
	NK_VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
	NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
	NK_VIRTIO_MMIO_QUEUE_SEL = 0x030,
	NK_VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
	NK_VIRTIO_MMIO_QUEUE_NUM = 0x038,
	NK_VIRTIO_MMIO_QUEUE_READY = 0x044,
	NK_VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
	NK_VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
	NK_VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
	NK_VIRTIO_MMIO_STATUS = 0x070,
	NK_VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
	NK_VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
	NK_VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
	NK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
	NK_VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
	NK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
	NK_VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
	NK_VIRTIO_MMIO_CONFIG = 0x100,
};

/* Device status bits and interrupt causes. */
#define NK_VIRTIO_S_ACKNOWLEDGE 0x01
#define NK_VIRTIO_S_DRIVER 0x02
#define NK_VIRTIO_S_DRIVER_OK 0x04
#define NK_VIRTIO_S_FEATURES_OK 0x08
#define NK_VIRTIO_S_NEEDS_RESET 0x40
#define NK_VIRTIO_S_FAILED 0x80
#define NK_VIRTIO_INT_USED 0x1
#define NK_VIRTIO_INT_CONFIG 0x2

/* Feature bits every device gets from the transport. */
#define NK_VIRTIO_F_VERSION_1 32

struct nk_virtio_mmio;
struct nk_virtio_dev;

/* What a device provides. Callbacks run with the locks described above:
 * config_read/config_write under the register lock; reset under every queue lock and the
 * register lock; notify with no lock held (it takes its queue with
 * nk_virtio_mmio_queue_get). */
struct nk_virtio_dev_ops {
	const char *name;           /* "virtio-blk", for messages */
	uint32_t device_id;         /* 1 net, 2 block, 4 entropy */
	uint16_t num_queues;        /* <= NK_VIRTIO_MAX_QUEUES */
	uint16_t queue_max;         /* QueueNumMax, a power of two <= NK_VQ_MAX_SIZE */
	uint64_t (*features)(struct nk_virtio_dev *dev); /* device-specific bits offered */
	/* Config space; offset + len <= 0x100. Reads past the device's config fill 0xff. */
	void (*config_read)(struct nk_virtio_dev *dev, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(struct nk_virtio_dev *dev, uint32_t offset, const void *data, uint32_t len);
	/* The driver made buffers available on queue: process them, on the calling thread. */
	void (*notify)(struct nk_virtio_dev *dev, uint16_t queue);
	/* Status = 0: forget everything per-session; queues are already reset. */
	void (*reset)(struct nk_virtio_dev *dev);
};

/* The part of every device the transport knows; devices embed it. */
struct nk_virtio_dev {
	const struct nk_virtio_dev_ops *ops;
	struct nk_virtio_mmio *transport; /* set by nk_virtio_mmio_create */
};

/* The bus handlers; opaque is the struct nk_virtio_mmio. Registers need aligned 32-bit
 * accesses (others read as all-ones and are dropped); config space takes 1, 2, 4 or 8. */
extern const struct nk_vm_dev_ops nk_virtio_mmio_bus_ops;

/* mem and irq must outlive the transport; *irq is copied. */
int nk_virtio_mmio_create(struct nk_virtio_dev *dev, const struct nk_vm_mem *mem,
			  const struct nk_vm_irq *irq, struct nk_virtio_mmio **out,
			  struct nk_err *err) NK_MUST_CHECK;
void nk_virtio_mmio_destroy(struct nk_virtio_mmio *t);

/* Route QueueNotify writes to kick(opaque, queue) instead of processing them inline.
 * Call before the device is registered on the bus. */
void nk_virtio_mmio_set_kick(struct nk_virtio_mmio *t, void (*kick)(void *opaque, uint16_t queue),
			     void *opaque);

/* Process queue now, on this thread (what a QueueNotify write means). Ignores queues
 * that do not exist or are not live. */
void nk_virtio_mmio_notify(struct nk_virtio_mmio *t, uint16_t queue);

/* For devices: lock queue for processing. Returns NULL (and holds nothing) unless the
 * device is DRIVER_OK, the queue is ready and not broken. Always pair a non-NULL result
 * with nk_virtio_mmio_queue_put, which interrupts the driver if buffers were used and it
 * wants to know, or sets DEVICE_NEEDS_RESET if the queue broke. */
struct nk_virtq *nk_virtio_mmio_queue_get(struct nk_virtio_mmio *t, uint16_t queue);
void nk_virtio_mmio_queue_put(struct nk_virtio_mmio *t, uint16_t queue);

/* The device status register, and the features the driver accepted (valid once the
 * status has FEATURES_OK). */
uint32_t nk_virtio_mmio_status(struct nk_virtio_mmio *t);
uint64_t nk_virtio_mmio_features(struct nk_virtio_mmio *t);

/* The device's config space changed: bump ConfigGeneration, send a config interrupt. */
void nk_virtio_mmio_config_changed(struct nk_virtio_mmio *t);

/* For config_read callbacks: copy bytes [offset, offset + len) of a device's config
 * structure to data; bytes past its end read as 0xff. */
void nk_virtio_config_copy(const void *config, uint32_t config_len, uint32_t offset, void *data,
			   uint32_t len);

/* Copy out (and clear) the latest protocol violation by the driver, for the VMM's log;
 * false when there was none since the last call. */
bool nk_virtio_mmio_take_error(struct nk_virtio_mmio *t, struct nk_err *err);

#endif
