/* libFuzzer target: the OCI image config parser on arbitrary bytes.
 *
 * Build and run from the top of the tree:
 *   clang -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -g \
 *     tests/fuzz/fuzz_oci_config.c core/image-oci.c core/image-tar.c core/err.c core/util.c \
 *     $(pkg-config --cflags --libs libarchive json-c) -o /tmp/fuzz_oci_config
 *   mkdir -p /tmp/fuzz_oci_corpus && /tmp/fuzz_oci_config -max_total_time=30 /tmp/fuzz_oci_corpus
 * A seed such as {"config":{"Entrypoint":["/bin/sh"],"Env":["A=b"],"WorkingDir":"/"}} helps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/image-oci-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nk_image_defaults d;
	struct nk_err err;
	int r = nk_oci_parse_config((const char *)data, size, &d, &err);
	/* On failure nothing may be left allocated; on success every field is owned by d. */
	if (r < 0 && (d.entrypoint || d.cmd || d.env || d.workdir || !err.msg[0]))
		abort();
	free_strv(d.entrypoint);
	free_strv(d.cmd);
	free_strv(d.env);
	free(d.workdir);
	return 0;
}
