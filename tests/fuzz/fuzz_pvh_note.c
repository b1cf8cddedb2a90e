/* libFuzzer target: the PVH entry note parser, on any bytes: directly as one note segment
 * (exact-size heap copy, so ASan flags any read past it), and as a whole ELF file read
 * through a memfd (program headers and note segments checked against the file). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int file_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nk_err err;
	uint32_t entry = 0;
	if (size > 0) {
		/* The first byte picks the alignment; the rest is the segment. */
		uint64_t align = data[0] & 1 ? 8 : 4;
		uint8_t *seg = malloc(size - 1 ? size - 1 : 1);
		if (!seg)
			return 0;
		memcpy(seg, data + 1, size - 1);
		int r = nk_pvh_parse_notes(seg, size - 1, align, &entry, &err);
		free(seg);
		if (r > 1 || (r == 1 && entry == 0))
			abort();
	}
	if (file_fd < 0)
		file_fd = memfd_create("fuzz-pvh-elf", MFD_CLOEXEC);
	if (file_fd < 0 || ftruncate(file_fd, 0) < 0 || (size && pwrite(file_fd, data, size, 0) != (ssize_t)size))
		return 0;
	entry = 0;
	int r = nk_pvh_find_entry(file_fd, size, "fuzz", &entry, &err);
	if (r > 1 || (r == 1 && entry == 0))
		abort();
	return 0;
}
