/* virtio-rng: an entropy source for the guest, fed from getrandom(2). */
#ifndef NOOK_VM_VIRTIO_RNG_H
#define NOOK_VM_VIRTIO_RNG_H

#include "core/err.h"
#include "core/vm/virtio-mmio.h"

struct nk_virtio_rng;

int nk_virtio_rng_create(struct nk_virtio_rng **out, struct nk_err *err) NK_MUST_CHECK;
void nk_virtio_rng_destroy(struct nk_virtio_rng *rng);
/* For nk_virtio_mmio_create. */
struct nk_virtio_dev *nk_virtio_rng_dev(struct nk_virtio_rng *rng);

#endif
