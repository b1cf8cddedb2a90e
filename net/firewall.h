/* nook's firewall: one nf_tables table per NOOK_ROOT that keeps networks apart and, for
 * networks that ask for it, masquerades their IPv4 traffic leaving the host. */
#ifndef NOOK_NET_FIREWALL_H
#define NOOK_NET_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>

#include "network.h"

/*
 * The table is rebuilt whole, in one transaction, from the networks a root has: every
 * change is atomic, a rebuild is idempotent, and whatever a crash left behind is replaced
 * by the next one. With no network left, the table goes. For bridge B, subnet S of network N:
 *
 *   table inet nook                       (nook-<hash of NOOK_ROOT> for other roots)
 *     chain forward    hook forward, priority filter, policy accept
 *       iifname B jump net-N ; oifname B jump net-N
 *     chain net-N
 *       iifname B oifname B accept                       within the bridge (br_netfilter)
 *       iifname B oifname { "nk-*", "nook*" } drop       to another nook network
 *       iifname { "nk-*", "nook*" } oifname B drop       from another nook network
 *       masquerade only: iifname B ip saddr S accept ;
 *                        oifname B ip daddr S ct state established,related accept
 *     chain postrouting  hook postrouting, priority srcnat (only with a masquerading network)
 *       ip saddr S oifname != B masquerade
 *
 * Isolation thus holds whatever net.ipv4.ip_forward says; nook never changes that sysctl.
 */

/* "nook", or "nook-<8 hex digits>" for a NOOK_ROOT other than /var/lib/nook. */
void nk_firewall_table_name(const char *root, char *out, size_t size);

/* Make the kernel's table match nets (all of the root's networks; none removes the table).
 * The caller holds the root's network lock so the list cannot change meanwhile. */
int nk_firewall_sync(const char *root, const struct nk_network *nets, size_t count,
		     struct nk_err *err) NK_MUST_CHECK;

/* 1 when net's rules are in the kernel, 0 when they are not (a reboot, a flush). One
 * netlink round trip: cheap enough for every instance start. */
int nk_firewall_programmed(const char *root, const struct nk_network *net, struct nk_err *err) NK_MUST_CHECK;

/* What the kernel holds for net, read back rule by rule (for inspect). */
struct nk_firewall_status {
	bool isolated;   /* its drop rules toward and from other nook networks */
	bool masquerade; /* its masquerade rule */
};
int nk_firewall_status(const char *root, const struct nk_network *net, struct nk_firewall_status *out,
		       struct nk_err *err) NK_MUST_CHECK;

/* net.ipv4.ip_forward of the caller's network namespace: 1, 0, or -errno. */
int nk_host_ip_forward(void);

#endif
