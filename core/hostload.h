/* How busy the host is right now: CPU use across all cores and memory in use, from
 * descriptors kept open so a sample every second costs two preads. */
#ifndef NOOK_HOSTLOAD_H
#define NOOK_HOSTLOAD_H

#include <stdint.h>

#include "err.h"

struct nk_host_load {
	int stat_fd, mem_fd;
	int have_prev;
	uint64_t prev_busy, prev_total; /* jiffies, all CPUs */
};

struct nk_host_sample {
	double cpu_percent;      /* of all cores since the previous sample; -1 on the first */
	uint64_t mem_total;      /* bytes */
	uint64_t mem_available;  /* bytes the kernel could hand out without swapping */
	double load1;            /* one-minute load average */
};

int nk_host_load_open(struct nk_host_load *h, struct nk_err *err) NK_MUST_CHECK;
void nk_host_load_sample(struct nk_host_load *h, struct nk_host_sample *out);
void nk_host_load_close(struct nk_host_load *h);

#endif
