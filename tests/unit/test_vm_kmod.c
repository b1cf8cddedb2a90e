/* Unit tests for kernel-module resolution and the initramfs builder, on a made-up modules
 * tree of tiny ELF files whose .modinfo carries depends= (as real modules do). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cpio.h"
#include "core/util.h"
#include "core/vm-initramfs.h"
#include "core/vm-kmod.h"

static char root[] = "/tmp/nook-kmod-XXXXXX";
static char moddir[4096];

/* A 64-bit ELF with two sections: .modinfo (the given strings) and .shstrtab. */
/* compress: NULL, or a compressor that replaces x.ko with x.ko.<suffix> ("gzip", "xz",
 * "zstd --rm -q"); modules compressed by one missing here are written plain. */
static void write_module(const char *rel, const char *depends, const char *compress)
{
	char modinfo[256];
	int mlen = snprintf(modinfo, sizeof(modinfo), "license=GPL%cdepends=%s%cname=x", 0, depends, 0) + 1;
	static const char shstr[] = "\0.modinfo\0.shstrtab";
	Elf64_Ehdr eh = {0};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 2;
	size_t info_at = sizeof(eh), str_at = info_at + (size_t)mlen, sh_at = (str_at + sizeof(shstr) + 7) & ~7ul;
	eh.e_shoff = sh_at;
	Elf64_Shdr sh[3] = {{0}};
	sh[1].sh_name = 1, sh[1].sh_type = SHT_PROGBITS, sh[1].sh_offset = info_at, sh[1].sh_size = (size_t)mlen;
	sh[2].sh_name = 10, sh[2].sh_type = SHT_STRTAB, sh[2].sh_offset = str_at, sh[2].sh_size = sizeof(shstr);
	char buf[1024] = {0};
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + info_at, modinfo, (size_t)mlen);
	memcpy(buf + str_at, shstr, sizeof(shstr));
	memcpy(buf + sh_at, sh, sizeof(sh));
	char path[8192], cmd[8300];
	snprintf(path, sizeof(path), "%s/%s", moddir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname %s)\"", path);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, sh_at + sizeof(sh), f), sh_at + sizeof(sh));
	fclose(f);
	if (compress) {
		char tool[32];
		snprintf(tool, sizeof(tool), "%s", compress);
		tool[strcspn(tool, " ")] = '\0';
		snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null && %s %s || true", tool, compress, path);
		assert_int_equal(system(cmd), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(moddir, sizeof(moddir), "%s/modules", root);
	write_module("kernel/drivers/virtio/virtio.ko", "", NULL);
	write_module("kernel/drivers/virtio/virtio_ring.ko", "", "xz");
	write_module("kernel/drivers/virtio/virtio_mmio.ko", "virtio,virtio_ring", NULL);
	write_module("kernel/drivers/block/virtio_blk.ko", "virtio,virtio_ring", "gzip");
	write_module("kernel/net/core/failover.ko", "", "zstd --rm -q");
	write_module("kernel/drivers/net/net_failover.ko", "failover", NULL);
	write_module("kernel/drivers/net/virtio_net.ko", "virtio,virtio_ring,net_failover", NULL);
	write_module("kernel/drivers/char/hw_random/virtio-rng.ko", "virtio,virtio_ring,rng_core", NULL);
	write_module("kernel/fs/loop_a.ko", "loop_b", NULL);
	write_module("kernel/fs/loop_b.ko", "loop_a", NULL);
	write_module("kernel/fs/needs_ghost.ko", "ghost", NULL);
	char p[8192];
	snprintf(p, sizeof(p), "%s/modules.builtin", moddir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("kernel/fs/ext4/ext4.ko\nkernel/drivers/char/hw_random/rng-core.ko\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct nk_err err;
	return nk_rm_rf(root, &err);
}

static size_t pos(const struct nk_kmod_index *idx, const size_t *order, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(idx->mods[order[i]].name, name))
			return i;
	fail_msg("%s not in the load order", name);
	return 0;
}

static void dependencies_load_first(void **state)
{
	(void)state;
	struct nk_kmod_index idx;
	struct nk_err err = {0};
	assert_int_equal(nk_kmod_index_load(moddir, &idx, &err), 0);
	assert_int_equal(idx.count, 11);
	assert_non_null(nk_kmod_find(&idx, "virtio-rng")); /* '-' and '_' are one */
	assert_true(nk_kmod_is_builtin(&idx, "rng_core"));
	/* Found whatever their compression (where the compressor is installed). */
	assert_non_null(strstr(nk_kmod_find(&idx, "virtio_blk")->relpath, ".ko.gz"));
	if (system("command -v xz >/dev/null") == 0)
		assert_non_null(strstr(nk_kmod_find(&idx, "virtio_ring")->relpath, ".ko.xz"));
	if (system("command -v zstd >/dev/null") == 0)
		assert_non_null(strstr(nk_kmod_find(&idx, "failover")->relpath, ".ko.zst"));
	size_t *order, n;
	assert_int_equal(nk_kmod_resolve(&idx, nk_initramfs_modules, nk_initramfs_module_count, NULL, 0, &order, &n,
					 &err), 0);
	/* ext4 and rng_core are built in: everything else once, dependencies first. */
	assert_int_equal(n, 8);
	assert_true(pos(&idx, order, n, "virtio") < pos(&idx, order, n, "virtio_mmio"));
	assert_true(pos(&idx, order, n, "virtio_ring") < pos(&idx, order, n, "virtio_blk"));
	assert_true(pos(&idx, order, n, "failover") < pos(&idx, order, n, "net_failover"));
	assert_true(pos(&idx, order, n, "net_failover") < pos(&idx, order, n, "virtio_net"));
	pos(&idx, order, n, "virtio_rng");
	free(order);
	nk_kmod_index_free(&idx);
}

static void bad_sets_fail_clearly(void **state)
{
	(void)state;
	struct nk_kmod_index idx;
	struct nk_err err = {0};
	size_t *order, n;
	assert_int_equal(nk_kmod_index_load(moddir, &idx, &err), 0);
	const char *loop[] = {"loop_a"}, *ghost[] = {"needs_ghost"}, *missing[] = {"nosuch"};
	assert_int_equal(nk_kmod_resolve(&idx, loop, 1, NULL, 0, &order, &n, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "depends on itself"));
	assert_int_equal(nk_kmod_resolve(&idx, ghost, 1, NULL, 0, &order, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "needs ghost"));
	assert_int_equal(nk_kmod_resolve(&idx, missing, 1, NULL, 0, &order, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no module nosuch"));
	/* Optional names may be absent. */
	assert_int_equal(nk_kmod_resolve(&idx, NULL, 0, missing, 1, &order, &n, &err), 0);
	assert_int_equal(n, 0);
	free(order);
	char junk[64] = "not an elf file at all";
	char deps[64];
	assert_int_equal(nk_kmod_depends(junk, sizeof(junk), deps, sizeof(deps), &err), -EINVAL);
	nk_kmod_index_free(&idx);
}

static int has(const uint8_t *b, size_t len, const char *name, struct nk_cpio_entry *out)
{
	size_t off = 0;
	struct nk_cpio_entry e;
	while (nk_cpio_next(b, len, &off, &e) == 1)
		if (!strcmp(e.name, name)) {
			if (out)
				*out = e;
			return 1;
		}
	return 0;
}

static void initramfs_has_init_busybox_and_modules(void **state)
{
	(void)state;
	if (access("/bin/busybox", X_OK) != 0)
		skip(); /* busybox-static is a build dependency */
	char out[8192];
	struct nk_err err = {0};
	snprintf(out, sizeof(out), "%s/initramfs.cpio", root);
	assert_int_equal(nk_initramfs_build(moddir, "9.9.9-test", "/bin/busybox", out, &err), 0);
	char *buf;
	size_t len;
	assert_int_equal(nk_read_file(out, &buf, &len, &err), 0);
	const uint8_t *b = (const uint8_t *)buf;
	struct nk_cpio_entry e;
	assert_true(has(b, len, "init", &e) && (e.mode & 0111) && memcmp(e.data, "#!/bin/busybox sh\n", 18) == 0);
	assert_true(has(b, len, "bin/busybox", &e) && e.size > 100000);
	assert_true(has(b, len, "dev/console", &e) && e.rdev_major == 5);
	assert_true(has(b, len, "lib/modules/9.9.9-test/kernel/drivers/virtio/virtio_ring.ko", NULL));
	assert_true(has(b, len, "lib/modules/9.9.9-test/kernel/drivers/net/net_failover.ko", NULL));
	assert_true(has(b, len, "lib/modules/9.9.9-test/kernel/net/core/failover.ko", NULL));
	/* Compressed modules (gzip, xz, zstd) are stored decompressed, under the .ko name. */
	assert_true(has(b, len, "lib/modules/9.9.9-test/kernel/drivers/block/virtio_blk.ko", &e));
	assert_int_equal(memcmp(e.data, ELFMAG, SELFMAG), 0);
	assert_true(has(b, len, "lib/modules/9.9.9-test/kernel/drivers/virtio/virtio_ring.ko", &e));
	assert_int_equal(memcmp(e.data, ELFMAG, SELFMAG), 0);
	assert_true(has(b, len, "lib/modules/9.9.9-test/kernel/net/core/failover.ko", &e));
	assert_int_equal(memcmp(e.data, ELFMAG, SELFMAG), 0);
	assert_false(has(b, len, "lib/modules/9.9.9-test/kernel/fs/loop_a.ko", NULL));
	/* The load list names each module once, after its dependencies. */
	assert_true(has(b, len, "etc/nook/modules", &e));
	char *list = strndup((const char *)e.data, e.size);
	const char *ring = strstr(list, "virtio_ring.ko"), *blk = strstr(list, "virtio_blk.ko"),
		   *fo = strstr(list, "/failover.ko"), *vnet = strstr(list, "virtio_net.ko");
	assert_true(ring && blk && fo && vnet && ring < blk && fo < vnet);
	assert_non_null(strstr(list, "/lib/modules/9.9.9-test/kernel/drivers/char/hw_random/virtio-rng.ko\n"));
	free(list);
	free(buf);
	unlink(out);
}

static void dynamic_busybox_refused(void **state)
{
	(void)state;
	char out[8192];
	struct nk_err err = {0};
	snprintf(out, sizeof(out), "%s/initramfs2.cpio", root);
	/* Any dynamically linked program stands in for a non-static busybox. */
	assert_int_equal(nk_initramfs_build(moddir, "9.9.9-test", "/bin/ls", out, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "busybox-static"));
	assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dependencies_load_first), cmocka_unit_test(bad_sets_fail_clearly),
	    cmocka_unit_test(initramfs_has_init_busybox_and_modules), cmocka_unit_test(dynamic_busybox_refused)};
	return cmocka_run_group_tests(tests, setup, teardown);
}
