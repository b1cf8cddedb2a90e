/* A VM instance in its monitor: the VMM run on a thread, the serial bridged to the console. */
#include "vm-instance.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/vm/virtio-rng.h"
#include "instance-net.h"
#include "util.h"

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
		return nk_err_msg(err, ENOTSUP, "no default guest kernel is installed yet: give one with --kernel PATH");
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

int nk_vm_instance_start(struct nk_vm_instance *vi, const struct nk_paths *paths, const struct nk_spec *spec,
			 int console_in, int console_out, struct nk_err *err)
{
	memset(vi, 0, sizeof(*vi));
	vi->net.tap.fd = -1;
	vi->sandbox.fault_fd = -1;
	uint64_t t0 = nk_now_ns();
	vi->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vi->done_fd < 0)
		return nk_err_set(err, errno, "cannot create an eventfd");
	struct nk_vm_config cfg = {
	    .mem_bytes = spec->limits.memory ? spec->limits.memory : 256ull << 20,
	    .vcpus = spec->vm_vcpus ? spec->vm_vcpus : 1,
	    .kernel = spec->vm_kernel,
	    .initrd = spec->vm_initrd,
	    .cmdline = spec->vm_cmdline,
	    .console_in = console_in,
	    .console_out = console_out,
	    .thread_enter = nk_vm_sandbox_thread_enter,
	    .thread_opaque = &vi->sandbox,
	};
	cfg.mem_bytes &= ~((1ull << 20) - 1);
	/* Sandbox first: the guest's memory is charged to the instance's group. A violation
	 * of the filter is reported on done_fd, like the end of the run. */
	int r = nk_vm_sandbox_enter(&vi->sandbox, paths, spec->name, cfg.mem_bytes, cfg.vcpus, err);
	if (r < 0 || (r = nk_vm_sandbox_seccomp_prepare(&vi->sandbox, vi->done_fd, err)) < 0)
		goto fail;
	r = nk_vm_create(&cfg, &vi->vm, err);
	if (r < 0)
		goto fail;
	/* Every guest gets entropy; disks and networks come with their own options. */
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
	if (vi->vm)
		nk_vm_destroy(vi->vm);
	vi->vm = NULL;
	nk_vm_net_close(&vi->net);
	if (vi->rng)
		nk_virtio_rng_destroy(vi->rng);
	vi->rng = NULL;
	nk_vm_sandbox_destroy(&vi->sandbox);
	if (vi->done_fd >= 0)
		close(vi->done_fd);
	vi->done_fd = -1;
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
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *out = text ? strdup(text) : NULL;
	json_object_put(o);
	return out;
}
