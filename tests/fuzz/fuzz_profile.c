/* libFuzzer target: sandbox profiles (the line format) and $PWD/$HOME expansion. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *path)
{
	char out[PATH_MAX];
	struct nk_err err;
	if (!path)
		return;
	if (nk_profile_expand(path, "/work", "/home/ada", out, sizeof(out), &err) < 0 || out[0] != '/' ||
	    strstr(out, "/../"))
		abort(); /* a loaded profile's paths always expand to absolute ones */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nk_profile p;
	struct nk_err err = {0};
	if (nk_profile_parse((const char *)data, size, "fuzz.profile", NULL, &p, &err) == 0) {
		for (size_t i = 0; i < p.mount_count; i++) {
			check_path(p.mounts[i].source);
			check_path(p.mounts[i].dest);
		}
		for (size_t i = 0; i < p.masked_count; i++)
			if (p.masked_paths[i][0] != '/')
				abort();
		if (nk_profile_caps(&p) & p.cap_drop & ~p.cap_add)
			abort();
		nk_profile_free(&p);
	} else if (strncmp(err.msg, "fuzz.profile", 12)) {
		abort();
	}
	/* The expander on its own, with arbitrary text. */
	char in[256], out[64];
	size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1;
	memcpy(in, data, n);
	in[n] = '\0';
	(void)!nk_profile_expand(in, "/p", "/h", out, sizeof(out), &err);
	return 0;
}
