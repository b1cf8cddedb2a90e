/* A minimal i8042 keyboard controller: enough for Linux to probe it, reset the machine
 * through it, and receive Ctrl-Alt-Del from the host. */
#ifndef NOOK_VM_I8042_H
#define NOOK_VM_I8042_H

#include "core/err.h"
#include "core/vm/vm.h"

#define NK_I8042_DATA_PORT 0x60
#define NK_I8042_CMD_PORT 0x64
#define NK_I8042_KBD_GSI 1

struct nk_i8042;

/* reset runs on the vCPU thread that wrote the reset command. */
int nk_i8042_create(const struct nk_vm_irq *kbd_irq, void (*reset)(void *opaque), void *opaque,
		    struct nk_i8042 **out, struct nk_err *err) NK_MUST_CHECK;
void nk_i8042_destroy(struct nk_i8042 *k);

/* Two one-byte devices: the data port and the status/command port; opaque is the
 * struct nk_i8042. */
extern const struct nk_vm_dev_ops nk_i8042_data_ops;
extern const struct nk_vm_dev_ops nk_i8042_cmd_ops;

/* Queue the Ctrl-Alt-Del make and break scancodes (set 1, as the controller translates)
 * and raise IRQ 1. Any thread. */
void nk_i8042_ctrl_alt_del(struct nk_i8042 *k);

#endif
