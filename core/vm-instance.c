/* A VM instance in its monitor: the VMM run on a thread, the serial bridged to the console. */
#include "vm-instance.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/vm/virtio-blk.h"
#include "core/vm/virtio-rng.h"
#include "instance-net.h"
#include "util.h"
#include "vm-boot-args.h"
#include "vm-disk.h"

int nk_vm_instance_check(const char *kernel, struct nk_err *err)
{
	struct nk_vm_caps caps;
	int r = nk_vm_probe(&caps, err);
	if (r < 0)
		return nk_err_prefix(err, "cannot use KVM (is /dev/kvm there, and are you root?)");
	if (!kernel || !*kernel) {
		if (caps.pvm)
			return nk_err_msg(err, ENOTSUP,
					  "this host's KVM is PVM (kvm_pvm): guest kernel code is emulated, so a stock "
					  "Linux kernel cannot boot here; give a PVM-enabled guest kernel (or the test "
					  "guest) with --kernel PATH");
		return nk_err_msg(err, ENOTSUP, "no guest kernel: `nook kernel fetch` gets Debian's cloud kernel, or give "
				  "one with --kernel PATH");
	}
	if (access(kernel, R_OK) < 0)
		return nk_err_set(err, errno, "--kernel %s", kernel);
	return 0;
}

static void *run_thread(void *opaque)
{
	struct nk_vm_instance *vi = opaque;
	struct nk_err err = {0};
	if (nk_vm_run(vi->vm, &vi->exit, &err) < 0) {
		vi->exit.reason = NK_VM_EXIT_ERROR;
		memcpy(vi->exit.detail, err.msg, sizeof(vi->exit.detail) - 1);
		vi->exit.detail[sizeof(vi->exit.detail) - 1] = '\0';
	}
	uint64_t one = 1;
	(void)!write(vi->done_fd, &one, sizeof(one));
	return NULL;
}

/* On a vCPU thread: only wake the monitor, which records the phases. */
static void boot_mark_reached(void *opaque)
{
	struct nk_vm_instance *vi = opaque;
	uint64_t one = 1;
	(void)!write(vi->marks_fd, &one, sizeof(one));
}

void nk_vm_instance_timeline(struct nk_vm_instance *vi, struct nk_timeline *t)
{
	struct nk_vm_timing steps[NK_VM_PHASES];
	size_t n = vi->vm ? nk_vm_timings(vi->vm, steps, NK_ARRAY_SIZE(steps)) : 0;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(t->vm[i].name, sizeof(t->vm[i].name), "%s", steps[i].name);
		t->vm[i].us = (uint32_t)(steps[i].ns / 1000);
	}
	t->vm_count = (unsigned)n;
}

int nk_vm_instance_start(struct nk_vm_instance *vi, const struct nk_paths *paths, const struct nk_spec *spec,
			 int console_in, int console_out, struct nk_err *err)
{
	memset(vi, 0, sizeof(*vi));
	vi->net.tap.fd = -1;
	vi->sandbox.fault_fd = -1;
	vi->disk_fd = -1;
	uint64_t t0 = nk_now_ns();
	vi->marks_fd = -1;
	vi->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vi->done_fd < 0)
		return nk_err_set(err, errno, "cannot create an eventfd");
	vi->marks_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vi->marks_fd < 0) {
		int e = nk_err_set(err, errno, "cannot create an eventfd");
		nk_vm_instance_destroy(vi);
		return e;
	}
	/* The root disk was made at create; made again from the image if it went missing. */
	nk_autofree char *cmdline = NULL;
	int r = 0;
	if (spec->vm_disk && (r = nk_vm_disk_ensure(paths, spec->rootfs_lower, spec->vm_disk, spec->vm_disk_size,
						     &vi->disk_made, err)) < 0)
		goto fail;
	if ((r = nk_vm_boot_args(spec, &cmdline, err)) < 0)
		goto fail;
	struct nk_vm_config cfg = {
	    .mem_bytes = spec->limits.memory ? spec->limits.memory : 256ull << 20,
	    .vcpus = spec->vm_vcpus ? spec->vm_vcpus : 1,
	    .kernel = spec->vm_kernel,
	    .initrd = spec->vm_initrd,
	    .cmdline = cmdline,
	    .boot = !spec->vm_boot		      ? NK_VM_BOOT_AUTO
		    : !strcmp(spec->vm_boot, "pvh") ? NK_VM_BOOT_PVH
						    : NK_VM_BOOT_LINUX64,
	    .console_in = console_in,
	    .console_out = console_out,
	    .on_boot_mark = boot_mark_reached,
	    .boot_mark_opaque = vi,
	    .thread_enter = nk_vm_sandbox_thread_enter,
	    .thread_opaque = &vi->sandbox,
	};
	cfg.mem_bytes &= ~((1ull << 20) - 1);
	/* Sandbox first: the guest's memory is charged to the instance's group. A violation
	 * of the filter is reported on done_fd, like the end of the run. */
	r = nk_vm_sandbox_enter(&vi->sandbox, paths, spec->name, cfg.mem_bytes, cfg.vcpus, err);
	if (r < 0 || (r = nk_vm_sandbox_seccomp_prepare(&vi->sandbox, vi->done_fd, err)) < 0)
		goto fail;
	r = nk_vm_create(&cfg, &vi->vm, err);
	if (r < 0)
		goto fail;
	/* The root disk first: it is the guest's /dev/vda. */
	if (spec->vm_disk && (r = nk_vm_disk_attach(vi->vm, spec->vm_disk, &vi->disk, &vi->disk_fd, err)) < 0)
		goto fail;
	/* Every guest gets entropy; networks come with their own options. */
	if ((r = nk_virtio_rng_create(&vi->rng, err)) < 0 ||
	    (r = nk_vm_attach_virtio(vi->vm, "virtio-rng", nk_virtio_rng_dev(vi->rng), NULL, NULL, err)) < 0 ||
	    (r = nk_vm_net_attach(&vi->net, paths, spec, vi->vm, err)) < 0)
		goto fail;
	vi->setup_ns = nk_now_ns() - t0;
	if ((r = pthread_create(&vi->thread, NULL, run_thread, vi)) != 0) {
		r = nk_err_set(err, r, "cannot start the VM's thread");
		goto fail;
	}
	vi->thread_started = 1;
	return 0;
fail:
	if (vi->net.leased) {
		struct nk_instance_net in = {0};
		nk_instance_net_detach(&in, paths, vi->net.at.network, spec->name, 0);
		vi->net.leased = 0;
	}
	nk_vm_instance_destroy(vi);
	return r;
}

void nk_vm_instance_request_stop(struct nk_vm_instance *vi)
{
	if (vi->vm)
		nk_vm_request_stop(vi->vm);
}

int nk_vm_instance_pause(struct nk_vm_instance *vi, int on, struct nk_err *err)
{
	if (!vi->vm || vi->abandoned)
		return nk_err_msg(err, EINVAL, "the VM is not running");
	nk_vm_pause(vi->vm, on);
	return 0;
}

void nk_vm_instance_kill(struct nk_vm_instance *vi)
{
	if (vi->vm)
		nk_vm_kill(vi->vm);
}

int nk_vm_instance_abandon_if_faulted(struct nk_vm_instance *vi)
{
	char detail[sizeof(vi->exit.detail)];
	if (!nk_vm_sandbox_faulted(&vi->sandbox, detail, sizeof(detail)))
		return 0;
	/* The other vCPUs stop if the I/O thread still serves requests; exiting ends them all. */
	if (vi->vm)
		nk_vm_kill(vi->vm);
	memset(&vi->exit, 0, sizeof(vi->exit));
	vi->exit.reason = NK_VM_EXIT_ERROR;
	vi->exit.vcpu = -1;
	snprintf(vi->exit.detail, sizeof(vi->exit.detail), "%s", detail);
	nk_vm_sandbox_leave(&vi->sandbox);
	vi->abandoned = 1;
	return 1;
}

void nk_vm_instance_destroy(struct nk_vm_instance *vi)
{
	if (vi->abandoned)
		return; /* a thread is parked in the SIGSYS handler: the process exit frees it all */
	if (vi->thread_started) {
		nk_vm_kill(vi->vm);
		pthread_join(vi->thread, NULL);
		vi->thread_started = 0;
	}
	/* The VMM's threads joined, the monitor leaves the VM's group before the VM goes (KVM's
	 * own worker thread, which lives in the monitor's thread group until then, leaves with
	 * it); the VM's teardown in the kernel then runs on in the background. */
	nk_vm_stop(vi->vm);
	nk_vm_sandbox_leave(&vi->sandbox);
	if (vi->vm)
		nk_vm_destroy(vi->vm);
	vi->vm = NULL;
	nk_vm_net_close(&vi->net);
	if (vi->rng)
		nk_virtio_rng_destroy(vi->rng);
	vi->rng = NULL;
	/* disk_fd is open exactly while disk is set (a zeroed instance has neither). */
	if (vi->disk) {
		nk_virtio_blk_destroy(vi->disk);
		close(vi->disk_fd);
	}
	vi->disk = NULL;
	vi->disk_fd = -1;
	nk_vm_sandbox_destroy(&vi->sandbox);
	if (vi->done_fd >= 0)
		close(vi->done_fd);
	vi->done_fd = -1;
	if (vi->marks_fd >= 0)
		close(vi->marks_fd);
	vi->marks_fd = -1;
}

static json_object *stats_object(struct nk_vm *vm, int vcpu)
{
	struct nk_vm_stat stats[128];
	size_t n = 0;
	struct nk_err err;
	json_object *o = json_object_new_object();
	if (nk_vm_stats(vm, vcpu, stats, NK_ARRAY_SIZE(stats), &n, &err) < 0)
		return o;
	for (size_t i = 0; i < n; i++)
		json_object_object_add(o, stats[i].name, json_object_new_uint64(stats[i].value));
	return o;
}

char *nk_vm_instance_stats_json(struct nk_vm_instance *vi)
{
	if (!vi->vm)
		return NULL;
	json_object *o = json_object_new_object();
	unsigned vcpus = nk_vm_vcpu_count(vi->vm);
	json_object_object_add(o, "vcpus", json_object_new_int((int)vcpus));
	json_object_object_add(o, "vm", stats_object(vi->vm, NK_VM_STATS_VM));
	json_object *per = json_object_new_array();
	for (unsigned i = 0; i < vcpus; i++)
		json_object_array_add(per, stats_object(vi->vm, (int)i));
	json_object_object_add(o, "vcpu", per);
	json_object_object_add(o, "console_dropped_bytes", json_object_new_uint64(nk_vm_console_dropped(vi->vm)));
	json_object_object_add(o, "sandbox", nk_vm_sandbox_json(&vi->sandbox));
	json_object_object_add(o, "boot_protocol", json_object_new_string(nk_vm_boot_protocol(vi->vm)));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *out = text ? strdup(text) : NULL;
	json_object_put(o);
	return out;
}
