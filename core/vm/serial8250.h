/* An 8250/16550A UART model: the guest's console, bridged to host file descriptors. */
#ifndef NOOK_VM_SERIAL8250_H
#define NOOK_VM_SERIAL8250_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/vm/vm.h"

#define NK_SERIAL_COM1_BASE 0x3f8
#define NK_SERIAL_COM1_GSI 4
#define NK_SERIAL_NREGS 8
/* Input bytes held for the guest; the host side stops reading when this is full. */
#define NK_SERIAL_RX_CAP 4096

/* Where the guest's output goes and who to tell when input room appears. Both are
 * called with the UART's lock held, from a vCPU thread: they must not block. */
struct nk_serial_host {
	void (*tx)(void *opaque, const uint8_t *buf, size_t len);
	void (*rx_room)(void *opaque);
	void *opaque;
};

struct nk_serial;

int nk_serial_create(const struct nk_vm_irq *irq, const struct nk_serial_host *host,
		     struct nk_serial **out, struct nk_err *err) NK_MUST_CHECK;
void nk_serial_destroy(struct nk_serial *s);

/* Register handlers; opaque is the struct nk_serial. */
extern const struct nk_vm_dev_ops nk_serial_ops;

/* Host input: queue up to len bytes for the guest; returns how many were taken. */
size_t nk_serial_rx_push(struct nk_serial *s, const uint8_t *buf, size_t len);
size_t nk_serial_rx_room(struct nk_serial *s);

#endif
