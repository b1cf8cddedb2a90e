/* IPAM: leases are symlinks NOOK_ROOT/net/NET/leases/<address> -> <instance name>. */
#include "ipam-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "netdir-internal.h"

/*
 * Why symlinks: creating one is a single atomic syscall (no temp file, no rename), the
 * directory listing alone tells which addresses are taken, and readlink() reads the
 * owner without opening a file. Leases are not fsync'ed: they mean nothing after a
 * reboot, when no instance is running any more and reconcile reclaims them.
 */

static int instance_check(const char *instance, struct nk_err *err)
{
	size_t n = instance ? strlen(instance) : 0;
	if (n == 0 || n > NK_LEASE_NAME_MAX)
		return nk_err_msg(err, EINVAL, "invalid instance name for an address lease (%zu characters)", n);
	if (strcmp(instance, ".") == 0 || strcmp(instance, "..") == 0)
		return nk_err_msg(err, EINVAL, "invalid instance name '%s' for an address lease", instance);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)instance[i];
		if (c == '/' || c <= ' ' || c == 0x7f)
			return nk_err_msg(err, EINVAL,
					  "invalid instance name for an address lease: character %#x "
					  "is not allowed",
					  c);
	}
	return 0;
}

int nk_ipam_lock(const char *root, const char *network, struct nk_err *err)
{
	char path[4096];
	int r = nk_netdir_path(root, network, "leases.lock", path, sizeof(path), err);
	if (r < 0)
		return r;
	r = nk_netdir_lock(path, err);
	if (r == -ENOENT)
		return nk_err_msg(err, ENOENT, "network %s does not exist", network);
	return r;
}

/* The lease lock of a network that still exists once we hold it. */
static int lock_existing(const char *root, const char *network, struct nk_err *err)
{
	int fd = nk_ipam_lock(root, network, err);
	if (fd < 0)
		return fd;
	char path[4096];
	int r = nk_netdir_path(root, network, "network.json", path, sizeof(path), err);
	if (r == 0 && access(path, F_OK) < 0)
		r = nk_err_msg(err, ENOENT, "network %s does not exist (it was removed)", network);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int cmp_lease(const void *a, const void *b)
{
	uint32_t x = ((const struct nk_lease *)a)->addr, y = ((const struct nk_lease *)b)->addr;
	return x < y ? -1 : x > y;
}

int nk_ipam_list_locked(const char *root, const char *network, struct nk_lease **out,
			size_t *count, struct nk_err *err)
{
	*out = NULL;
	*count = 0;
	char path[4096];
	int r = nk_netdir_path(root, network, "leases", path, sizeof(path), err);
	if (r < 0)
		return r;
	nk_autoclose int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : nk_err_set(err, errno, "cannot open %s", path);
	DIR *d = fdopendir(dup(dfd));
	if (!d)
		return nk_err_set(err, errno, "cannot read %s", path);
	struct nk_lease *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	r = 0;
	while ((de = readdir(d))) {
		uint32_t addr;
		if (de->d_name[0] == '.' || nk_ip4_parse(de->d_name, &addr, NULL) < 0)
			continue; /* not a lease: a dot file or something a person left */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct nk_lease *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = nk_err_set(err, ENOMEM, "listing leases of %s", network);
				break;
			}
			v = nv;
		}
		ssize_t len = readlinkat(dfd, de->d_name, v[n].instance, sizeof(v[n].instance) - 1);
		if (len < 0 && errno == ENOENT)
			continue; /* released while we listed */
		if (len < 0) {
			r = nk_err_set(err, errno, "cannot read lease %s/%s", path, de->d_name);
			break;
		}
		v[n].instance[len] = '\0';
		v[n].addr = addr;
		n++;
	}
	closedir(d);
	if (r < 0) {
		free(v);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_lease);
	*out = v;
	*count = n;
	return 0;
}

int nk_ipam_list(const char *root, const char *network, struct nk_lease **out, size_t *count,
		 struct nk_err *err)
{
	/* Lease entries appear and vanish atomically, so a reader needs no lock. */
	return nk_ipam_list_locked(root, network, out, count, err);
}

int nk_ipam_lookup(const char *root, const char *network, const char *instance, uint32_t *addr,
		   struct nk_err *err)
{
	nk_autofree struct nk_lease *v = NULL;
	size_t n;
	int r = nk_ipam_list_locked(root, network, &v, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].instance, instance) == 0) {
			*addr = v[i].addr;
			return 0;
		}
	}
	return nk_err_msg(err, ENOENT, "instance %s holds no address on network %s", instance, network);
}

/* Lowest address of the subnet that is neither network, gateway, broadcast nor leased. */
static int lowest_free(const struct nk_network *net, const struct nk_lease *v, size_t n, uint32_t *out)
{
	uint32_t first = nk_cidr_network(&net->subnet) + 1;
	uint32_t last = nk_cidr_broadcast(&net->subnet) - 1;
	size_t i = 0;
	for (uint64_t a = first; a <= last; a++) {
		while (i < n && v[i].addr < a)
			i++;
		if (a == net->gateway || (i < n && v[i].addr == a))
			continue;
		*out = (uint32_t)a;
		return 0;
	}
	return -ENOSPC;
}

int nk_ipam_allocate(const char *root, const struct nk_network *net, const char *instance,
		     uint32_t *addr, struct nk_err *err)
{
	int r = instance_check(instance, err);
	if (r < 0)
		return r;
	nk_autoclose int lock = lock_existing(root, net->name, err);
	if (lock < 0)
		return lock;
	nk_autofree struct nk_lease *v = NULL;
	size_t n;
	if ((r = nk_ipam_list_locked(root, net->name, &v, &n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].instance, instance) == 0) {
			*addr = v[i].addr;
			return 0;
		}
	}
	uint32_t a;
	if (lowest_free(net, v, n, &a) < 0) {
		char s[NK_CIDR_STRLEN];
		if (nk_cidr_format(&net->subnet, s, sizeof(s)) < 0)
			s[0] = '\0';
		return nk_err_msg(err, ENOSPC,
				  "network %s (%s) has no free address left (%zu leases); remove "
				  "stopped instances or create a network with a larger subnet",
				  net->name, s, n);
	}
	char dir[4096], ip[NK_IP4_STRLEN];
	if ((r = nk_netdir_path(root, net->name, "leases", dir, sizeof(dir), err)) < 0)
		return r;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return nk_err_set(err, errno, "cannot create %s", dir);
	nk_autoclose int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return nk_err_set(err, errno, "cannot open %s", dir);
	if ((r = nk_ip4_format(a, ip, sizeof(ip))) < 0)
		return nk_err_set(err, -r, "formatting an address");
	if (symlinkat(instance, dfd, ip) < 0)
		return nk_err_set(err, errno, "cannot record lease %s/%s for %s", dir, ip, instance);
	*addr = a;
	return 0;
}

/* Unlink the leases for which drop() is true; the caller holds the lease lock. */
static int drop_leases(const char *root, const char *network, bool (*drop)(const struct nk_lease *, void *),
		       void *ctx, size_t *dropped, struct nk_err *err)
{
	nk_autofree struct nk_lease *v = NULL;
	size_t n;
	int r = nk_ipam_list_locked(root, network, &v, &n, err);
	if (r < 0)
		return r;
	char dir[4096];
	if ((r = nk_netdir_path(root, network, "leases", dir, sizeof(dir), err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!drop(&v[i], ctx))
			continue;
		char path[4096 + NK_IP4_STRLEN + 1], ip[NK_IP4_STRLEN];
		if (nk_ip4_format(v[i].addr, ip, sizeof(ip)) < 0 ||
		    nk_fmt(path, sizeof(path), "%s/%s", dir, ip) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "lease path too long under %s", dir);
		if (unlink(path) < 0 && errno != ENOENT)
			return nk_err_set(err, errno, "cannot release lease %s", path);
		if (dropped)
			(*dropped)++;
	}
	return 0;
}

static bool is_instance(const struct nk_lease *l, void *ctx)
{
	return strcmp(l->instance, ctx) == 0;
}

int nk_ipam_release(const char *root, const char *network, const char *instance, struct nk_err *err)
{
	int r = instance_check(instance, err);
	if (r < 0)
		return r;
	nk_autoclose int lock = lock_existing(root, network, err);
	if (lock == -ENOENT) {
		nk_err_clear(err); /* no network, no lease */
		return 0;
	}
	if (lock < 0)
		return lock;
	return drop_leases(root, network, is_instance, (void *)instance, NULL, err);
}

struct reclaim_ctx {
	nk_exists_fn exists;
	void *ctx;
};

static bool is_stale(const struct nk_lease *l, void *ctx)
{
	struct reclaim_ctx *rc = ctx;
	return !rc->exists(l->instance, rc->ctx);
}

int nk_ipam_reclaim(const char *root, const char *network, nk_exists_fn exists, void *ctx,
		    size_t *released, struct nk_err *err)
{
	*released = 0;
	nk_autoclose int lock = lock_existing(root, network, err);
	if (lock < 0)
		return lock;
	struct reclaim_ctx rc = {exists, ctx};
	return drop_leases(root, network, is_stale, &rc, released, err);
}
