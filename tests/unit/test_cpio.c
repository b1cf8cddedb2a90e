/* Unit tests for the cpio newc writer: every entry kind read back by the reader and by
 * GNU cpio where it is installed, alignment, the trailer, and malformed archives refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cpio.h"
#include "core/util.h"

static char path[] = "/tmp/nook-cpio-XXXXXX";

static void write_sample(void)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char host[] = "/tmp/nook-cpio-host-XXXXXX";
	int hfd = mkstemp(host);
	assert_true(hfd >= 0);
	char big[70000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(nk_write_all(hfd, big, sizeof(big)), 0);
	close(hfd);
	struct nk_cpio w;
	struct nk_err err = {0};
	nk_cpio_init(&w, fd);
	assert_int_equal(nk_cpio_add_dir(&w, "bin", 0755, &err), 0);
	assert_int_equal(nk_cpio_add_file(&w, "init", 0755, "#!/bin/sh\n", 10, &err), 0);
	assert_int_equal(nk_cpio_add_file(&w, "empty", 0644, "", 0, &err), 0);
	assert_int_equal(nk_cpio_add_host_file(&w, "bin/big", 0600, host, &err), 0);
	assert_int_equal(nk_cpio_add_symlink(&w, "bin/sh", "busybox", &err), 0);
	assert_int_equal(nk_cpio_add_chardev(&w, "dev/console", 0600, 5, 1, &err), 0);
	assert_int_equal(nk_cpio_finish(&w, &err), 0);
	assert_int_equal(w.offset % 512, 0);
	close(fd);
	unlink(host);
}

static void reads_back_every_entry(void **state)
{
	(void)state;
	write_sample();
	char *buf;
	size_t len;
	struct nk_err err;
	assert_int_equal(nk_read_file(path, &buf, &len, &err), 0);
	const uint8_t *b = (const uint8_t *)buf;
	size_t off = 0;
	struct nk_cpio_entry e;
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 1);
	assert_string_equal(e.name, "bin");
	assert_true(S_ISDIR(e.mode) && (e.mode & 07777) == 0755 && e.size == 0 && e.nlink == 2);
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 1);
	assert_string_equal(e.name, "init");
	assert_true(S_ISREG(e.mode) && e.size == 10 && memcmp(e.data, "#!/bin/sh\n", 10) == 0);
	assert_int_equal(((uintptr_t)(e.data - b)) % 4, 0); /* data starts 4-aligned */
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 1);
	assert_string_equal(e.name, "empty");
	assert_int_equal(e.size, 0);
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 1);
	assert_string_equal(e.name, "bin/big");
	assert_int_equal(e.size, 70000);
	for (size_t i = 0; i < 70000; i++)
		assert_int_equal((uint8_t)e.data[i], (uint8_t)(i * 7));
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 1);
	assert_string_equal(e.name, "bin/sh");
	assert_true(S_ISLNK(e.mode) && e.size == 7 && memcmp(e.data, "busybox", 7) == 0);
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 1);
	assert_string_equal(e.name, "dev/console");
	assert_true(S_ISCHR(e.mode) && e.rdev_major == 5 && e.rdev_minor == 1);
	assert_int_equal(e.uid, 0);
	assert_int_equal(e.mtime, 0);
	assert_int_equal(nk_cpio_next(b, len, &off, &e), 0); /* TRAILER!!! */
	/* Only zero padding after the trailer, to a 512-byte boundary. */
	assert_true(off <= len && len - off < 512);
	for (size_t i = off; i < len; i++)
		assert_int_equal(b[i], 0);
	free(buf);
}

/* An independent reader: GNU cpio lists the same names (skipped without it). */
static void gnu_cpio_agrees(void **state)
{
	(void)state;
	if (access("/usr/bin/cpio", X_OK) != 0)
		skip();
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cpio -it --quiet < %s", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char out[512] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_string_equal(out, "bin\ninit\nempty\nbin/big\nbin/sh\ndev/console\n");
}

static void malformed_archives_refused(void **state)
{
	(void)state;
	char *buf;
	size_t len, off = 0;
	struct nk_err err;
	struct nk_cpio_entry e;
	assert_int_equal(nk_read_file(path, &buf, &len, &err), 0);
	uint8_t *b = (uint8_t *)buf;
	assert_int_equal(nk_cpio_next(b, 100, &off, &e), -EINVAL); /* cut inside a header */
	off = 0;
	assert_int_equal(nk_cpio_next(b, 112, &off, &e), -EINVAL); /* name past the end */
	memcpy(b + 6 + 8 * 6, "ffffffff", 8);                     /* first entry's size: 4 GiB */
	off = 0;
	assert_int_equal(nk_cpio_next(b, len, &off, &e), -EINVAL);
	b[0] = 'x';
	off = 0;
	assert_int_equal(nk_cpio_next(b, len, &off, &e), -EINVAL); /* bad magic */
	free(buf);
	unlink(path);
}

static void bad_paths_refused(void **state)
{
	(void)state;
	struct nk_cpio w;
	struct nk_err err = {0};
	int fd = open("/dev/null", O_WRONLY);
	nk_cpio_init(&w, fd);
	assert_int_equal(nk_cpio_add_dir(&w, "/abs", 0755, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/abs"));
	assert_int_equal(nk_cpio_add_host_file(&w, "x", 0644, "/nonexistent/file", &err), -ENOENT);
	assert_int_equal(nk_cpio_add_host_file(&w, "x", 0644, "/tmp", &err), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_back_every_entry), cmocka_unit_test(gnu_cpio_agrees),
	    cmocka_unit_test(malformed_archives_refused), cmocka_unit_test(bad_paths_refused)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
