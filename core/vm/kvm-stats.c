/* KVM binary stats: parse the header and descriptor block, then pread the data block. */
#include "core/vm/kvm-stats.h"
#include "core/util.h"
#include "core/vm/vmm-internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounds that no real KVM comes near; the fd is trusted, but a bug should not make us
 * allocate gigabytes. */
#define MAX_DESC 4096
#define MAX_NAME 1024

int nk_kvm_stats_open(struct nk_kvm_stats *s, int fd, struct nk_err *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	struct kvm_stats_header h;
	int r = nk_pread_exact(fd, &h, sizeof(h), 0);
	if (r < 0) {
		close(fd);
		return nk_err_set(err, -r, "reading the KVM stats header");
	}
	if (h.num_desc > MAX_DESC || h.name_size == 0 || h.name_size > MAX_NAME) {
		close(fd);
		return nk_err_msg(err, EINVAL, "KVM stats header is implausible (%u stats, names of %u bytes)",
				  h.num_desc, h.name_size);
	}
	size_t one = sizeof(struct kvm_stats_desc) + h.name_size;
	char *raw = malloc(one * (h.num_desc ? h.num_desc : 1));
	struct nk_kvm_stats_desc *desc = calloc(h.num_desc ? h.num_desc : 1, sizeof(*desc));
	if (!raw || !desc) {
		free(raw);
		free(desc);
		close(fd);
		return nk_err_set(err, ENOMEM, "reading the KVM stats descriptors");
	}
	r = nk_pread_exact(fd, raw, one * h.num_desc, h.desc_offset);
	if (r < 0) {
		free(raw);
		free(desc);
		close(fd);
		return nk_err_set(err, -r, "reading the KVM stats descriptors");
	}
	size_t data_size = 0;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(raw + one * i);
		struct nk_kvm_stats_desc *o = &desc[i];
		size_t nlen = strnlen(d->name, h.name_size);
		if (nlen >= sizeof(o->name))
			nlen = sizeof(o->name) - 1;
		memcpy(o->name, d->name, nlen);
		o->name[nlen] = '\0';
		o->flags = d->flags;
		o->exponent = d->exponent;
		o->size = d->size;
		o->offset = d->offset;
		size_t end = (size_t)d->offset + (size_t)d->size * sizeof(uint64_t);
		if (end > data_size)
			data_size = end;
	}
	free(raw);
	s->fd = fd;
	s->ndesc = h.num_desc;
	s->desc = desc;
	s->data_offset = h.data_offset;
	s->data_size = data_size;
	return 0;
}

void nk_kvm_stats_close(struct nk_kvm_stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->desc);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

int nk_kvm_stats_read(const struct nk_kvm_stats *s, uint64_t *values, struct nk_err *err)
{
	if (s->fd < 0)
		return nk_err_msg(err, EBADF, "KVM stats are not open");
	if (!s->data_size)
		return 0;
	uint64_t *data = malloc(s->data_size);
	if (!data)
		return nk_err_set(err, ENOMEM, "reading KVM stats");
	int r = nk_pread_exact(s->fd, data, s->data_size, s->data_offset);
	if (r < 0) {
		free(data);
		return nk_err_set(err, -r, "reading KVM stats");
	}
	for (uint32_t i = 0; i < s->ndesc; i++) {
		const struct nk_kvm_stats_desc *d = &s->desc[i];
		uint64_t v = 0;
		for (uint16_t k = 0; k < d->size; k++) {
			uint64_t item;
			memcpy(&item, (const char *)data + d->offset + (size_t)k * sizeof(item), sizeof(item));
			v += item;
		}
		values[i] = v;
	}
	free(data);
	return 0;
}

int nk_kvm_stats_find(const struct nk_kvm_stats *s, const char *name)
{
	for (uint32_t i = 0; i < s->ndesc; i++)
		if (strcmp(s->desc[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The VM-level accessors: which set of counters a vcpu argument names. */
static const struct nk_kvm_stats *stats_for(struct nk_vm *vm, int vcpu)
{
	if (vcpu == NK_VM_STATS_VM)
		return &vm->stats;
	if (vcpu == NK_VM_STATS_VCPU_SUM)
		vcpu = 0;
	if (vcpu < 0 || (unsigned)vcpu >= vm->nvcpus)
		return NULL;
	return &vm->vcpus[vcpu].stats;
}

static int read_values(struct nk_vm *vm, int vcpu, const struct nk_kvm_stats *s, uint64_t **out,
		       struct nk_err *err)
{
	uint64_t *vals = calloc(s->ndesc ? s->ndesc : 1, sizeof(*vals));
	uint64_t *more = calloc(s->ndesc ? s->ndesc : 1, sizeof(*more));
	if (!vals || !more) {
		free(vals);
		free(more);
		return nk_err_set(err, ENOMEM, "reading KVM stats");
	}
	int r = nk_kvm_stats_read(s, vals, err);
	/* Every vCPU of a VM has the same descriptor layout, so indexes line up. */
	for (unsigned i = 1; r == 0 && vcpu == NK_VM_STATS_VCPU_SUM && i < vm->nvcpus; i++) {
		const struct nk_kvm_stats *o = &vm->vcpus[i].stats;
		if (o->fd < 0 || o->ndesc != s->ndesc)
			continue;
		r = nk_kvm_stats_read(o, more, err);
		for (uint32_t k = 0; r == 0 && k < s->ndesc; k++)
			vals[k] += more[k];
	}
	free(more);
	if (r < 0) {
		free(vals);
		return r;
	}
	*out = vals;
	return 0;
}

int nk_vm_stats(struct nk_vm *vm, int vcpu, struct nk_vm_stat *out, size_t max, size_t *n,
		struct nk_err *err)
{
	*n = 0;
	const struct nk_kvm_stats *s = stats_for(vm, vcpu);
	if (!s)
		return nk_err_msg(err, EINVAL, "no vCPU %d", vcpu);
	if (s->fd < 0)
		return nk_err_msg(err, ENOTSUP, "this KVM offers no binary statistics (KVM_GET_STATS_FD)");
	uint64_t *vals;
	int r = read_values(vm, vcpu, s, &vals, err);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < s->ndesc && i < max; i++) {
		memcpy(out[i].name, s->desc[i].name, sizeof(out[i].name));
		out[i].value = vals[i];
		out[i].flags = s->desc[i].flags;
		out[i].exponent = s->desc[i].exponent;
	}
	*n = s->ndesc;
	free(vals);
	return 0;
}

int nk_vm_stat_value(struct nk_vm *vm, int vcpu, const char *name, uint64_t *value)
{
	const struct nk_kvm_stats *s = stats_for(vm, vcpu);
	if (!s)
		return -EINVAL;
	if (s->fd < 0)
		return -ENOTSUP;
	int idx = nk_kvm_stats_find(s, name);
	if (idx < 0)
		return -ENOENT;
	uint64_t *vals;
	int r = read_values(vm, vcpu, s, &vals, NULL);
	if (r < 0)
		return r;
	*value = vals[idx];
	free(vals);
	return 0;
}
