/* The kernel store: fetch (apt-get download + dpkg-deb -x into a private directory, then
 * rename into place), list, find, remove. */
#include "vm-kernel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-tool.h"
#include "util.h"

static int kernels_dir(const struct nk_paths *paths, char *out, size_t size, struct nk_err *err)
{
	if (nk_fmt(out, size, "%s/kernels", paths->root) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return nk_err_set(err, errno, "cannot create %s", out);
	return 0;
}

static int version_ok(const char *v)
{
	if (!*v || v[0] == '.' || strlen(v) >= sizeof(((struct nk_kernel *)0)->version))
		return 0;
	for (const char *c = v; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '-' || *c == '_' || *c == '+' || *c == '~'))
			return 0;
	return 1;
}

static int fill(const char *kdir, const char *version, struct nk_kernel *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->version, sizeof(k->version), "%s", version);
	if (nk_fmt(k->dir, sizeof(k->dir), "%s/%s", kdir, version) < 0 ||
	    nk_fmt(k->vmlinuz, sizeof(k->vmlinuz), "%s/vmlinuz", k->dir) < 0 ||
	    nk_fmt(k->modules, sizeof(k->modules), "%s/modules", k->dir) < 0)
		return -ENAMETOOLONG;
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/package", k->dir);
	FILE *f = fopen(p, "re");
	if (f) {
		if (fgets(k->package, sizeof(k->package), f))
			k->package[strcspn(k->package, "\n")] = '\0';
		fclose(f);
	}
	return access(k->vmlinuz, R_OK) == 0 ? 0 : -ENOENT;
}

static int newest_first(const void *a, const void *b)
{
	return -strverscmp(((const struct nk_kernel *)a)->version, ((const struct nk_kernel *)b)->version);
}

int nk_kernel_list(const struct nk_paths *paths, struct nk_kernel **out, size_t *n, struct nk_err *err)
{
	char kdir[PATH_MAX];
	int r = kernels_dir(paths, kdir, sizeof(kdir), err);
	if (r < 0)
		return r;
	*out = NULL;
	*n = 0;
	DIR *d = opendir(kdir);
	if (!d)
		return nk_err_set(err, errno, "cannot read %s", kdir);
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct nk_kernel k;
		if (!version_ok(de->d_name) || fill(kdir, de->d_name, &k) < 0)
			continue;
		if (*n == cap) {
			struct nk_kernel *nk = realloc(*out, (cap = cap ? cap * 2 : 4) * sizeof(**out));
			if (!nk) {
				closedir(d);
				free(*out);
				*out = NULL;
				return nk_err_set(err, ENOMEM, "listing kernels");
			}
			*out = nk;
		}
		(*out)[(*n)++] = k;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), newest_first);
	return 0;
}

int nk_kernel_find(const struct nk_paths *paths, const char *version, struct nk_kernel *out, struct nk_err *err)
{
	struct nk_kernel *all;
	size_t n;
	int r = nk_kernel_list(paths, &all, &n, err);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n && r < 0; i++)
		if (!version || strcmp(all[i].version, version) == 0) {
			*out = all[i];
			r = 0;
		}
	free(all);
	if (r < 0)
		return version ? nk_err_msg(err, ENOENT, "no kernel %s (see `nook kernel ls`)", version)
			       : nk_err_msg(err, ENOENT, "no guest kernel yet: fetch one with `nook kernel fetch`");
	return 0;
}

/* apt's words for what went wrong, turned into what to do about it. */
static int apt_failed(const char *what, const char *package, struct nk_tool_result *res, struct nk_err *err)
{
	const char *out = res->output;
	if (strstr(out, "Unable to locate package") || strstr(out, "No packages found") ||
	    strstr(out, "has no installation candidate"))
		return nk_err_msg(err, ENOENT,
				  "apt knows no package %s: run `apt-get update` (a Debian amd64 host with the main "
				  "archive in its sources is needed), or give a kernel with --kernel PATH", package);
	if (strstr(out, "Temporary failure resolving") || strstr(out, "Could not resolve") ||
	    strstr(out, "Failed to fetch") || strstr(out, "Could not connect") || strstr(out, "Unable to connect"))
		return nk_err_msg(err, ENETUNREACH,
				  "apt-get could not download %s (no network to the Debian mirror?): %s; fetch it "
				  "later with `nook kernel fetch`, or give a kernel with --kernel PATH",
				  package, nk_tool_last_line(res));
	return nk_err_msg(err, EIO, "%s %s failed (exit %d): %s", what, package, res->exit_code,
			  nk_tool_last_line(res));
}

/* A metapackage (linux-image-cloud-amd64) stands for the kernel package it depends on. */
static int real_package(const char *package, char *out, size_t size, struct nk_err *err)
{
	struct nk_tool_result res;
	const char *argv[] = {"apt-cache", "depends", "--important", package, NULL};
	int r = nk_tool_run(argv, NULL, &res, err);
	if (r < 0)
		return nk_err_prefix(err, "looking up %s (is this a Debian host with apt?)", package);
	if (res.exit_code != 0 || !strstr(res.output, package))
		return apt_failed("apt-cache depends", package, &res, err);
	for (char *save, *line = strtok_r(res.output, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *dep = strstr(line, "Depends: ");
		if (!dep)
			continue;
		dep += strlen("Depends: ");
		if (strncmp(dep, "linux-image-", 12) == 0 && strchr(dep, '.')) {
			snprintf(out, size, "%.*s", (int)strcspn(dep, " <>"), dep);
			return 0;
		}
	}
	snprintf(out, size, "%s", package); /* not a metapackage: the kernel itself */
	return 0;
}

static int find_deb(const char *dir, char *out, size_t size, struct nk_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return nk_err_set(err, errno, "cannot read %s", dir);
	struct dirent *de;
	int r = nk_err_msg(err, ENOENT, "apt-get download left no .deb in %s", dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".deb") == 0) {
			r = nk_fmt(out, size, "%s/%s", dir, de->d_name) < 0 ? nk_err_msg(err, ENAMETOOLONG, "path too long")
									      : 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/* The version is the suffix of boot/vmlinuz-VERSION in the package. */
static int package_version(const char *tree, char *version, size_t size, struct nk_err *err)
{
	char boot[PATH_MAX];
	if (nk_fmt(boot, sizeof(boot), "%s/boot", tree) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	DIR *d = opendir(boot);
	if (!d)
		return nk_err_set(err, errno, "the package has no /boot: is it a kernel image package?");
	struct dirent *de;
	int r = nk_err_msg(err, ENOENT, "the package has no boot/vmlinuz-*: is it a kernel image package?");
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "vmlinuz-", 8) == 0 && version_ok(de->d_name + 8)) {
			snprintf(version, size, "%s", de->d_name + 8);
			r = 0;
			break;
		}
	closedir(d);
	return r;
}

/* Move the parts nook uses out of the unpacked tree into stage (same file system). */
static int arrange(const char *tree, const char *version, const char *stage, const char *package_line,
		   struct nk_err *err)
{
	static const struct {
		const char *from, *to;
		int required;
	} parts[] = {{"boot/vmlinuz-", "vmlinuz", 1},
		     {"lib/modules/", "modules", 1},
		     {"boot/config-", "config", 0},
		     {"boot/System.map-", "System.map", 0}};
	if (mkdir(stage, 0755) < 0)
		return nk_err_set(err, errno, "cannot create %s", stage);
	for (size_t i = 0; i < NK_ARRAY_SIZE(parts); i++) {
		char from[PATH_MAX], to[PATH_MAX];
		if (nk_fmt(from, sizeof(from), "%s/%s%s", tree, parts[i].from, version) < 0 ||
		    nk_fmt(to, sizeof(to), "%s/%s", stage, parts[i].to) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "path too long");
		if (rename(from, to) < 0 && (parts[i].required || errno != ENOENT))
			return nk_err_set(err, errno, "the kernel package has no usable %s", from + strlen(tree));
	}
	char p[PATH_MAX], line[320];
	if (nk_fmt(p, sizeof(p), "%s/package", stage) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	snprintf(line, sizeof(line), "%s\n", package_line);
	return nk_write_file_atomic(p, line, strlen(line), 0644, err);
}

static int unpack(const char *work, const char *package, char *version, size_t vsize, char *line, size_t lsize,
		  struct nk_err *err)
{
	char dl[PATH_MAX], tree[PATH_MAX], deb[PATH_MAX];
	if (nk_fmt(dl, sizeof(dl), "%s/download", work) < 0 || nk_fmt(tree, sizeof(tree), "%s/tree", work) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	/* apt drops to its _apt user for downloads; the private directory is root's only. */
	if (mkdir(dl, 0755) < 0 || mkdir(tree, 0755) < 0)
		return nk_err_set(err, errno, "cannot create %s", dl);
	struct nk_tool_result res;
	const char *get[] = {"apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", package, NULL};
	int r = nk_tool_run(get, dl, &res, err);
	if (r < 0)
		return nk_err_prefix(err, "downloading %s (is this a Debian host with apt?)", package);
	if (res.exit_code != 0)
		return apt_failed("apt-get download", package, &res, err);
	if ((r = find_deb(dl, deb, sizeof(deb), err)) < 0)
		return r;
	const char *x[] = {"dpkg-deb", "-x", deb, tree, NULL};
	if ((r = nk_tool_run(x, NULL, &res, err)) < 0)
		return nk_err_prefix(err, "unpacking %s", deb);
	if (res.exit_code != 0)
		return nk_err_msg(err, EIO, "dpkg-deb -x %s failed: %s", deb, nk_tool_last_line(&res));
	const char *f[] = {"dpkg-deb", "-f", deb, "Version", NULL};
	if (nk_tool_run(f, NULL, &res, err) == 0 && res.exit_code == 0)
		snprintf(line, lsize, "%s %s", package, nk_tool_last_line(&res));
	else
		snprintf(line, lsize, "%s", package);
	return package_version(tree, version, vsize, err);
}

/* A fetch that was killed leaves its private directory (the unpacked package, ~100 MiB):
 * the next fetch removes those whose process is gone. */
static void remove_stale_work(const char *kdir)
{
	DIR *d = opendir(kdir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, ".fetch-", 7) != 0)
			continue;
		long pid = strtol(de->d_name + 7, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		char path[PATH_MAX];
		struct nk_err ignored;
		if (nk_fmt(path, sizeof(path), "%s/%s", kdir, de->d_name) == 0)
			(void)!nk_rm_rf(path, &ignored);
	}
	closedir(d);
}

int nk_kernel_fetch(const struct nk_paths *paths, const char *package, struct nk_kernel *out, int *fresh,
		    struct nk_err *err)
{
	char kdir[PATH_MAX], real[160], work[PATH_MAX], stage[PATH_MAX], final[PATH_MAX], version[128], line[256];
	int r = kernels_dir(paths, kdir, sizeof(kdir), err);
	if (r < 0)
		return r;
	if (!package)
		package = NK_KERNEL_PACKAGE;
	if (!*package || package[0] == '-' || strpbrk(package, "/ \t\n"))
		return nk_err_msg(err, EINVAL, "'%s' is not a package name", package);
	if ((r = real_package(package, real, sizeof(real), err)) < 0)
		return r;
	remove_stale_work(kdir);
	if (nk_fmt(work, sizeof(work), "%s/.fetch-%d", kdir, (int)getpid()) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	struct nk_err ignored;
	(void)!nk_rm_rf(work, &ignored);
	if (mkdir(work, 0700) < 0)
		return nk_err_set(err, errno, "cannot create %s", work);
	*fresh = 0;
	if ((r = unpack(work, real, version, sizeof(version), line, sizeof(line), err)) < 0)
		goto out;
	if (nk_fmt(final, sizeof(final), "%s/%s", kdir, version) < 0 ||
	    nk_fmt(stage, sizeof(stage), "%s/stage", work) < 0) {
		r = nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
		goto out;
	}
	char tree[PATH_MAX + 8];
	snprintf(tree, sizeof(tree), "%s/tree", work);
	if ((r = arrange(tree, version, stage, line, err)) < 0)
		goto out;
	/* Two fetches at once: one rename wins, the other finds the kernel there. */
	if (rename(stage, final) == 0)
		*fresh = 1;
	else if (errno != EEXIST && errno != ENOTEMPTY)
		r = nk_err_set(err, errno, "cannot move the kernel into %s", final);
	if (r == 0 && fill(kdir, version, out) < 0)
		r = nk_err_msg(err, ENOENT, "%s has no vmlinuz", final);
out:
	(void)!nk_rm_rf(work, &ignored);
	return r < 0 ? nk_err_prefix(err, "fetching the guest kernel %s", package) : 0;
}

int nk_kernel_vmm_gaps(const struct nk_kernel *k, char *out, size_t size)
{
	char path[PATH_MAX + 16];
	nk_autofree char *config = NULL;
	size_t len;
	struct nk_err ignored;
	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/config", k->dir);
	if (nk_read_file(path, &config, &len, &ignored) < 0)
		return -ENOENT;
	int no_mmio = strstr(config, "# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set") != NULL;
	int no_mp = strstr(config, "# CONFIG_X86_MPPARSE is not set") != NULL;
	int acpi = strstr(config, "\nCONFIG_ACPI=y") != NULL;
	const char *what = no_mmio && no_mp ? "its root disk and more than one CPU" : no_mmio ? "its root disk" : "more than one CPU";
	if (no_mmio || no_mp)
		snprintf(out, size, "built without %s%s%s: %s %s%s", no_mmio ? "virtio-mmio command line devices" : "",
			 no_mmio && no_mp ? " and " : "", no_mp ? "MP tables" : "",
			 acpi ? "it finds" : "and without ACPI, it cannot see", what,
			 acpi ? " through the VMM's ACPI tables" : "");
	return 0;
}

int nk_kernel_remove(const struct nk_paths *paths, const char *version, struct nk_err *err)
{
	struct nk_kernel k;
	int r = version_ok(version) ? nk_kernel_find(paths, version, &k, err)
				    : nk_err_msg(err, EINVAL, "'%s' is not a kernel version", version);
	return r < 0 ? r : nk_rm_rf(k.dir, err);
}
