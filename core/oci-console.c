/* Hand a PTY master to the runtime's caller over a unix socket (SCM_RIGHTS), as conmon and
 * containerd expect from --console-socket. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "oci.h"
#include "util.h"

int nk_oci_send_console(const char *socket_path, int fd, struct nk_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return nk_err_msg(err, ENAMETOOLONG, "console socket path too long: %s", socket_path);
	memcpy(addr.sun_path, socket_path, strlen(socket_path));
	nk_autoclose int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return nk_err_set(err, errno, "cannot connect to the console socket %s", socket_path);
	char name[] = "/dev/console";
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
		return nk_err_set(err, errno, "cannot send the terminal to %s", socket_path);
	return 0;
}
