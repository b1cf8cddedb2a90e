/* The virtio-mmio transport, version 2: the register file a guest driver programs. */
#include "core/vm/virtio-mmio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Per-queue registers as the driver wrote them, and the live queue built from them. */
struct mmio_queue {
	pthread_mutex_t lock; /* held while the queue is processed */
	uint32_t num;
	uint32_t ready;
	uint64_t desc, driver, device;
	bool reported;        /* its breakage already turned into DEVICE_NEEDS_RESET */
	struct nk_virtq vq;
};

struct nk_virtio_mmio {
	pthread_mutex_t lock; /* the registers below */
	struct nk_virtio_dev *dev;
	const struct nk_vm_mem *mem;
	struct nk_vm_irq irq;
	void (*kick)(void *opaque, uint16_t queue);
	void *kick_opaque;
	uint64_t offered;        /* device features plus the transport's */
	uint64_t driver_features; /* as written */
	uint64_t negotiated;     /* accepted at FEATURES_OK */
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint32_t status, isr, config_gen;
	bool irq_high;
	bool has_error;
	struct nk_err error;
	uint16_t num_queues;
	struct mmio_queue q[NK_VIRTIO_MAX_QUEUES];
};

static void irq_update(struct nk_virtio_mmio *t)
{
	bool want = t->isr != 0;
	if (want == t->irq_high)
		return;
	t->irq_high = want;
	if (t->irq.set)
		t->irq.set(t->irq.opaque, t->irq.gsi, want);
}

static void record_error(struct nk_virtio_mmio *t, const struct nk_err *e)
{
	t->error = *e;
	t->has_error = true;
}

/* The driver broke the protocol: stop every queue until it resets the device. */
static void needs_reset(struct nk_virtio_mmio *t, const struct nk_err *why)
{
	record_error(t, why);
	if (t->status & NK_VIRTIO_S_NEEDS_RESET)
		return;
	t->status |= NK_VIRTIO_S_NEEDS_RESET;
	if (t->status & NK_VIRTIO_S_DRIVER_OK) {
		t->isr |= NK_VIRTIO_INT_CONFIG;
		irq_update(t);
	}
}

static void lock_all(struct nk_virtio_mmio *t)
{
	for (unsigned i = 0; i < t->num_queues; i++)
		pthread_mutex_lock(&t->q[i].lock);
	pthread_mutex_lock(&t->lock);
}

static void unlock_all(struct nk_virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
	for (unsigned i = t->num_queues; i-- > 0;)
		pthread_mutex_unlock(&t->q[i].lock);
}

static void queue_reset(struct nk_virtio_mmio *t, struct mmio_queue *q)
{
	nk_virtq_disable(&q->vq);
	q->num = t->dev->ops->queue_max;
	q->ready = 0;
	q->desc = q->driver = q->device = 0;
	q->reported = false;
}

/* Status = 0. Callers hold every lock. */
static void device_reset(struct nk_virtio_mmio *t)
{
	for (unsigned i = 0; i < t->num_queues; i++)
		queue_reset(t, &t->q[i]);
	t->driver_features = t->negotiated = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->status = 0;
	t->isr = 0;
	irq_update(t);
	if (t->dev->ops->reset)
		t->dev->ops->reset(t->dev);
}

static struct mmio_queue *selected(struct nk_virtio_mmio *t)
{
	return t->queue_sel < t->num_queues ? &t->q[t->queue_sel] : NULL;
}

static void queue_ready_write(struct nk_virtio_mmio *t, uint32_t val)
{
	struct mmio_queue *q = selected(t);
	if (!q)
		return;
	if (!val) {
		nk_virtq_disable(&q->vq);
		q->ready = 0;
		return;
	}
	if (q->ready)
		return;
	struct nk_err err = {0};
	bool indirect = t->negotiated & (1ull << NK_VIRTIO_F_INDIRECT_DESC);
	if (nk_virtq_enable(&q->vq, t->mem, q->num, t->dev->ops->queue_max, q->desc, q->driver,
			    q->device, indirect, &err) < 0) {
		nk_err_prefix(&err, "%s queue %u", t->dev->ops->name, t->queue_sel);
		needs_reset(t, &err);
		return;
	}
	q->ready = 1;
	q->reported = false;
}

/* Returns true when the driver just set DRIVER_OK (the caller then kicks every queue:
 * buffers made available before DRIVER_OK were not processed). */
static bool status_write(struct nk_virtio_mmio *t, uint32_t val)
{
	if (val == 0) {
		device_reset(t);
		return false;
	}
	uint32_t old = t->status;
	/* DEVICE_NEEDS_RESET is the device's bit; the driver can neither set nor clear it. */
	val = (val & ~(uint32_t)NK_VIRTIO_S_NEEDS_RESET) | (old & NK_VIRTIO_S_NEEDS_RESET);
	if ((val & old) != old)
		return false; /* clearing bits needs a reset; ignore */
	if ((val & NK_VIRTIO_S_FEATURES_OK) && !(old & NK_VIRTIO_S_FEATURES_OK)) {
		uint64_t extra = t->driver_features & ~t->offered;
		struct nk_err err = {0};
		if (extra)
			nk_err_msg(&err, EINVAL, "%s: driver accepted features 0x%llx that were not offered",
				   t->dev->ops->name, (unsigned long long)extra);
		else if (!(t->driver_features & (1ull << NK_VIRTIO_F_VERSION_1)))
			nk_err_msg(&err, EINVAL, "%s: driver did not accept VIRTIO_F_VERSION_1 (legacy "
				   "drivers are not supported)", t->dev->ops->name);
		if (err.code) {
			/* The driver reads FEATURES_OK back and gives up when it is not set. */
			record_error(t, &err);
			val &= ~(uint32_t)NK_VIRTIO_S_FEATURES_OK;
		} else {
			t->negotiated = t->driver_features;
		}
	}
	if ((val & NK_VIRTIO_S_DRIVER_OK) && !(val & NK_VIRTIO_S_FEATURES_OK))
		val &= ~(uint32_t)NK_VIRTIO_S_DRIVER_OK;
	t->status = val;
	return (val & NK_VIRTIO_S_DRIVER_OK) && !(old & NK_VIRTIO_S_DRIVER_OK);
}

static uint32_t reg_read(struct nk_virtio_mmio *t, uint64_t off)
{
	struct mmio_queue *q = selected(t);
	switch (off) {
	case NK_VIRTIO_MMIO_MAGIC_VALUE:
		return NK_VIRTIO_MMIO_MAGIC;
	case NK_VIRTIO_MMIO_VERSION:
		return 2;
	case NK_VIRTIO_MMIO_DEVICE_ID:
		return t->dev->ops->device_id;
	case NK_VIRTIO_MMIO_VENDOR_ID:
		return NK_VIRTIO_MMIO_VENDOR;
	case NK_VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel < 2 ? (uint32_t)(t->offered >> (32 * t->dev_features_sel)) : 0;
	case NK_VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? t->dev->ops->queue_max : 0;
	case NK_VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case NK_VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case NK_VIRTIO_MMIO_STATUS:
		return t->status;
	case NK_VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_gen;
	case 0x0b0: /* SHMLenLow/High: all-ones means "no shared memory region" */
	case 0x0b4:
		return 0xffffffff;
	default:
		return 0; /* write-only and reserved registers */
	}
}

static void set_half(uint64_t *v, uint32_t sel, uint32_t val)
{
	*v = sel ? (*v & 0xffffffffull) | ((uint64_t)val << 32) : (*v & ~0xffffffffull) | val;
}

/* Queue address registers. Once a queue is ready they are ignored: the live queue keeps
 * the addresses it was checked with; to move a queue, the driver resets the device (or
 * writes QueueReady = 0 first). */
static void queue_reg_write(struct nk_virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct mmio_queue *q = selected(t);
	if (!q || q->ready)
		return;
	switch (off) {
	case NK_VIRTIO_MMIO_QUEUE_NUM: q->num = val; break;
	case NK_VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc, 0, val); break;
	case NK_VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc, 1, val); break;
	case NK_VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->driver, 0, val); break;
	case NK_VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->driver, 1, val); break;
	case NK_VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->device, 0, val); break;
	case NK_VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->device, 1, val); break;
	}
}

/* Register writes that need only the register lock. */
static void reg_write(struct nk_virtio_mmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case NK_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = val;
		break;
	case NK_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = val;
		break;
	case NK_VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->drv_features_sel < 2 && !(t->status & NK_VIRTIO_S_FEATURES_OK))
			set_half(&t->driver_features, t->drv_features_sel, val);
		break;
	case NK_VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case NK_VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~val;
		irq_update(t);
		break;
	default:
		queue_reg_write(t, off, val);
	}
}

static void kick(struct nk_virtio_mmio *t, uint16_t queue)
{
	if (t->kick)
		t->kick(t->kick_opaque, queue);
	else
		nk_virtio_mmio_notify(t, queue);
}

static void bus_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct nk_virtio_mmio *t = opaque;
	memset(data, 0xff, len);
	if (off >= NK_VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - NK_VIRTIO_MMIO_CONFIG;
		if ((len == 1 || len == 2 || len == 4 || len == 8) && coff + len <= 0x100 &&
		    t->dev->ops->config_read) {
			pthread_mutex_lock(&t->lock);
			t->dev->ops->config_read(t->dev, (uint32_t)coff, data, len);
			pthread_mutex_unlock(&t->lock);
		}
		return;
	}
	if (len != 4 || off % 4)
		return;
	pthread_mutex_lock(&t->lock);
	uint32_t v = reg_read(t, off);
	pthread_mutex_unlock(&t->lock);
	memcpy(data, &v, 4);
}

static void bus_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct nk_virtio_mmio *t = opaque;
	if (off >= NK_VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - NK_VIRTIO_MMIO_CONFIG;
		if ((len == 1 || len == 2 || len == 4 || len == 8) && coff + len <= 0x100 &&
		    t->dev->ops->config_write) {
			pthread_mutex_lock(&t->lock);
			t->dev->ops->config_write(t->dev, (uint32_t)coff, data, len);
			pthread_mutex_unlock(&t->lock);
		}
		return;
	}
	if (len != 4 || off % 4)
		return;
	uint32_t val;
	memcpy(&val, data, 4);
	if (off == NK_VIRTIO_MMIO_QUEUE_NOTIFY) {
		if (val < t->num_queues)
			kick(t, (uint16_t)val);
		return;
	}
	if (off != NK_VIRTIO_MMIO_STATUS && off != NK_VIRTIO_MMIO_QUEUE_READY) {
		pthread_mutex_lock(&t->lock);
		reg_write(t, off, val);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	/* These change what the queues are: wait until no queue is being processed. */
	lock_all(t);
	bool started = false;
	if (off == NK_VIRTIO_MMIO_STATUS)
		started = status_write(t, val);
	else
		queue_ready_write(t, val);
	unlock_all(t);
	for (uint16_t i = 0; started && i < t->num_queues; i++)
		kick(t, i);
}

const struct nk_vm_dev_ops nk_virtio_mmio_bus_ops = {
	.read = bus_read,
	.write = bus_write,
};

int nk_virtio_mmio_create(struct nk_virtio_dev *dev, const struct nk_vm_mem *mem,
			  const struct nk_vm_irq *irq, struct nk_virtio_mmio **out, struct nk_err *err)
{
	const struct nk_virtio_dev_ops *ops = dev->ops;
	if (ops->num_queues == 0 || ops->num_queues > NK_VIRTIO_MAX_QUEUES || ops->queue_max == 0 ||
	    ops->queue_max > NK_VQ_MAX_SIZE || (ops->queue_max & (ops->queue_max - 1)) || !ops->notify)
		return nk_err_msg(err, EINVAL, "%s: bad device description (queues %u, queue size %u)",
				  ops->name, ops->num_queues, ops->queue_max);
	struct nk_virtio_mmio *t = calloc(1, sizeof(*t));
	if (!t)
		return nk_err_set(err, ENOMEM, "%s: cannot allocate the transport", ops->name);
	pthread_mutex_init(&t->lock, NULL);
	t->dev = dev;
	t->mem = mem;
	if (irq)
		t->irq = *irq;
	t->num_queues = ops->num_queues;
	for (unsigned i = 0; i < t->num_queues; i++) {
		pthread_mutex_init(&t->q[i].lock, NULL);
		queue_reset(t, &t->q[i]);
	}
	t->offered = (ops->features ? ops->features(dev) : 0) | (1ull << NK_VIRTIO_F_VERSION_1) |
		     (1ull << NK_VIRTIO_F_INDIRECT_DESC);
	dev->transport = t;
	*out = t;
	return 0;
}

void nk_virtio_mmio_destroy(struct nk_virtio_mmio *t)
{
	if (!t)
		return;
	if (t->irq_high && t->irq.set)
		t->irq.set(t->irq.opaque, t->irq.gsi, 0);
	t->dev->transport = NULL;
	for (unsigned i = 0; i < t->num_queues; i++)
		pthread_mutex_destroy(&t->q[i].lock);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void nk_virtio_mmio_set_kick(struct nk_virtio_mmio *t, void (*fn)(void *opaque, uint16_t queue),
			     void *opaque)
{
	pthread_mutex_lock(&t->lock);
	t->kick = fn;
	t->kick_opaque = opaque;
	pthread_mutex_unlock(&t->lock);
}

void nk_virtio_mmio_notify(struct nk_virtio_mmio *t, uint16_t queue)
{
	if (queue < t->num_queues)
		t->dev->ops->notify(t->dev, queue);
}

struct nk_virtq *nk_virtio_mmio_queue_get(struct nk_virtio_mmio *t, uint16_t queue)
{
	if (!t || queue >= t->num_queues)
		return NULL;
	struct mmio_queue *q = &t->q[queue];
	pthread_mutex_lock(&q->lock);
	pthread_mutex_lock(&t->lock);
	uint32_t status = t->status;
	pthread_mutex_unlock(&t->lock);
	bool live = (status & NK_VIRTIO_S_DRIVER_OK) && !(status & NK_VIRTIO_S_NEEDS_RESET);
	if (!live || !q->vq.size || q->vq.broken) {
		pthread_mutex_unlock(&q->lock);
		return NULL;
	}
	return &q->vq;
}

void nk_virtio_mmio_queue_put(struct nk_virtio_mmio *t, uint16_t queue)
{
	struct mmio_queue *q = &t->q[queue];
	pthread_mutex_lock(&t->lock);
	if (nk_virtq_should_signal(&q->vq)) {
		t->isr |= NK_VIRTIO_INT_USED;
		irq_update(t);
	}
	if (q->vq.broken && !q->reported) {
		q->reported = true;
		nk_err_prefix(&q->vq.err, "%s queue %u", t->dev->ops->name, queue);
		needs_reset(t, &q->vq.err);
	}
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_unlock(&q->lock);
}

uint32_t nk_virtio_mmio_status(struct nk_virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	uint32_t v = t->status;
	pthread_mutex_unlock(&t->lock);
	return v;
}

uint64_t nk_virtio_mmio_features(struct nk_virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	uint64_t v = t->negotiated;
	pthread_mutex_unlock(&t->lock);
	return v;
}

void nk_virtio_mmio_config_changed(struct nk_virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_gen++;
	if (t->status & NK_VIRTIO_S_DRIVER_OK) {
		t->isr |= NK_VIRTIO_INT_CONFIG;
		irq_update(t);
	}
	pthread_mutex_unlock(&t->lock);
}

void nk_virtio_config_copy(const void *config, uint32_t config_len, uint32_t offset, void *data,
			   uint32_t len)
{
	memset(data, 0xff, len);
	if (offset < config_len)
		memcpy(data, (const uint8_t *)config + offset, len < config_len - offset ? len : config_len - offset);
}

bool nk_virtio_mmio_take_error(struct nk_virtio_mmio *t, struct nk_err *err)
{
	pthread_mutex_lock(&t->lock);
	bool had = t->has_error;
	if (had && err)
		*err = t->error;
	t->has_error = false;
	pthread_mutex_unlock(&t->lock);
	return had;
}
