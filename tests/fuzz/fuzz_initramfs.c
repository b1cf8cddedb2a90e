/* libFuzzer target: the two readers of the initramfs code, on any bytes: kernel module
 * ELF headers (.modinfo depends=) and cpio newc archives. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpio.h"
#include "core/vm-kmod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nk_err err;
	char deps[256];
	if (nk_kmod_depends((const char *)data, size, deps, sizeof(deps), &err) == 0 && strlen(deps) >= sizeof(deps))
		abort();
	size_t off = 0, prev = 0;
	struct nk_cpio_entry e;
	for (int n = 0; n < 10000 && nk_cpio_next(data, size, &off, &e) == 1; n++) {
		/* Every entry lies inside the buffer, and the reader always moves forward. */
		if (off <= prev || off > ((size + 3) & ~(size_t)3) || e.data + e.size > data + size ||
		    (const uint8_t *)e.name + e.name_len > data + size)
			abort();
		prev = off;
	}
	return 0;
}
