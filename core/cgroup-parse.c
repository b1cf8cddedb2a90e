/* Parsers for cgroup file contents (both layouts); pure functions over a buffer. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

/* v1 writes "no limit" as a page-rounded LONG_MAX; anything that large means none. */
#define V1_UNLIMITED_FLOOR (1ull << 62)

int nk_cg_parse_u64(const char *buf, uint64_t *out)
{
	while (*buf == ' ' || *buf == '\t')
		buf++;
	if (!strncmp(buf, "max", 3) && (buf[3] == '\0' || isspace((unsigned char)buf[3]))) {
		*out = NK_UNLIMITED;
		return 0;
	}
	if (!isdigit((unsigned char)*buf))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || (*end && !isspace((unsigned char)*end)))
		return -EINVAL;
	*out = v >= V1_UNLIMITED_FLOOR ? NK_UNLIMITED : (uint64_t)v;
	return 0;
}

int nk_cg_parse_keyed(const char *buf, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return nk_cg_parse_u64(line + klen + 1, out);
	}
	return -ENOENT;
}

/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", one line per device. */
int nk_cg_parse_io_stat(const char *buf, uint64_t *rbytes, uint64_t *wbytes)
{
	*rbytes = *wbytes = 0;
	int found = 0;
	for (const char *p = buf; (p = strstr(p, "bytes=")) != NULL; p += 6) {
		if (p - buf < 1)
			continue;
		char kind = p[-1];
		if (kind != 'r' && kind != 'w')
			continue; /* dbytes: discards */
		if (p - buf >= 2 && !isspace((unsigned char)p[-2]))
			continue;
		char *end;
		unsigned long long v = strtoull(p + 6, &end, 10);
		if (end == p + 6)
			return -EINVAL;
		if (kind == 'r')
			*rbytes += v;
		else
			*wbytes += v;
		found = 1;
	}
	return found || !*buf ? 0 : -EINVAL;
}

/* "8:0 Read 4096\n8:0 Write 0\n...\nTotal 4096": sum the per-device Read/Write lines. */
int nk_cg_parse_blkio(const char *buf, uint64_t *rbytes, uint64_t *wbytes)
{
	*rbytes = *wbytes = 0;
	for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *sp = strchr(line, ' ');
		const char *nl = strchr(line, '\n');
		if (!sp || (nl && sp > nl) || !isdigit((unsigned char)line[0]))
			continue; /* "Total N" and blank lines */
		uint64_t *dest = !strncmp(sp + 1, "Read ", 5) ? rbytes : !strncmp(sp + 1, "Write ", 6) ? wbytes : NULL;
		if (!dest)
			continue;
		const char *num = strchr(sp + 1, ' ');
		char *end;
		unsigned long long v = strtoull(num + 1, &end, 10);
		if (end == num + 1)
			return -EINVAL;
		*dest += v;
	}
	return 0;
}

/* "max 100000" or "50000 100000". */
int nk_cg_parse_cpu_max(const char *buf, uint64_t *quota, uint64_t *period)
{
	int r = nk_cg_parse_u64(buf, quota);
	if (r < 0)
		return r;
	const char *sp = strchr(buf, ' ');
	if (!sp)
		return -EINVAL;
	return nk_cg_parse_u64(sp + 1, period);
}

int nk_cgroup_pread(int fd, char *buf, size_t size)
{
	if (fd < 0)
		return -EBADF;
	ssize_t n = pread(fd, buf, size - 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}
