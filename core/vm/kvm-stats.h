/* KVM's binary statistics (KVM_GET_STATS_FD): descriptors parsed once, values re-read. */
#ifndef NOOK_VM_KVM_STATS_H
#define NOOK_VM_KVM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/vm/vmm.h"

struct nk_kvm_stats_desc {
	char name[NK_VM_STAT_NAME_MAX];
	uint32_t flags;
	int16_t exponent;
	uint16_t size;   /* how many u64 (histogram buckets) */
	uint32_t offset; /* from the start of the data block */
};

struct nk_kvm_stats {
	int fd;
	uint32_t ndesc;
	struct nk_kvm_stats_desc *desc;
	uint64_t data_offset;
	size_t data_size; /* bytes of the data block that the descriptors cover */
};

/* Parse the header and descriptors behind fd (a stats fd, or any file laid out like
 * one); takes ownership of fd, also on failure. */
int nk_kvm_stats_open(struct nk_kvm_stats *s, int fd, struct nk_err *err) NK_MUST_CHECK;
void nk_kvm_stats_close(struct nk_kvm_stats *s);

/* values[i] for desc[i]: the value, or the sum of the buckets of a histogram. values
 * must hold s->ndesc entries. pread only, so concurrent readers are fine. */
int nk_kvm_stats_read(const struct nk_kvm_stats *s, uint64_t *values, struct nk_err *err) NK_MUST_CHECK;

/* Index of the descriptor called name, or -1. */
int nk_kvm_stats_find(const struct nk_kvm_stats *s, const char *name);

#endif
