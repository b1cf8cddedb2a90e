/* An 8250/16550A UART: registers, an input FIFO fed by the host, output handed to the host. */
#include "core/vm/serial8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
	REG_DATA = 0, /* RBR / THR, DLL when DLAB */
	REG_IER = 1,  /* DLM when DLAB */
	REG_IIR = 2,  /* FCR on write */
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08

#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct nk_serial {
	pthread_mutex_t lock;
	struct nk_vm_irq irq;
	struct nk_serial_host host;
	uint8_t ier, lcr, mcr, scr, fcr, lsr_err, dll, dlm;
	int thr_ipending; /* THR went empty and IIR has not reported it yet */
	int irq_level;
	/* Input ring: the only buffer a hostile guest can make us hold, hence fixed. */
	uint8_t rx[NK_SERIAL_RX_CAP];
	size_t rx_head, rx_len;
};

int nk_serial_create(const struct nk_vm_irq *irq, const struct nk_serial_host *host,
		     struct nk_serial **out, struct nk_err *err)
{
	struct nk_serial *s = calloc(1, sizeof(*s));
	if (!s)
		return nk_err_set(err, ENOMEM, "creating the serial port");
	int r = pthread_mutex_init(&s->lock, NULL);
	if (r) {
		free(s);
		return nk_err_set(err, r, "creating the serial port");
	}
	if (irq)
		s->irq = *irq;
	if (host)
		s->host = *host;
	s->mcr = MCR_OUT2;
	s->dll = 0x0c; /* 9600 baud, what firmware would leave behind */
	s->lcr = 0x03;
	*out = s;
	return 0;
}

void nk_serial_destroy(struct nk_serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static uint8_t iir_locked(const struct nk_serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RLSI) && (s->lsr_err & LSR_OE))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_len)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

/* Drive the line from the state, and only on change: the irqchip pins are edge-
 * triggered for ISA, so a redundant raise would be lost anyway and costs an ioctl. */
static void update_irq_locked(struct nk_serial *s)
{
	int level = !(iir_locked(s) & IIR_NONE);
	/* With OUT2 clear a PC's UART interrupt never reaches the PIC. */
	if (!(s->mcr & MCR_OUT2) || (s->mcr & MCR_LOOP))
		level = 0;
	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->irq.set)
		s->irq.set(s->irq.opaque, s->irq.gsi, level);
}

static size_t rx_push_locked(struct nk_serial *s, const uint8_t *buf, size_t len)
{
	size_t room = NK_SERIAL_RX_CAP - s->rx_len;
	size_t n = len < room ? len : room;
	for (size_t i = 0; i < n; i++)
		s->rx[(s->rx_head + s->rx_len + i) % NK_SERIAL_RX_CAP] = buf[i];
	s->rx_len += n;
	return n;
}

static uint8_t msr_locked(const struct nk_serial *s)
{
	if (s->mcr & MCR_LOOP) {
		uint8_t m = 0;
		if (s->mcr & MCR_RTS)
			m |= MSR_CTS;
		if (s->mcr & MCR_DTR)
			m |= MSR_DSR;
		if (s->mcr & MCR_OUT1)
			m |= MSR_RI;
		if (s->mcr & MCR_OUT2)
			m |= MSR_DCD;
		return m;
	}
	/* A terminal is always there. */
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static uint8_t read_reg(struct nk_serial *s, uint64_t reg)
{
	uint8_t v = 0xff;
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_len)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % NK_SERIAL_RX_CAP;
		s->rx_len--;
		/* The host stopped feeding us when the ring filled; tell it room is back. */
		if (s->rx_len == NK_SERIAL_RX_CAP - 1 && s->host.rx_room)
			s->host.rx_room(s->host.opaque);
		return v;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR:
		v = iir_locked(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = 0;
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = LSR_THRE | LSR_TEMT | s->lsr_err;
		if (s->rx_len)
			v |= LSR_DR;
		s->lsr_err = 0;
		return v;
	case REG_MSR:
		return msr_locked(s);
	case REG_SCR:
		return s->scr;
	}
	return v;
}

static void write_reg(struct nk_serial *s, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		if (s->mcr & MCR_LOOP) {
			if (!rx_push_locked(s, &v, 1))
				s->lsr_err |= LSR_OE;
		} else if (s->host.tx) {
			s->host.tx(s->host.opaque, &v, 1);
		}
		/* Sent at once, so the holding register is empty again straight away. */
		s->thr_ipending = 1;
		return;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI with an empty THR raises it, as on a real 16550. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_ipending = 1;
		s->ier = v & 0x0f;
		return;
	case REG_IIR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX) {
			s->rx_head = 0;
			s->rx_len = 0;
			if (s->host.rx_room)
				s->host.rx_room(s->host.opaque);
		}
		return;
	case REG_LCR:
		s->lcr = v;
		return;
	case REG_MCR:
		s->mcr = v & 0x1f;
		return;
	case REG_SCR:
		s->scr = v;
		return;
	}
}

static void serial_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct nk_serial *s = opaque;
	uint8_t *out = data;
	pthread_mutex_lock(&s->lock);
	/* Wider accesses read consecutive registers, like the byte-wide ISA bus would. */
	for (uint32_t i = 0; i < len; i++)
		out[i] = offset + i < NK_SERIAL_NREGS ? read_reg(s, offset + i) : 0xff;
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct nk_serial *s = opaque;
	const uint8_t *in = data;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len && offset + i < NK_SERIAL_NREGS; i++)
		write_reg(s, offset + i, in[i]);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

const struct nk_vm_dev_ops nk_serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

size_t nk_serial_rx_push(struct nk_serial *s, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	size_t n = rx_push_locked(s, buf, len);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t nk_serial_rx_room(struct nk_serial *s)
{
	pthread_mutex_lock(&s->lock);
	size_t room = NK_SERIAL_RX_CAP - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return room;
}
