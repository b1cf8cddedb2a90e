/* libFuzzer target: the config.json loader on arbitrary bytes (and state.json's). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec.h"
#include "core/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct nk_spec spec;
	struct nk_err err;
	if (nk_spec_load(text, &spec, &err) == 0)
		nk_spec_free(&spec);
	struct nk_state st;
	if (nk_state_from_json(text, &st, &err) == 0)
		free(nk_state_to_json(&st));
	free(text);
	return 0;
}
