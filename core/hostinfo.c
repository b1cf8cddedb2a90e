/* What nook found on this host, for `nook info`. */
#include "hostinfo.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup.h"
#include "core/vm/vmm.h"
#include "instance.h"
#include "util.h"

static void count(const struct nk_instance_info *info, void *opaque)
{
	struct nk_host_info *h = opaque;
	h->instances++;
	if (info->state.status == NK_RUNNING || info->state.status == NK_PAUSED)
		h->running++;
}

int nk_host_info(const struct nk_paths *paths, struct nk_host_info *h, struct nk_err *err)
{
	memset(h, 0, sizeof(*h));
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
	h->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct sysinfo si;
	if (sysinfo(&si) == 0)
		h->memory_bytes = (unsigned long long)si.totalram * si.mem_unit;
	struct nk_cgroup cg;
	int r = nk_cgroup_init(&cg, paths, "info", err);
	if (r < 0)
		return r;
	snprintf(h->cgroup_layout, sizeof(h->cgroup_layout), "%s", cg.ops->layout);
	snprintf(h->cgroup_mount, sizeof(h->cgroup_mount), "%s", cg.mount);
	cg.ops->controllers(&cg, h->controllers, sizeof(h->controllers));
	char unified[PATH_MAX];
	struct statfs fs;
	if (cg.ops == &nk_cgroup_v1_ops && nk_fmt(unified, sizeof(unified), "%s/unified", cg.mount) == 0 &&
	    statfs(unified, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		h->cgroup_hybrid = 1;
	struct nk_vm_caps caps;
	struct nk_err kerr;
	if (nk_vm_probe(&caps, &kerr) < 0)
		snprintf(h->kvm, sizeof(h->kvm), "unavailable (%s)", kerr.msg);
	else if (caps.pvm)
		snprintf(h->kvm, sizeof(h->kvm), "PVM (kvm_pvm): guest kernel code is emulated; only PVM-enabled "
						 "or ring-3 guests run at speed");
	else
		snprintf(h->kvm, sizeof(h->kvm), "hardware virtualization, API %d, up to %d vCPUs", caps.api_version,
			 caps.max_vcpus);
	return nk_inst_list(paths, count, h, err);
}
