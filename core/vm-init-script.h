/* The /init nook puts into a VM guest's initramfs (a busybox sh script). */
#ifndef NOOK_VM_INIT_SCRIPT_H
#define NOOK_VM_INIT_SCRIPT_H

extern const char nk_vm_init_script[];

#endif
