/* The kernel command line of a VM instance, from its spec. */
#ifndef NOOK_VM_BOOT_ARGS_H
#define NOOK_VM_BOOT_ARGS_H

#include "err.h"
#include "spec.h"

/* Booted with nook's initramfs: its settings (console, root disk, hostname), then the
 * user's --cmdline, then " -- " and the command, each word double-quoted when it has
 * blanks (the kernel hands the words after "--" to /init as its arguments). Otherwise
 * only the user's --cmdline. *out is malloc'd ("" for none). A command the kernel
 * cannot carry (a '"' or a newline in a word, more than 30 words, a line over 2000
 * bytes) fails with a message saying so. */
int nk_vm_boot_args(const struct nk_spec *spec, char **out, struct nk_err *err) NK_MUST_CHECK;

#endif
