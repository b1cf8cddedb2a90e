/* Live usage of running instances, for `nook stats` and the dashboard: cheap enough to
 * refresh every instance every second (descriptors kept open, no allocation per sample). */
#ifndef NOOK_STATS_H
#define NOOK_STATS_H

#include <stdint.h>

#include "cgroup.h"
#include "err.h"
#include "paths.h"

struct nk_stats {
	struct nk_cgroup_stats cg;
	double cpu_percent;       /* of one core, since the previous sample (-1 on the first) */
	double cpu_host_percent;  /* of all the host's cores */
	double io_read_rate, io_write_rate; /* bytes per second (-1 on the first sample) */
	int64_t uptime_s;
	int have_net;             /* the instance is on a bridge network */
	uint64_t net_rx_bytes, net_tx_bytes, net_rx_packets, net_tx_packets; /* as the container sees them */
	double net_rx_rate, net_tx_rate;    /* bytes per second (-1 on the first sample) */
	int is_vm;
	uint64_t kvm_exits;       /* a VM: exits of all its vCPUs, as KVM counts them */
	double kvm_exit_rate;     /* per second (-1 on the first sample) */
};

struct nk_stats_sampler {
	char name[64];
	struct nk_cgroup cg;
	struct nk_cgroup_reader rd;
	int64_t started_at;
	int have_prev;
	uint64_t prev_ns, prev_cpu_ns, prev_io_r, prev_io_w, prev_rx, prev_tx, prev_exits;
	char host_if[16];         /* the veth's host end ("" without a bridge network) */
	int vm_pid;               /* a VM: its monitor (the VMM), in the cgroup too (else /proc) */
	const struct nk_paths *paths;
	struct nk_nl *nl;         /* one netlink socket per sampler, opened once */
};

/* Open a sampler on a running instance. */
int nk_stats_open(const struct nk_paths *paths, const char *name, struct nk_stats_sampler *s,
		  struct nk_err *err) NK_MUST_CHECK;
void nk_stats_sample(struct nk_stats_sampler *s, struct nk_stats *out);
void nk_stats_close(struct nk_stats_sampler *s);

#endif
