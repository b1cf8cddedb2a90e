/* Tap devices: a non-persistent tap lives exactly as long as the fd nk_tap_create returns. */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/util.h"
#include "nl-internal.h"
#include "veth.h"

int nk_tap_create(struct nk_nl *nl, const char *instance, int bridge_ifindex, struct nk_tap *out,
		  struct nk_err *err)
{
	struct nk_tap tap = {.fd = -1};
	char hashed[NK_IFNAMSIZ];
	nk_veth_host_name(instance, hashed); /* nkv<hash>: same hash, tap prefix */
	snprintf(tap.name, sizeof(tap.name), "nkt%s", hashed + 3);

	nk_autoclose int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot open /dev/net/tun (is the tun module loaded?)");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, tap.name, strlen(tap.name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return nk_err_set(err, errno, "cannot create tap %s for %s", tap.name, instance);
	tap.ifindex = (int)if_nametoindex(tap.name);
	if (tap.ifindex <= 0)
		return nk_err_set(err, errno, "cannot find tap %s after creating it", tap.name);
	int r = nk_nl_link_up(nl->sk, tap.ifindex, bridge_ifindex);
	if (r < 0)
		return nk_err_set(err, -r, "cannot attach tap %s to the bridge", tap.name);
	tap.fd = nk_steal_fd(&fd);
	*out = tap;
	return 0;
}
