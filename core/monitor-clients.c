/* The monitor's attached clients: framed input, bounded output queues. */
#include "monitor-clients.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

struct nk_client *nk_clients_add(struct nk_clients *cs, int fd, unsigned flags)
{
	if (cs->n >= NK_MAX_CLIENTS)
		return NULL;
	struct nk_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->flags = flags;
	cs->c[cs->n++] = c;
	return c;
}

void nk_clients_drop(struct nk_clients *cs, size_t i)
{
	struct nk_client *c = cs->c[i];
	close(c->fd);
	free(c->out);
	free(c);
	cs->c[i] = cs->c[--cs->n];
}

int nk_client_queue(struct nk_client *c, int type, const void *payload, size_t len)
{
	size_t need = c->out_len + sizeof(struct nk_ctl_hdr) + len;
	if (need > NK_CLIENT_QUEUE_MAX)
		return -ENOBUFS;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 16384;
		while (cap < need)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (!n)
			return -ENOMEM;
		c->out = n;
		c->out_cap = cap;
	}
	struct nk_ctl_hdr h = {.version = NK_CTL_VERSION, .type = (uint8_t)type, .len = (uint32_t)len};
	memcpy(c->out + c->out_len, &h, sizeof(h));
	if (len)
		memcpy(c->out + c->out_len + sizeof(h), payload, len);
	c->out_len = need;
	return 0;
}

void nk_clients_broadcast(struct nk_clients *cs, int type, const void *payload, size_t len)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct nk_client *c = cs->c[i];
		if (!(c->flags & NK_ATTACH_OUTPUT) && (type == NK_CTL_STDOUT || type == NK_CTL_STDERR))
			continue;
		if (nk_client_queue(c, type, payload, len) < 0) {
			nk_clients_drop(cs, i);
			i--;
		}
	}
}

int nk_client_flush(struct nk_client *c)
{
	while (c->out_len > 0) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? 0 : -errno;
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	return 0;
}

void nk_clients_flush_all(struct nk_clients *cs, int timeout_ms)
{
	uint64_t deadline = nk_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		struct pollfd pfd[NK_MAX_CLIENTS];
		size_t n = 0;
		for (size_t i = 0; i < cs->n; i++) {
			if (nk_client_flush(cs->c[i]) < 0)
				cs->c[i]->out_len = 0;
			if (cs->c[i]->out_len)
				pfd[n++] = (struct pollfd){.fd = cs->c[i]->fd, .events = POLLOUT};
		}
		uint64_t now = nk_now_ns();
		if (n == 0 || now >= deadline)
			return;
		poll(pfd, n, (int)((deadline - now) / 1000000ull) + 1);
	}
}
