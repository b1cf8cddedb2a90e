/* An instance's network, as its monitor sees it: attach to a nook network, the /etc files
 * the container sees (hosts, hostname, resolv.conf), detach. */
#ifndef NOOK_INSTANCE_NET_H
#define NOOK_INSTANCE_NET_H

#include <sys/types.h>

#include "err.h"
#include "net/net.h"
#include "paths.h"
#include "spec.h"

struct nk_instance_net {
	struct nk_nl *nl;            /* opened on attach, kept for detach */
	struct nk_net_attachment at;
	int attached;
};

/* True for a spec joined to a bridge network (not "none", not "host"). */
int nk_instance_net_bridged(const struct nk_spec *spec);

/* Before clone: check the network can be used (the default one is made on first use). */
int nk_instance_net_check(const struct nk_paths *paths, const char *network, struct nk_err *err) NK_MUST_CHECK;

/* In the monitor, between clone and releasing the child: lease an address, wire eth0 into
 * the child's namespace, then write the instance's /etc files and refresh its network's
 * hosts files so every member can reach the newcomer by name. */
int nk_instance_net_attach(struct nk_instance_net *in, const struct nk_paths *paths,
			   const struct nk_spec *spec, pid_t child, struct nk_err *err) NK_MUST_CHECK;

/* Write hosts, hostname and resolv.conf under the instance directory (ip may be NULL). */
int nk_instance_net_files(const struct nk_paths *paths, const struct nk_spec *spec, const char *ip,
			  struct nk_err *err) NK_MUST_CHECK;

/* Every member of the network learns the current member list (its hosts file); a VM
 * that joined or left calls it too. */
void nk_instance_net_refresh_hosts(const struct nk_paths *paths, const char *network);

/* After init is reaped (or when it never started): release the lease, drop the name from
 * the others' hosts files. delete_link for error paths where the namespace may live on. */
void nk_instance_net_detach(struct nk_instance_net *in, const struct nk_paths *paths, const char *network,
			    const char *name, int delete_link);

#endif
