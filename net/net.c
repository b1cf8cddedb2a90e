/* Attach, detach and reconcile: the network steps of an instance's life, in order. */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void nk_net_link_key(const char *root, const char *instance, char *out, size_t size)
{
	uint32_t hash;
	char scope[16] = "";
	if (nk_net_root_hash(root, &hash))
		snprintf(scope, sizeof(scope), "@%08x", hash);
	/* Instance names are validated short; a cut label would only fail to match. */
	if (nk_fmt(out, size, "%s%s", instance, scope) < 0)
		out[size - 1] = '\0';
}

int nk_net_attach(struct nk_nl *nl, const char *root, const char *network, const char *instance,
		  int netns_fd, struct nk_net_attachment *out, struct nk_err *err)
{
	char key[160];
	nk_net_link_key(root, instance, key, sizeof(key));
	struct nk_network net;
	struct nk_veth veth;
	struct nk_err ignored;
	uint32_t addr;
	int bridge, r;
	if ((r = nk_network_open(root, network, &net, err)) < 0)
		return r;
	/* Never a member before its network is isolated (the rules may be gone since a reboot). */
	if ((r = nk_network_firewall_ensure(root, &net, err)) < 0)
		return nk_err_prefix(err, "connecting %s to network %s", instance, net.name);
	if ((r = nk_ipam_allocate(root, &net, instance, &addr, err)) < 0)
		return r;
	if ((r = nk_bridge_ensure(nl, &net, &bridge, err)) < 0)
		goto undo_lease;
	if ((r = nk_veth_create(nl, key, bridge, netns_fd, addr, &veth, err)) < 0)
		goto undo_lease;
	if ((r = nk_veth_configure_peer(netns_fd, veth.peer, addr, net.subnet.prefix, net.gateway, err)) < 0)
		goto undo_veth;
	if (out) {
		*out = (struct nk_net_attachment){.host_ifindex = veth.host_ifindex, .addr = addr,
						  .gateway = net.gateway, .prefix = net.subnet.prefix};
		snprintf(out->network, sizeof(out->network), "%s", net.name);
		snprintf(out->bridge, sizeof(out->bridge), "%s", net.bridge);
		snprintf(out->host_if, sizeof(out->host_if), "%s", veth.host);
		snprintf(out->peer_if, sizeof(out->peer_if), "%s", veth.peer);
	}
	return 0;

undo_veth:
	(void)!nk_veth_delete(nl, key, &ignored);
undo_lease:
	(void)!nk_ipam_release(root, net.name, instance, &ignored);
	return nk_err_prefix(err, "connecting %s to network %s", instance, net.name);
}

int nk_net_detach(struct nk_nl *nl, const char *root, const char *network, const char *instance,
		  int delete_link, struct nk_err *err)
{
	int r = 0;
	char key[160];
	nk_net_link_key(root, instance, key, sizeof(key));
	if (delete_link && (r = nk_veth_delete(nl, key, err)) < 0)
		return r;
	return nk_ipam_release(root, network ? network : NK_NETWORK_DEFAULT, instance, err);
}

/* Links are labelled with nk_net_link_key: only this root's are judged (by instance name);
 * another root's are never touched. */
struct scoped {
	const char *root;
	nk_exists_fn exists;
	void *ctx;
};

static bool scoped_exists(const char *alias, void *opaque)
{
	const struct scoped *sc = opaque;
	char name[160], key[160];
	snprintf(name, sizeof(name), "%s", alias);
	char *at = strchr(name, '@');
	if (at)
		*at = '\0';
	nk_net_link_key(sc->root, name, key, sizeof(key));
	if (strcmp(key, alias) != 0)
		return true; /* another root's link */
	return sc->exists(name, sc->ctx);
}

int nk_net_reconcile(struct nk_nl *nl, const char *root, nk_exists_fn exists, void *ctx,
		     size_t *leases_released, size_t *links_deleted, struct nk_err *err)
{
	struct scoped sc = {.root = root, .exists = exists, .ctx = ctx};
	size_t leases = 0, links = 0;
	nk_autofree struct nk_network *nets = NULL;
	nk_autofree struct nk_veth_stale *stale = NULL;
	size_t n, m;
	int r = nk_network_list(root, &nets, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		size_t released;
		if ((r = nk_ipam_reclaim(root, nets[i].name, exists, ctx, &released, err)) < 0)
			return r;
		leases += released;
	}
	if ((r = nk_veth_find_stale(nl, scoped_exists, &sc, &stale, &m, err)) < 0)
		return r;
	for (size_t i = 0; i < m; i++) {
		if (!stale[i].instance[0])
			continue;
		if ((r = nk_nl_link_delete(nl, stale[i].ifname, err)) < 0)
			return r;
		links++;
	}
	/* Whatever a crash left in the firewall is replaced by what the networks say. */
	if ((r = nk_network_firewall_rebuild(root, err)) < 0)
		return r;
	if (leases_released)
		*leases_released = leases;
	if (links_deleted)
		*links_deleted = links;
	return 0;
}
