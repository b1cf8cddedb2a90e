/* Kernel modules: an index of a modules tree, dependencies read from each module's own
 * .modinfo (a package ships no modules.dep: depmod makes it at install time), load order. */
#include "vm-kmod.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive-dl.h"
#include "util.h"

static const char *const ko_suffixes[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};

/* "virtio-rng.ko.xz" -> "virtio_rng"; 0 when the name is not a module's. */
static int module_name(const char *file, char *name, size_t size)
{
	size_t len = strlen(file);
	for (size_t i = 0; i < NK_ARRAY_SIZE(ko_suffixes); i++) {
		size_t sl = strlen(ko_suffixes[i]);
		if (len > sl && strcmp(file + len - sl, ko_suffixes[i]) == 0 && len - sl < size) {
			for (size_t j = 0; j < len - sl; j++)
				name[j] = file[j] == '-' ? '_' : file[j];
			name[len - sl] = '\0';
			return 1;
		}
	}
	return 0;
}

static int add_module(struct nk_kmod_index *idx, size_t *cap, const char *name, const char *rel)
{
	if (idx->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct nk_kmod *n = realloc(idx->mods, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		idx->mods = n;
		*cap = ncap;
	}
	struct nk_kmod *m = &idx->mods[idx->count];
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!(m->relpath = strdup(rel)))
		return -ENOMEM;
	idx->count++;
	return 0;
}

static int walk(struct nk_kmod_index *idx, size_t *cap, const char *rel, int depth, struct nk_err *err)
{
	char path[8192];
	if (depth > 16 || nk_fmt(path, sizeof(path), "%s/%s", idx->dir, rel) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "module tree too deep under %s", idx->dir);
	DIR *d = opendir(path);
	if (!d)
		return nk_err_set(err, errno, "cannot read %s", path);
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[8192], name[NK_KMOD_NAME_MAX];
		if (nk_fmt(sub, sizeof(sub), "%s/%s", rel, de->d_name) < 0) {
			r = nk_err_msg(err, ENAMETOOLONG, "module path too long under %s", idx->dir);
			break;
		}
		if (de->d_type == DT_DIR)
			r = walk(idx, cap, sub, depth + 1, err);
		else if ((de->d_type == DT_REG || de->d_type == DT_UNKNOWN) && module_name(de->d_name, name, sizeof(name)))
			r = add_module(idx, cap, name, sub) < 0 ? nk_err_set(err, ENOMEM, "indexing modules") : 0;
	}
	closedir(d);
	return r;
}

static int load_builtin(struct nk_kmod_index *idx, struct nk_err *err)
{
	char path[8192];
	if (nk_fmt(path, sizeof(path), "%s/modules.builtin", idx->dir) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "module path too long");
	nk_autofree char *text = NULL;
	size_t len = 0, n = 0;
	struct nk_err ignored;
	if (nk_read_file(path, &text, &len, &ignored) < 0)
		text = strdup(""); /* no list: nothing is known to be built in */
	if (!text)
		return nk_err_set(err, ENOMEM, "reading %s", path);
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	idx->builtin = calloc(n + 2, sizeof(char *));
	if (!idx->builtin)
		return nk_err_set(err, ENOMEM, "reading %s", path);
	size_t k = 0;
	for (char *save, *line = strtok_r(text, "\n", &save); line && k <= n; line = strtok_r(NULL, "\n", &save)) {
		const char *base = strrchr(line, '/');
		char name[NK_KMOD_NAME_MAX];
		if (module_name(base ? base + 1 : line, name, sizeof(name)) && !(idx->builtin[k++] = strdup(name)))
			return nk_err_set(err, ENOMEM, "reading %s", path);
	}
	return 0;
}

int nk_kmod_index_load(const char *moddir, struct nk_kmod_index *idx, struct nk_err *err)
{
	memset(idx, 0, sizeof(*idx));
	if (nk_fmt(idx->dir, sizeof(idx->dir), "%s", moddir) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "module path too long: %s", moddir);
	size_t cap = 0;
	int r = walk(idx, &cap, "kernel", 0, err);
	if (r == 0)
		r = load_builtin(idx, err);
	if (r < 0)
		nk_kmod_index_free(idx);
	return r;
}

void nk_kmod_index_free(struct nk_kmod_index *idx)
{
	for (size_t i = 0; i < idx->count; i++)
		free(idx->mods[i].relpath);
	free(idx->mods);
	for (size_t i = 0; idx->builtin && idx->builtin[i]; i++)
		free(idx->builtin[i]);
	free(idx->builtin);
	idx->mods = NULL;
	idx->builtin = NULL;
	idx->count = 0;
}

static void normalize(const char *in, char *out, size_t size)
{
	size_t i = 0;
	for (; in[i] && i + 1 < size; i++)
		out[i] = in[i] == '-' ? '_' : in[i];
	out[i] = '\0';
}

const struct nk_kmod *nk_kmod_find(const struct nk_kmod_index *idx, const char *name)
{
	char n[NK_KMOD_NAME_MAX];
	normalize(name, n, sizeof(n));
	for (size_t i = 0; i < idx->count; i++)
		if (strcmp(idx->mods[i].name, n) == 0)
			return &idx->mods[i];
	return NULL;
}

int nk_kmod_is_builtin(const struct nk_kmod_index *idx, const char *name)
{
	char n[NK_KMOD_NAME_MAX];
	normalize(name, n, sizeof(n));
	for (size_t i = 0; idx->builtin && idx->builtin[i]; i++)
		if (strcmp(idx->builtin[i], n) == 0)
			return 1;
	return 0;
}

/* Compressed modules go through libarchive's raw reader: one stream, any filter it knows. */
static int decompress(const char *path, char **data, size_t *len, struct nk_err *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return nk_err_msg(err, ENOTSUP, "cannot decompress %s: libarchive is not installed", path);
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	int r = 0;
	size_t cap = 1 << 20, used = 0;
	char *buf = malloc(cap);
	if (!buf)
		r = nk_err_set(err, ENOMEM, "reading %s", path);
	else if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
		r = nk_err_msg(err, EIO, "cannot decompress %s: %s", path, archive_error_string(a));
	while (r == 0) {
		if (used == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				r = nk_err_set(err, ENOMEM, "reading %s", path);
				break;
			}
			buf = nb;
		}
		la_ssize_t n = archive_read_data(a, buf + used, cap - used);
		if (n < 0)
			r = nk_err_msg(err, EIO, "cannot decompress %s: %s", path, archive_error_string(a));
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	archive_read_free(a);
	if (r < 0) {
		free(buf);
		return r;
	}
	*data = buf;
	*len = used;
	return 0;
}

int nk_kmod_read(const struct nk_kmod_index *idx, const struct nk_kmod *m, char **data, size_t *len,
		 struct nk_err *err)
{
	char path[8192];
	if (nk_fmt(path, sizeof(path), "%s/%s", idx->dir, m->relpath) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "module path too long");
	size_t pl = strlen(path);
	if (pl > 3 && strcmp(path + pl - 3, ".ko") == 0)
		return nk_read_file(path, data, len, err);
	return decompress(path, data, len, err);
}

/* Headers are copied out, not cast: a module's offsets need not be aligned. */
static int section(const char *data, size_t len, const Elf64_Ehdr *eh, unsigned i, Elf64_Shdr *sh)
{
	memcpy(sh, data + eh->e_shoff + (size_t)i * sizeof(*sh), sizeof(*sh));
	return sh->sh_offset <= len && sh->sh_size <= len - sh->sh_offset ? 0 : -EINVAL;
}

int nk_kmod_depends(const char *data, size_t len, char *out, size_t size, struct nk_err *err)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return nk_err_msg(err, EINVAL, "not a 64-bit ELF module");
	memcpy(&eh, data, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return nk_err_msg(err, EINVAL, "not a 64-bit ELF module");
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
	    (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > len - eh.e_shoff || eh.e_shstrndx >= eh.e_shnum)
		return nk_err_msg(err, EINVAL, "bad ELF section table in a module");
	Elf64_Shdr strs, sh;
	if (section(data, len, &eh, eh.e_shstrndx, &strs) < 0)
		return nk_err_msg(err, EINVAL, "bad ELF section names in a module");
	out[0] = '\0';
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (section(data, len, &eh, i, &sh) < 0 || sh.sh_name >= strs.sh_size)
			continue;
		const char *secname = data + strs.sh_offset + sh.sh_name;
		size_t room = strs.sh_size - sh.sh_name;
		if (strnlen(secname, room) == room || strcmp(secname, ".modinfo") != 0)
			continue;
		/* NUL-separated key=value strings. */
		const char *p = data + sh.sh_offset, *end = p + sh.sh_size;
		while (p < end) {
			size_t n = strnlen(p, (size_t)(end - p));
			if (n >= 8 && strncmp(p, "depends=", 8) == 0) {
				if (n - 8 >= size)
					return nk_err_msg(err, E2BIG, "a module's depends= list is too long");
				memcpy(out, p + 8, n - 8);
				out[n - 8] = '\0';
				return 0;
			}
			p += n + 1;
		}
		return 0;
	}
	return nk_err_msg(err, EINVAL, "no .modinfo section: not a kernel module");
}

struct resolve {
	const struct nk_kmod_index *idx;
	unsigned char *mark; /* 0 unseen, 1 in progress, 2 placed */
	size_t *order, n;
};

/* Depth first: a module is placed after everything it depends on. */
static int visit(struct resolve *rs, size_t i, int depth, struct nk_err *err)
{
	const struct nk_kmod *m = &rs->idx->mods[i];
	if (rs->mark[i] == 2)
		return 0;
	if (rs->mark[i] == 1 || depth > 64)
		return nk_err_msg(err, ELOOP, "module %s depends on itself", m->name);
	rs->mark[i] = 1;
	nk_autofree char *data = NULL;
	size_t len = 0;
	char deps[2048];
	int r = nk_kmod_read(rs->idx, m, &data, &len, err);
	if (r == 0)
		r = nk_kmod_depends(data, len, deps, sizeof(deps), err);
	if (r < 0)
		return nk_err_prefix(err, "module %s", m->relpath);
	for (char *save, *d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		const struct nk_kmod *dm = nk_kmod_find(rs->idx, d);
		if (!dm) {
			if (nk_kmod_is_builtin(rs->idx, d))
				continue;
			return nk_err_msg(err, ENOENT, "module %s needs %s, which is not in %s", m->name, d, rs->idx->dir);
		}
		if ((r = visit(rs, (size_t)(dm - rs->idx->mods), depth + 1, err)) < 0)
			return r;
	}
	rs->mark[i] = 2;
	rs->order[rs->n++] = i;
	return 0;
}

static int want(struct resolve *rs, const char *name, int optional, struct nk_err *err)
{
	const struct nk_kmod *m = nk_kmod_find(rs->idx, name);
	if (m)
		return visit(rs, (size_t)(m - rs->idx->mods), 0, err);
	if (optional || nk_kmod_is_builtin(rs->idx, name))
		return 0;
	return nk_err_msg(err, ENOENT, "the kernel in %s has no module %s and does not build it in", rs->idx->dir,
			  name);
}

int nk_kmod_resolve(const struct nk_kmod_index *idx, const char *const *wanted, size_t n_wanted,
		    const char *const *optional, size_t n_optional, size_t **order, size_t *n_order,
		    struct nk_err *err)
{
	struct resolve rs = {.idx = idx, .mark = calloc(idx->count + 1, 1),
			     .order = calloc(idx->count + 1, sizeof(size_t))};
	int r = rs.mark && rs.order ? 0 : nk_err_set(err, ENOMEM, "resolving modules");
	for (size_t i = 0; r == 0 && i < n_wanted; i++)
		r = want(&rs, wanted[i], 0, err);
	for (size_t i = 0; r == 0 && i < n_optional; i++)
		r = want(&rs, optional[i], 1, err);
	free(rs.mark);
	if (r < 0) {
		free(rs.order);
		return r;
	}
	*order = rs.order;
	*n_order = rs.n;
	return 0;
}
