/* Building nook's initramfs: directories, /dev/console, static busybox, /init, the
 * modules in load order (listed in /etc/nook/modules), written as one newc cpio. */
#include "vm-initramfs.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpio.h"
#include "util.h"
#include "vm-init-script.h"
#include "vm-kmod.h"

/* Bumped whenever the layout or /init changes: the cache file name carries it. */
#define INITRAMFS_LAYOUT 2

/* The guest's devices and root file system. Each is skipped when built in (Debian's cloud
 * kernel builds ext4 in; its generic kernel has it as a module). */
const char *const nk_initramfs_modules[] = {"virtio_mmio", "virtio_blk", "virtio_net", "virtio_rng", "ext4"};
const size_t nk_initramfs_module_count = NK_ARRAY_SIZE(nk_initramfs_modules);
/* ext4's checksums want crc32c at mount time (a soft dependency, not in depends=);
 * pvpanic_mmio binds the VMM's ACPI pvpanic device (QEMU0001), so a panic ends the VM as
 * "crashed" rather than as a reset. */
static const char *const optional_modules[] = {"crc32c_generic", "crc32c_intel", "pvpanic_mmio"};

static const char *const busybox_candidates[] = {"/bin/busybox", "/usr/bin/busybox"};

static const char *const dirs[] = {"bin", "dev", "etc", "etc/nook", "lib", "lib/modules", "newroot", "proc",
				   "root", "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin"};

int nk_initramfs_path(const struct nk_kernel *k, char *out, size_t size)
{
	return nk_fmt(out, size, "%s/initramfs-nook-%d.cpio", k->dir, INITRAMFS_LAYOUT);
}

/* The initramfs has no libc: busybox must be the static one (busybox-static). */
static int check_static(const char *path, struct nk_err *err)
{
	nk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return nk_err_set(err, errno ? errno : EIO, "cannot read %s", path);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr))
		return nk_err_msg(err, ENOEXEC, "%s is not a 64-bit ELF program", path);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
			return nk_err_msg(err, EIO, "cannot read %s", path);
		if (ph.p_type == PT_INTERP)
			return nk_err_msg(err, ENOEXEC,
					  "%s is linked dynamically and cannot run in an initramfs: install "
					  "busybox-static (`apt-get install busybox-static`)", path);
	}
	return 0;
}

static int find_busybox(const char **out, struct nk_err *err)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(busybox_candidates); i++)
		if (access(busybox_candidates[i], X_OK) == 0) {
			*out = busybox_candidates[i];
			return 0;
		}
	return nk_err_msg(err, ENOENT, "no busybox on this host: install busybox-static (or run `make deps`)");
}

/* Every directory on the way to a module, once. */
static int add_parents(struct nk_cpio *w, const char *path, char ***made, size_t *n_made, struct nk_err *err)
{
	char dir[4096];
	for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		if ((size_t)(slash - path) >= sizeof(dir))
			return nk_err_msg(err, ENAMETOOLONG, "module path too long: %s", path);
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		int seen = !strcmp(dir, "lib") || !strcmp(dir, "lib/modules");
		for (size_t i = 0; !seen && i < *n_made; i++)
			seen = !strcmp((*made)[i], dir);
		if (seen)
			continue;
		char **nm = realloc(*made, (*n_made + 1) * sizeof(char *));
		if (!nm || !(nm[*n_made] = strdup(dir))) {
			if (nm)
				*made = nm;
			return nk_err_set(err, ENOMEM, "building the initramfs");
		}
		*made = nm;
		(*n_made)++;
		int r = nk_cpio_add_dir(w, dir, 0755, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_modules(struct nk_cpio *w, const char *moddir, const char *version, struct nk_err *err)
{
	struct nk_kmod_index idx;
	int r = nk_kmod_index_load(moddir, &idx, err);
	if (r < 0)
		return r;
	size_t *order = NULL, n = 0, list_len = 0, n_made = 0;
	char **made = NULL;
	nk_autofree char *list = NULL;
	r = nk_kmod_resolve(&idx, nk_initramfs_modules, nk_initramfs_module_count, optional_modules,
			    NK_ARRAY_SIZE(optional_modules), &order, &n, err);
	if (r == 0 && !(list = calloc(n + 1, 4096)))
		r = nk_err_set(err, ENOMEM, "building the initramfs");
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct nk_kmod *m = &idx.mods[order[i]];
		char dest[4096];
		/* Stored decompressed: busybox's insmod then needs no decompressor. */
		size_t rl = strlen(m->relpath), keep = rl;
		while (keep > 3 && strncmp(m->relpath + keep - 3, ".ko", 3) != 0)
			keep--;
		if (nk_fmt(dest, sizeof(dest), "lib/modules/%s/%.*s", version, (int)keep, m->relpath) < 0) {
			r = nk_err_msg(err, ENAMETOOLONG, "module path too long: %s", m->relpath);
			break;
		}
		nk_autofree char *data = NULL;
		size_t len = 0;
		if ((r = add_parents(w, dest, &made, &n_made, err)) < 0 ||
		    (r = nk_kmod_read(&idx, m, &data, &len, err)) < 0 ||
		    (r = nk_cpio_add_file(w, dest, 0644, data, len, err)) < 0)
			break;
		list_len += (size_t)snprintf(list + list_len, 4096, "/%s\n", dest);
	}
	if (r == 0)
		r = nk_cpio_add_file(w, "etc/nook/modules", 0644, list ? list : "", list_len, err);
	for (size_t i = 0; i < n_made; i++)
		free(made[i]);
	free(made);
	free(order);
	nk_kmod_index_free(&idx);
	return r;
}

static int write_all(struct nk_cpio *w, const char *moddir, const char *version, const char *busybox,
		     struct nk_err *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < NK_ARRAY_SIZE(dirs); i++)
		r = nk_cpio_add_dir(w, dirs[i], 0755, err);
	/* The kernel opens /dev/console for init's stdio before devtmpfs is mounted. */
	if (r == 0)
		r = nk_cpio_add_chardev(w, "dev/console", 0600, 5, 1, err);
	if (r == 0)
		r = nk_cpio_add_host_file(w, "bin/busybox", 0755, busybox, err);
	if (r == 0)
		r = nk_cpio_add_symlink(w, "bin/sh", "busybox", err);
	if (r == 0)
		r = nk_cpio_add_file(w, "init", 0755, nk_vm_init_script, strlen(nk_vm_init_script), err);
	if (r == 0)
		r = add_modules(w, moddir, version, err);
	return r < 0 ? r : nk_cpio_finish(w, err);
}

int nk_initramfs_build(const char *moddir, const char *version, const char *busybox, const char *out_path,
		       struct nk_err *err)
{
	int r = busybox ? 0 : find_busybox(&busybox, err);
	if (r < 0 || (r = check_static(busybox, err)) < 0)
		return r;
	char tmp[4096];
	if (nk_fmt(tmp, sizeof(tmp), "%s.tmp-%d", out_path, (int)getpid()) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long: %s", out_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot create %s", tmp);
	struct nk_cpio w;
	nk_cpio_init(&w, fd);
	r = write_all(&w, moddir, version, busybox, err);
	if (r == 0 && fsync(fd) < 0)
		r = nk_err_set(err, errno, "cannot write %s", tmp);
	if (close(fd) < 0 && r == 0)
		r = nk_err_set(err, errno, "cannot write %s", tmp);
	if (r == 0 && rename(tmp, out_path) < 0)
		r = nk_err_set(err, errno, "cannot move the initramfs to %s", out_path);
	if (r < 0) {
		unlink(tmp);
		return nk_err_prefix(err, "building the initramfs for %s", version);
	}
	return 0;
}

int nk_initramfs_ensure(const struct nk_kernel *k, char *out, size_t size, struct nk_err *err)
{
	if (nk_initramfs_path(k, out, size) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (access(out, R_OK) == 0)
		return 0;
	return nk_initramfs_build(k->modules, k->version, NULL, out, err);
}
