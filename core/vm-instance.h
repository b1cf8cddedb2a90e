/* A VM instance in its monitor: the VMM (core/vm/) run on a thread of the monitor, its
 * serial console bridged to the same PTY or pipes a container would get. */
#ifndef NOOK_VM_INSTANCE_H
#define NOOK_VM_INSTANCE_H

#include <pthread.h>

#include "core/vm/vmm.h"
#include "err.h"
#include "paths.h"
#include "spec.h"
#include "timeline.h"
#include "vm-net.h"
#include "vm-sandbox.h"

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
	struct nk_vm_sandbox sandbox; /* the VMM's cgroup, namespaces, seccomp */
	struct nk_vm_net net;         /* a tap on a nook network, or none */
	int abandoned;                /* a VMM thread broke its filter: never joined */
};

/* Check, before anything is created, that this host can run spec as a VM (the kernel is
 * there; a PVM host cannot boot a stock Linux kernel). */
int nk_vm_instance_check(const char *kernel, struct nk_err *err) NK_MUST_CHECK;

/* Sandbox the VMM (this process joins the instance's cgroup), build the VM for spec (on
 * its network if it has one), and start its vCPUs. */
int nk_vm_instance_start(struct nk_vm_instance *vi, const struct nk_paths *paths, const struct nk_spec *spec,
			 int console_in, int console_out, struct nk_err *err) NK_MUST_CHECK;
/* Graceful (Ctrl-Alt-Del) or not. Any thread. */
void nk_vm_instance_request_stop(struct nk_vm_instance *vi);
void nk_vm_instance_kill(struct nk_vm_instance *vi);
/* Pause or resume the guest's vCPUs (the monitor is in the VM's cgroup: the freezer
 * would stop it too). */
int nk_vm_instance_pause(struct nk_vm_instance *vi, int on, struct nk_err *err) NK_MUST_CHECK;
/* KVM's own counters for the VM and each vCPU, as a JSON object (malloc'd):
 * {"vcpus": N, "vm": {name: value, ...}, "vcpu": [{name: value, ...}, ...]}. */
char *nk_vm_instance_stats_json(struct nk_vm_instance *vi);

/* The VMM's phases so far (nk_vm_timings) into t->vm[]. Any thread. */
void nk_vm_instance_timeline(struct nk_vm_instance *vi, struct nk_timeline *t);

/* After done_fd fired: 1 when it was a VMM thread stopped by its seccomp filter. Then the
 * VMM cannot be joined: the exit is filled in (error, with the call's name), the process
 * has left the cgroup, and the caller finishes and exits (which ends the VMM's threads)
 * without nk_vm_instance_destroy. */
int nk_vm_instance_abandon_if_faulted(struct nk_vm_instance *vi);

/* After done_fd fired: join, free, leave and remove the cgroup. Safe on a VM that never
 * started. */
void nk_vm_instance_destroy(struct nk_vm_instance *vi);

#endif
