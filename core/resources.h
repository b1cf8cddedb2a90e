/* Resource limits: parsed from what users type, checked against the host, carried in
 * config.json as OCI linux.resources. */
#ifndef NOOK_RESOURCES_H
#define NOOK_RESOURCES_H

#include <stdint.h>

#include "err.h"

#define NK_UNLIMITED UINT64_MAX
#define NK_CPU_PERIOD_US 100000

/* Zero in a field means "not set"; NK_UNLIMITED means "explicitly unlimited". */
struct nk_limits {
	uint64_t memory;       /* bytes */
	uint64_t memory_swap;  /* memory + swap, bytes (Docker's --memory-swap); 0: same as memory */
	uint64_t cpu_quota_us; /* per NK_CPU_PERIOD_US period */
	char cpuset[64];       /* "0-1,3" */
	uint64_t pids;
	uint32_t cpu_weight;   /* cgroup v2 scale, 1..10000 */
	uint32_t io_weight;    /* cgroup v2 scale, 1..10000 */
};

/* Parse and check one flag's value into limits; messages say what is accepted. */
int nk_limits_set_memory(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
int nk_limits_set_memory_swap(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
int nk_limits_set_cpus(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
int nk_limits_set_cpuset(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
int nk_limits_set_pids(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
int nk_limits_set_cpu_weight(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
int nk_limits_set_io_weight(struct nk_limits *l, const char *s, struct nk_err *err) NK_MUST_CHECK;
/* Checks that need every flag (swap below memory, ...). */
int nk_limits_check(const struct nk_limits *l, struct nk_err *err) NK_MUST_CHECK;

/* The cpuset syntax against a number of online CPUs. */
int nk_cpuset_check(const char *list, int ncpus, struct nk_err *err) NK_MUST_CHECK;

/* Conversions between the cgroup v2 weight scale and v1 units. */
uint64_t nk_weight_to_shares(uint32_t weight);
uint32_t nk_shares_to_weight(uint64_t shares);
uint32_t nk_weight_to_blkio(uint32_t weight);
uint32_t nk_blkio_to_weight(uint32_t blkio);

#endif
