/* libFuzzer target: what users type (names, sizes, volumes, env entries, signals). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct nk_err err;
	uint64_t bytes;
	struct nk_volume vol;
	int sig;
	(void)!nk_name_check(s, "instance", &err);
	(void)!nk_size_parse(s, &bytes, &err);
	if (nk_volume_parse(s, &vol, &err) == 0 && (vol.source[0] != '/' || vol.dest[0] != '/'))
		abort(); /* a parsed volume always has absolute paths */
	(void)!nk_env_check(s, &err);
	(void)!nk_signal_parse(s, &sig, &err);
	free(s);
	return 0;
}
