/* Networks: validated, persisted as network.json, created and removed under a lock. */
#include "network.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "firewall.h"
#include "hostnet.h"
#include "ipam-internal.h"
#include "netdir-internal.h"

int nk_network_name_check(const char *name, struct nk_err *err)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0)
		return nk_err_msg(err, EINVAL, "network name is empty: use letters, digits, '_', '.', '-'");
	if (n > NK_NETWORK_NAME_MAX)
		return nk_err_msg(err, EINVAL,
				  "network name '%.64s' is %zu characters long; the limit is %d (its "
				  "bridge nk-NAME must fit a 15-character interface name)",
				  name, n, NK_NETWORK_NAME_MAX);
	if (!isalnum((unsigned char)name[0]))
		return nk_err_msg(err, EINVAL, "invalid network name '%s': it must start with a letter or a digit",
				  name);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return nk_err_msg(err, EINVAL,
					  "invalid network name '%s': character '%c' is not allowed (use "
					  "letters, digits, '_', '.', '-')",
					  name, isprint(c) ? c : '?');
	}
	return 0;
}

bool nk_net_root_hash(const char *root, uint32_t *hash)
{
	if (!strcmp(root, "/var/lib/nook"))
		return false;
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)root; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	*hash = (uint32_t)(h >> 32);
	return true;
}

void nk_network_default_bridge(const char *root, char out[NK_IFNAMSIZ])
{
	uint32_t hash;
	if (nk_net_root_hash(root, &hash))
		snprintf(out, NK_IFNAMSIZ, "nook%08x", hash);
	else
		snprintf(out, NK_IFNAMSIZ, "%s", NK_NETWORK_DEFAULT_BRIDGE);
}

static int bridge_name(const char *root, const char *name, char *out, size_t size)
{
	if (strcmp(name, NK_NETWORK_DEFAULT) == 0) {
		char br[NK_IFNAMSIZ];
		nk_network_default_bridge(root, br);
		return nk_fmt(out, size, "%s", br);
	}
	return nk_fmt(out, size, "nk-%s", name);
}

char *nk_network_to_json(const struct nk_network *net)
{
	char subnet[NK_CIDR_STRLEN], gw[NK_IP4_STRLEN];
	if (nk_cidr_format(&net->subnet, subnet, sizeof(subnet)) < 0 ||
	    nk_ip4_format(net->gateway, gw, sizeof(gw)) < 0)
		return NULL;
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(net->name));
	json_object_object_add(o, "subnet", json_object_new_string(subnet));
	json_object_object_add(o, "gateway", json_object_new_string(gw));
	json_object_object_add(o, "bridge", json_object_new_string(net->bridge));
	json_object_object_add(o, "masquerade", json_object_new_boolean(net->masquerade));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	char *out = s ? strdup(s) : NULL;
	json_object_put(o);
	return out;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int from_json(json_object *o, struct nk_network *net, struct nk_err *err)
{
	memset(net, 0, sizeof(*net));
	const char *name = get_str(o, "name"), *subnet = get_str(o, "subnet");
	const char *gw = get_str(o, "gateway"), *bridge = get_str(o, "bridge");
	json_object *masq;
	if (!name || !subnet || !gw || !bridge)
		return nk_err_msg(err, EINVAL, "a string field (name, subnet, gateway, bridge) is missing");
	int r = nk_network_name_check(name, err);
	if (r < 0)
		return r;
	snprintf(net->name, sizeof(net->name), "%s", name);
	if ((r = nk_cidr_parse_network(subnet, &net->subnet, err)) < 0)
		return r;
	if (net->subnet.prefix < NK_NETWORK_PREFIX_MIN || net->subnet.prefix > NK_NETWORK_PREFIX_MAX)
		return nk_err_msg(err, EINVAL, "subnet %s: the prefix must be /%d to /%d", subnet,
				  NK_NETWORK_PREFIX_MIN, NK_NETWORK_PREFIX_MAX);
	if ((r = nk_ip4_parse(gw, &net->gateway, err)) < 0)
		return r;
	if (!nk_cidr_contains(&net->subnet, net->gateway) || net->gateway == nk_cidr_network(&net->subnet) ||
	    net->gateway == nk_cidr_broadcast(&net->subnet))
		return nk_err_msg(err, EINVAL, "gateway %s is not a host address of %s", gw, subnet);
	size_t blen = strlen(bridge);
	if (blen == 0 || blen >= sizeof(net->bridge) || strchr(bridge, '/') || strchr(bridge, ':'))
		return nk_err_msg(err, EINVAL, "bridge '%.32s' is not a valid interface name", bridge);
	memcpy(net->bridge, bridge, blen + 1);
	if (json_object_object_get_ex(o, "masquerade", &masq)) {
		if (!json_object_is_type(masq, json_type_boolean))
			return nk_err_msg(err, EINVAL, "masquerade must be true or false");
		net->masquerade = json_object_get_boolean(masq);
	}
	return 0;
}

int nk_network_from_json(const char *json, struct nk_network *out, struct nk_err *err)
{
	json_object *o = json_tokener_parse(json);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return nk_err_msg(err, EINVAL, "network.json is not a JSON object");
	}
	int r = from_json(o, out, err);
	json_object_put(o);
	return r;
}

int nk_network_load(const char *root, const char *name, struct nk_network *out, struct nk_err *err)
{
	int r = nk_network_name_check(name, err);
	if (r < 0)
		return r;
	char path[4096];
	if ((r = nk_netdir_path(root, name, "network.json", path, sizeof(path), err)) < 0)
		return r;
	nk_autofree char *json = NULL;
	r = nk_read_file(path, &json, NULL, err);
	if (r == -ENOENT)
		return nk_err_msg(err, ENOENT, "network %s does not exist; create it first (see `nook network create`)",
				  name);
	if (r < 0)
		return r;
	if ((r = nk_network_from_json(json, out, err)) < 0)
		return nk_err_prefix(err, "%s is damaged (fix or remove it)", path);
	if (strcmp(out->name, name) != 0)
		return nk_err_msg(err, EINVAL, "%s names network '%s', not '%s' (fix or remove it)", path,
				  out->name, name);
	return 0;
}

static int cmp_network(const void *a, const void *b)
{
	return strcmp(((const struct nk_network *)a)->name, ((const struct nk_network *)b)->name);
}

int nk_network_list(const char *root, struct nk_network **out, size_t *count, struct nk_err *err)
{
	*out = NULL;
	*count = 0;
	char dir[4096];
	int r = nk_netdir_path(root, NULL, NULL, dir, sizeof(dir), err);
	if (r < 0)
		return r;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : nk_err_set(err, errno, "cannot read %s", dir);
	struct nk_network *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || nk_network_name_check(de->d_name, NULL) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct nk_network *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = nk_err_set(err, ENOMEM, "listing networks");
				break;
			}
			v = nv;
		}
		r = nk_network_load(root, de->d_name, &v[n], err);
		if (r == -ENOENT) {
			r = 0; /* a directory being created or removed right now */
			continue;
		}
		if (r < 0)
			break;
		n++;
	}
	closedir(d);
	if (r < 0) {
		free(v);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_network);
	*out = v;
	*count = n;
	return 0;
}

/* Creating and removing networks take NOOK_ROOT/net/.lock, so overlap checks see a
 * stable set of networks. */
static int global_lock(const char *root, struct nk_err *err)
{
	char dir[4096], path[4096];
	int r = nk_netdir_path(root, NULL, NULL, dir, sizeof(dir), err);
	if (r < 0)
		return r;
	if (nk_fmt(path, sizeof(path), "%s/.lock", dir) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT path too long: %s", root);
	if ((r = nk_mkdir_p(dir, 0755, err)) < 0)
		return r;
	return nk_netdir_lock(path, err);
}

static bool overlaps_network(const struct nk_network *all, size_t n, const struct nk_cidr *subnet,
			     const struct nk_network **which)
{
	for (size_t i = 0; i < n; i++) {
		if (nk_cidr_overlap(&all[i].subnet, subnet)) {
			*which = &all[i];
			return true;
		}
	}
	return false;
}

/* A private root's default network: the first /24 of the pool, from a place its hash
 * picks, that nothing of this root's nor of the host's uses. */
static int pick_default_subnet(const char *root, const struct nk_network *all, size_t n,
			       const struct nk_host_nets *host, struct nk_network *net, struct nk_err *err)
{
	struct nk_cidr pool;
	uint32_t hash = 0;
	const struct nk_network *which;
	char what[96];
	if (nk_cidr_parse_network(NK_NETWORK_SCOPED_POOL, &pool, err) < 0)
		return -EINVAL;
	(void)nk_net_root_hash(root, &hash);
	uint32_t blocks = 1u << (24 - pool.prefix);
	for (uint32_t i = 0; i < blocks; i++) {
		struct nk_cidr c = {.addr = pool.addr + (((hash + i) % blocks) << 8), .prefix = 24};
		if (overlaps_network(all, n, &c, &which) ||
		    nk_host_nets_conflict(host, &c, net->bridge, what, sizeof(what)))
			continue;
		net->subnet = c;
		return 0;
	}
	return nk_err_msg(err, EEXIST,
			  "no /24 of %s is free for the default network; set NOOK_DEFAULT_SUBNET to a free block",
			  NK_NETWORK_SCOPED_POOL);
}

static int write_network(const char *root, const struct nk_network *net, struct nk_err *err)
{
	char dir[4096], path[4096];
	int r;
	if ((r = nk_netdir_path(root, net->name, NULL, dir, sizeof(dir), err)) < 0 ||
	    (r = nk_netdir_path(root, net->name, "network.json", path, sizeof(path), err)) < 0)
		return r;
	if ((r = nk_mkdir_p(dir, 0755, err)) < 0)
		return r;
	nk_autofree char *json = nk_network_to_json(net);
	if (!json)
		return nk_err_set(err, ENOMEM, "serialising network %s", net->name);
	return nk_write_file_atomic(path, json, strlen(json), 0644, err);
}

static void remove_network_dir(const char *root, const char *name)
{
	char dir[4096];
	struct nk_err ignored;
	if (nk_netdir_path(root, name, NULL, dir, sizeof(dir), &ignored) == 0)
		(void)!nk_rm_rf(dir, &ignored);
}

/* Under the root's lock: checks against the networks there are and the host, then the
 * state, then the firewall (with the new network in it), undone if the firewall refuses. */
static int create_locked(const char *root, struct nk_network *net, bool pick, struct nk_err *err)
{
	nk_autofree struct nk_network *all = NULL;
	size_t n;
	int r = nk_network_list(root, &all, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, net->name) == 0)
			return nk_err_msg(err, EEXIST, "network %s already exists", net->name);
	struct nk_host_nets host;
	if ((r = nk_host_nets_read(&host, err)) < 0)
		return r;
	char want[NK_CIDR_STRLEN], have[NK_CIDR_STRLEN], what[96];
	const struct nk_network *which;
	if (pick)
		r = pick_default_subnet(root, all, n, &host, net, err);
	if (r == 0 && nk_cidr_format(&net->subnet, want, sizeof(want)) < 0)
		want[0] = '\0';
	if (r == 0 && overlaps_network(all, n, &net->subnet, &which)) {
		if (nk_cidr_format(&which->subnet, have, sizeof(have)) < 0)
			have[0] = '\0';
		r = nk_err_msg(err, EEXIST, "subnet %s overlaps network %s (%s); pick a subnet outside it", want,
			       which->name, have);
	} else if (r == 0 && nk_host_nets_conflict(&host, &net->subnet, net->bridge, what, sizeof(what))) {
		r = nk_err_msg(err, EEXIST,
			       "subnet %s overlaps the host's %s; pick a subnet the host does not use%s", want, what,
			       strcmp(net->name, NK_NETWORK_DEFAULT) == 0 ? " (NOOK_DEFAULT_SUBNET)" : "");
	}
	nk_host_nets_free(&host);
	if (r < 0)
		return r;
	net->gateway = nk_cidr_network(&net->subnet) + 1;
	if ((r = write_network(root, net, err)) < 0)
		return r;
	struct nk_network *with = realloc(all, (n + 1) * sizeof(*all));
	if (!with) {
		remove_network_dir(root, net->name);
		return nk_err_set(err, ENOMEM, "creating network %s", net->name);
	}
	all = with;
	all[n] = *net;
	if ((r = nk_firewall_sync(root, all, n + 1, err)) < 0)
		remove_network_dir(root, net->name);
	return r;
}

int nk_network_create(const char *root, const char *name, const char *subnet, bool masquerade,
		      struct nk_network *out, struct nk_err *err)
{
	struct nk_network net = {.masquerade = masquerade};
	int r = nk_network_name_check(name, err);
	if (r < 0)
		return r;
	bool is_default = strcmp(name, NK_NETWORK_DEFAULT) == 0;
	uint32_t hash;
	if (!subnet && is_default) {
		subnet = getenv("NOOK_DEFAULT_SUBNET");
		if (!subnet || !*subnet)
			subnet = nk_net_root_hash(root, &hash) ? NULL : NK_NETWORK_DEFAULT_SUBNET;
	} else if (!subnet) {
		return nk_err_msg(err, EINVAL, "network %s needs a subnet, like 10.89.0.0/24", name);
	}
	if (subnet) {
		if ((r = nk_cidr_parse_network(subnet, &net.subnet, err)) < 0)
			return r;
		if (net.subnet.prefix < NK_NETWORK_PREFIX_MIN || net.subnet.prefix > NK_NETWORK_PREFIX_MAX)
			return nk_err_msg(err, EINVAL, "subnet %s: the prefix must be /%d to /%d", subnet,
					  NK_NETWORK_PREFIX_MIN, NK_NETWORK_PREFIX_MAX);
	}
	snprintf(net.name, sizeof(net.name), "%s", name);
	if (bridge_name(root, name, net.bridge, sizeof(net.bridge)) < 0)
		return nk_err_msg(err, EINVAL, "network name %s is too long for a bridge name", name);

	nk_autoclose int lock = global_lock(root, err);
	if (lock < 0)
		return lock;
	if ((r = create_locked(root, &net, subnet == NULL, err)) < 0)
		return nk_err_prefix(err, "creating network %s", name);
	if (out)
		*out = net;
	return 0;
}

int nk_network_open(const char *root, const char *name, struct nk_network *out, struct nk_err *err)
{
	if (!name)
		name = NK_NETWORK_DEFAULT;
	int r = nk_network_load(root, name, out, err);
	if (r != -ENOENT || strcmp(name, NK_NETWORK_DEFAULT) != 0)
		return r;
	r = nk_network_create(root, name, NULL, false, out, err);
	if (r != -EEXIST)
		return r;
	/* Either another start created it first, or the default subnet overlaps a network:
	 * then the overlap is the message worth showing. */
	struct nk_err create_err = err ? *err : (struct nk_err){0};
	r = nk_network_load(root, name, out, err);
	if (r == -ENOENT && err)
		*err = create_err;
	return r == -ENOENT ? -EEXIST : r;
}

/* The firewall as the root's networks say, leaving out `skip` (being removed) if given. */
static int sync_without(const char *root, const char *skip, struct nk_err *err)
{
	nk_autofree struct nk_network *all = NULL;
	size_t n, kept = 0;
	int r = nk_network_list(root, &all, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!skip || strcmp(all[i].name, skip) != 0)
			all[kept++] = all[i];
	return nk_firewall_sync(root, all, kept, err);
}

int nk_network_firewall_rebuild(const char *root, struct nk_err *err)
{
	nk_autoclose int lock = global_lock(root, err);
	if (lock < 0)
		return lock;
	return sync_without(root, NULL, err);
}

int nk_network_firewall_ensure(const char *root, const struct nk_network *net, struct nk_err *err)
{
	int r = nk_firewall_programmed(root, net, err);
	if (r < 0)
		return nk_err_prefix(err, "checking the firewall rules of network %s", net->name);
	return r == 1 ? 0 : nk_network_firewall_rebuild(root, err);
}

int nk_network_remove(const char *root, const char *name, struct nk_err *err)
{
	int r = nk_network_name_check(name, err);
	if (r < 0)
		return r;
	char dir[4096], json[4096];
	if ((r = nk_netdir_path(root, name, NULL, dir, sizeof(dir), err)) < 0 ||
	    (r = nk_netdir_path(root, name, "network.json", json, sizeof(json), err)) < 0)
		return r;
	nk_autoclose int glock = global_lock(root, err);
	if (glock < 0)
		return glock;
	if (access(json, F_OK) < 0)
		return nk_err_msg(err, ENOENT, "network %s does not exist", name);
	/* Holding the lease lock while the directory goes makes a racing allocation fail
	 * with "network does not exist" instead of leasing on a removed network. */
	nk_autoclose int llock = nk_ipam_lock(root, name, err);
	if (llock < 0)
		return llock;
	nk_autofree struct nk_lease *leases = NULL;
	size_t n;
	if ((r = nk_ipam_list_locked(root, name, &leases, &n, err)) < 0)
		return r;
	if (n > 0)
		return nk_err_msg(err, EBUSY,
				  "network %s is in use: %zu address%s leased (first: %s); remove "
				  "those instances first",
				  name, n, n == 1 ? "" : "es", leases[0].instance);
	/* The rules go first: if the kernel refuses, the network is still whole. */
	if ((r = sync_without(root, name, err)) < 0)
		return r;
	if (unlink(json) < 0 && errno != ENOENT)
		return nk_err_set(err, errno, "cannot remove %s", json);
	return nk_rm_rf(dir, err);
}
