/* libFuzzer target: nk_tar_extract on arbitrary bytes must not crash or write outside dest.
 *
 * Build and run from the top of the tree:
 *   clang -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -g \
 *     tests/fuzz/fuzz_tar.c core/image-tar.c core/err.c core/util.c \
 *     $(pkg-config --cflags --libs libarchive json-c) -o /tmp/fuzz_tar
 *   mkdir -p /tmp/fuzz_tar_corpus && /tmp/fuzz_tar -max_total_time=30 /tmp/fuzz_tar_corpus
 * Seed the corpus with small tars (`tar cf`), gzip'd ones and OCI layers for better reach.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/image.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The oracle: after extraction the scratch directory holds only what we put there. */
static void check_nothing_escaped(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		abort();
	for (struct dirent *de; (de = readdir(d));) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "in.tar") && strcmp(de->d_name, "dest")) {
			fprintf(stderr, "escaped: %s/%s\n", base, de->d_name);
			abort();
		}
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char base[64];
	char tar[128], dest[128];
	struct nk_err err;
	if (!base[0]) {
		strcpy(base, "/tmp/nk-fuzz-tar-XXXXXX");
		if (!mkdtemp(base))
			abort();
	}
	snprintf(tar, sizeof(tar), "%s/in.tar", base);
	snprintf(dest, sizeof(dest), "%s/dest", base);
	int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || nk_write_all(fd, data, size) < 0)
		abort();
	close(fd);
	if (mkdir(dest, 0755) < 0)
		abort();
	if (nk_tar_extract(tar, dest, &err) < 0 && !err.msg[0])
		abort(); /* every failure explains itself */
	check_nothing_escaped(base);
	if (nk_rm_rf(dest, &err) < 0) {
		fprintf(stderr, "cleanup: %s\n", err.msg);
		abort();
	}
	return 0;
}
