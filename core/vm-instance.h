/* A VM instance in its monitor: the VMM (core/vm/) run on a thread of the monitor, its
 * serial console bridged to the same PTY or pipes a container would get. */
#ifndef NOOK_VM_INSTANCE_H
#define NOOK_VM_INSTANCE_H

#include <pthread.h>

#include "core/vm/vmm.h"
#include "err.h"
#include "spec.h"
#include "timeline.h"

struct nk_virtio_rng;
struct nk_virtio_blk;

struct nk_vm_instance {
	struct nk_vm *vm;
	struct nk_virtio_rng *rng;
	struct nk_virtio_blk *disk; /* the root disk (core/vm-disk.c), /dev/vda */
	int disk_fd;
	int disk_made;              /* this start made the disk from the image */
	pthread_t thread;
	int thread_started;
	int done_fd;              /* eventfd: readable once the guest has stopped */
	int marks_fd;             /* eventfd: readable when the guest passed a boot boundary */
	struct nk_vm_exit exit;   /* why, once done_fd fired */
	uint64_t setup_ns;        /* VM, vCPUs, memory, kernel load, devices */
};

/* Check, before anything is created, that this host can run spec as a VM (the kernel is
 * there; a PVM host cannot boot a stock Linux kernel). */
int nk_vm_instance_check(const char *kernel, struct nk_err *err) NK_MUST_CHECK;

/* Build the VM for spec and start its vCPUs. */
int nk_vm_instance_start(struct nk_vm_instance *vi, const struct nk_spec *spec, int console_in, int console_out,
			 struct nk_err *err) NK_MUST_CHECK;
/* Graceful (Ctrl-Alt-Del) or not. Any thread. */
void nk_vm_instance_request_stop(struct nk_vm_instance *vi);
void nk_vm_instance_kill(struct nk_vm_instance *vi);
/* KVM's own counters for the VM and each vCPU, as a JSON object (malloc'd):
 * {"vcpus": N, "vm": {name: value, ...}, "vcpu": [{name: value, ...}, ...]}. */
char *nk_vm_instance_stats_json(struct nk_vm_instance *vi);

/* The VMM's phases so far (nk_vm_timings) into t->vm[]. Any thread. */
void nk_vm_instance_timeline(struct nk_vm_instance *vi, struct nk_timeline *t);

/* After done_fd fired: join, free. Safe on a VM that never started. */
void nk_vm_instance_destroy(struct nk_vm_instance *vi);

#endif
