/* Running a host tool (apt-get, dpkg-deb, mkfs.ext4) and keeping what it said, so a
 * failure can be reported in the tool's own words. */
#ifndef NOOK_HOST_TOOL_H
#define NOOK_HOST_TOOL_H

#include <stddef.h>

#include "err.h"

struct nk_tool_result {
	int exit_code;    /* 0..255, or 128 + signal */
	char output[4096]; /* stdout and stderr together: the last bytes when it said more */
	size_t output_len;
	int truncated;    /* the start of the output was dropped */
};

/* Run argv (argv[0] looked up in PATH, with /usr/sbin and /sbin added) in cwd (NULL: the
 * current one), stdin from /dev/null, environment plus LC_ALL=C. Returns 0 when it ran
 * (whatever its exit code), -errno when it could not be started (ENOENT: not installed). */
int nk_tool_run(const char *const *argv, const char *cwd, struct nk_tool_result *res,
		struct nk_err *err) NK_MUST_CHECK;

/* The last non-empty line of the output (for a one-line error message). */
const char *nk_tool_last_line(struct nk_tool_result *res);

#endif
