/* libFuzzer target: control-protocol framing, as the monitor parses a client's bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct nk_ctl_hdr h;
		const void *payload;
		ssize_t used = nk_ctl_parse(data + off, size - off, &h, &payload);
		if (used <= 0)
			break;
		/* Touch the payload: it must lie inside the input. */
		volatile uint8_t sum = 0;
		for (uint32_t i = 0; i < h.len; i++)
			sum ^= ((const uint8_t *)payload)[i];
		(void)sum;
		off += (size_t)used;
	}
	return 0;
}
