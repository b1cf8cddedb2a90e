/* A netlink route socket handle the caller keeps, and network namespace helpers. */
#ifndef NOOK_NET_NL_H
#define NOOK_NET_NL_H

#include <sys/types.h>

#include "core/err.h"

/* Interface names are at most 15 characters plus NUL (the kernel's IFNAMSIZ). */
#define NK_IFNAMSIZ 16

/* Opaque: a libnl NETLINK_ROUTE socket bound in the network namespace of the thread that
 * opened it. Keep one for a monitor's life or a dashboard's; not shared between threads. */
struct nk_nl;

int nk_nl_open(struct nk_nl **out, struct nk_err *err) NK_MUST_CHECK;
void nk_nl_close(struct nk_nl *nl);

/* An O_CLOEXEC fd of pid's network namespace (/proc/PID/ns/net), or -errno. */
int nk_netns_open_pid(pid_t pid, struct nk_err *err) NK_MUST_CHECK;

/* Ifindex of a link by name in nl's namespace; -ENODEV when there is none. */
int nk_nl_ifindex(struct nk_nl *nl, const char *name, struct nk_err *err) NK_MUST_CHECK;

/* Delete a link by name; a link that does not exist is not an error. */
int nk_nl_link_delete(struct nk_nl *nl, const char *name, struct nk_err *err) NK_MUST_CHECK;

#endif
