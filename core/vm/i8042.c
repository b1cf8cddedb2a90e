/* A minimal i8042: status, command byte, self tests, keyboard replies, reset, Ctrl-Alt-Del. */
#include "core/vm/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_CMD 0x08 /* last write went to the command port */
#define STATUS_UNLOCKED 0x10
#define STATUS_AUX_OBF 0x20

#define CMDBYTE_KBD_INT 0x01
#define CMDBYTE_SYS 0x04
#define CMDBYTE_KBD_DISABLE 0x10
#define CMDBYTE_XLATE 0x40

#define OUTQ_CAP 64

struct nk_i8042 {
	pthread_mutex_t lock;
	struct nk_vm_irq irq;
	void (*reset)(void *opaque);
	void *reset_opaque;
	uint8_t cmdbyte;
	uint8_t status_cmd;
	uint8_t pending_cmd; /* a controller command waiting for its data byte */
	uint8_t outport;
	int irq_level;
	uint8_t outq[OUTQ_CAP];
	unsigned out_head, out_len;
};

int nk_i8042_create(const struct nk_vm_irq *kbd_irq, void (*reset)(void *opaque), void *opaque,
		    struct nk_i8042 **out, struct nk_err *err)
{
	struct nk_i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return nk_err_set(err, ENOMEM, "creating the i8042");
	int r = pthread_mutex_init(&k->lock, NULL);
	if (r) {
		free(k);
		return nk_err_set(err, r, "creating the i8042");
	}
	if (kbd_irq)
		k->irq = *kbd_irq;
	k->reset = reset;
	k->reset_opaque = opaque;
	k->cmdbyte = CMDBYTE_KBD_INT | CMDBYTE_SYS | CMDBYTE_XLATE;
	k->outport = 0x01;
	*out = k;
	return 0;
}

void nk_i8042_destroy(struct nk_i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static void update_irq_locked(struct nk_i8042 *k)
{
	int level = k->out_len && (k->cmdbyte & CMDBYTE_KBD_INT);
	if (level == k->irq_level)
		return;
	k->irq_level = level;
	if (k->irq.set)
		k->irq.set(k->irq.opaque, k->irq.gsi, level);
}

static void queue_locked(struct nk_i8042 *k, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n && k->out_len < OUTQ_CAP; i++) {
		k->outq[(k->out_head + k->out_len) % OUTQ_CAP] = b[i];
		k->out_len++;
	}
}

static void queue1_locked(struct nk_i8042 *k, uint8_t b)
{
	queue_locked(k, &b, 1);
}

/* A byte the guest sent to the keyboard itself (data port, no pending command). */
static void kbd_command_locked(struct nk_i8042 *k, uint8_t v)
{
	switch (v) {
	case 0xff: /* reset: ACK, then self-test passed */
		queue_locked(k, (const uint8_t[]){0xfa, 0xaa}, 2);
		break;
	case 0xf2: /* identify: an MF2 keyboard, as translated */
		queue_locked(k, (const uint8_t[]){0xfa, 0xab, 0x41}, 3);
		break;
	case 0xee: /* echo */
		queue1_locked(k, 0xee);
		break;
	default: /* set LEDs, typematic, enable, scan set ...: acknowledge and forget */
		queue1_locked(k, 0xfa);
		break;
	}
}

static void data_write_locked(struct nk_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;
	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60: /* write command byte */
		k->cmdbyte = v;
		break;
	case 0xd1: /* write output port: bit 0 low holds the CPU in reset */
		k->outport = v;
		if (!(v & 0x01) && k->reset)
			k->reset(k->reset_opaque);
		break;
	case 0xd2: /* write keyboard output buffer */
		queue1_locked(k, v);
		break;
	case 0xd3: /* write aux output buffer: no mouse, drop */
	case 0xd4: /* write to aux device: no mouse, drop */
		break;
	default:
		kbd_command_locked(k, v);
		break;
	}
}

static void cmd_write_locked(struct nk_i8042 *k, uint8_t v)
{
	switch (v) {
	case 0x20: /* read command byte */
		queue1_locked(k, k->cmdbyte);
		break;
	case 0x60:
	case 0xd1:
	case 0xd2:
	case 0xd3:
	case 0xd4:
		k->pending_cmd = v;
		break;
	case 0xa7: /* disable aux */
	case 0xa8: /* enable aux */
		break;
	case 0xa9: /* aux interface test: no mouse port */
		queue1_locked(k, 0xff);
		break;
	case 0xaa: /* controller self test */
		queue1_locked(k, 0x55);
		break;
	case 0xab: /* keyboard interface test */
		queue1_locked(k, 0x00);
		break;
	case 0xad:
		k->cmdbyte |= CMDBYTE_KBD_DISABLE;
		break;
	case 0xae:
		k->cmdbyte &= (uint8_t)~CMDBYTE_KBD_DISABLE;
		break;
	case 0xd0: /* read output port */
		queue1_locked(k, k->outport);
		break;
	case 0xfe: /* pulse the reset line */
		if (k->reset)
			k->reset(k->reset_opaque);
		break;
	default:
		break;
	}
}

static void data_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct nk_i8042 *k = opaque;
	uint8_t v = 0;
	(void)offset;
	pthread_mutex_lock(&k->lock);
	if (k->out_len) {
		v = k->outq[k->out_head];
		k->out_head = (k->out_head + 1) % OUTQ_CAP;
		k->out_len--;
	}
	/* Lower and, if more is queued, raise again: one edge per byte. */
	k->irq_level = 1;
	if (k->irq.set)
		k->irq.set(k->irq.opaque, k->irq.gsi, 0);
	k->irq_level = 0;
	update_irq_locked(k);
	pthread_mutex_unlock(&k->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct nk_i8042 *k = opaque;
	(void)offset;
	(void)len;
	pthread_mutex_lock(&k->lock);
	k->status_cmd = 0;
	data_write_locked(k, *(const uint8_t *)data);
	update_irq_locked(k);
	pthread_mutex_unlock(&k->lock);
}

static void cmd_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct nk_i8042 *k = opaque;
	(void)offset;
	pthread_mutex_lock(&k->lock);
	uint8_t st = STATUS_SYS | STATUS_UNLOCKED | k->status_cmd;
	if (k->out_len)
		st |= STATUS_OBF;
	pthread_mutex_unlock(&k->lock);
	memset(data, 0, len);
	*(uint8_t *)data = st;
}

static void cmd_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct nk_i8042 *k = opaque;
	(void)offset;
	(void)len;
	pthread_mutex_lock(&k->lock);
	k->status_cmd = STATUS_CMD;
	cmd_write_locked(k, *(const uint8_t *)data);
	update_irq_locked(k);
	pthread_mutex_unlock(&k->lock);
}

const struct nk_vm_dev_ops nk_i8042_data_ops = {.read = data_read, .write = data_write};
const struct nk_vm_dev_ops nk_i8042_cmd_ops = {.read = cmd_read, .write = cmd_write};

void nk_i8042_ctrl_alt_del(struct nk_i8042 *k)
{
	/* Ctrl, Alt, Del (extended) down, then up in reverse. */
	static const uint8_t seq[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	pthread_mutex_lock(&k->lock);
	queue_locked(k, seq, sizeof(seq));
	update_irq_locked(k);
	pthread_mutex_unlock(&k->lock);
}

