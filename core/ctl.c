/* The monitor's control socket protocol (docs/control-protocol.md): framed, versioned. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

int nk_ctl_send(int fd, int type, const void *payload, size_t len)
{
	if (len > NK_CTL_MAX_PAYLOAD)
		return -EMSGSIZE;
	struct nk_ctl_hdr h = {.version = NK_CTL_VERSION, .type = (uint8_t)type, .len = (uint32_t)len};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
	size_t total = sizeof(h) + len, sent = 0;
	while (sent < total) {
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		sent += (size_t)w;
		/* Advance the iovecs past what went out. */
		for (int i = 0; i < 2 && w > 0; i++) {
			size_t take = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
			iov[i].iov_base = (char *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			w -= (ssize_t)take;
		}
	}
	return 0;
}

ssize_t nk_ctl_recv(int fd, struct nk_ctl_hdr *hdr, void *payload, size_t cap)
{
	ssize_t n = nk_read_full(fd, hdr, sizeof(*hdr));
	if (n == 0)
		return -EPIPE; /* 0 is a valid length: an empty OK, say */
	if (n < 0)
		return n;
	if ((size_t)n < sizeof(*hdr) || hdr->version != NK_CTL_VERSION || hdr->len > NK_CTL_MAX_PAYLOAD ||
	    hdr->len > cap || hdr->type == 0 || hdr->type >= NK_CTL_TYPE_MAX)
		return -EPROTO;
	n = nk_read_full(fd, payload, hdr->len);
	if (n < 0)
		return n;
	if ((size_t)n < hdr->len)
		return -EPROTO;
	return (ssize_t)hdr->len;
}

ssize_t nk_ctl_parse(const void *buf, size_t len, struct nk_ctl_hdr *hdr, const void **payload)
{
	if (len < sizeof(*hdr))
		return 0;
	memcpy(hdr, buf, sizeof(*hdr));
	if (hdr->version != NK_CTL_VERSION || hdr->len > NK_CTL_MAX_PAYLOAD || hdr->type == 0 ||
	    hdr->type >= NK_CTL_TYPE_MAX)
		return -EPROTO;
	if (len < sizeof(*hdr) + hdr->len)
		return 0;
	*payload = (const char *)buf + sizeof(*hdr);
	return (ssize_t)(sizeof(*hdr) + hdr->len);
}

/* sun_path holds 108 bytes; reach a deep directory through /proc/self/fd instead. */
static int socket_address(const struct nk_paths *paths, const char *name, struct sockaddr_un *sa,
			  int *dirfd, struct nk_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = open(paths->run, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return nk_err_set(err, errno, "cannot open %s", paths->run);
	if (nk_fmt(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s.sock", *dirfd, name) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "socket name too long for %s", name);
	return 0;
}

int nk_ctl_connect(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	struct sockaddr_un sa;
	nk_autoclose int dirfd = -1;
	int r = socket_address(paths, name, &sa, &dirfd, err);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot create a socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return nk_err_set(err, e, "cannot reach the monitor of %s", name);
	}
	return fd;
}

int nk_ctl_listen(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	struct sockaddr_un sa;
	nk_autoclose int dirfd = -1;
	int r = socket_address(paths, name, &sa, &dirfd, err);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot create a socket");
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		return nk_err_set(err, e, "cannot listen on %s/%s.sock", paths->run, name);
	}
	return fd;
}
