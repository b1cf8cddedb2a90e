/* The monitor's attached clients: framed input, bounded output queues. */
#ifndef NOOK_MONITOR_CLIENTS_H
#define NOOK_MONITOR_CLIENTS_H

#include <stddef.h>

#include "ctl.h"

#define NK_MAX_CLIENTS 32
/* A client that falls this far behind is dropped rather than stall the container. */
#define NK_CLIENT_QUEUE_MAX (4 * 1024 * 1024)

struct nk_client {
	int fd;
	unsigned flags;          /* NK_ATTACH_* */
	char in[NK_CTL_MAX_PAYLOAD + sizeof(struct nk_ctl_hdr)];
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
};

struct nk_clients {
	struct nk_client *c[NK_MAX_CLIENTS];
	size_t n;
};

struct nk_client *nk_clients_add(struct nk_clients *cs, int fd, unsigned flags);
void nk_clients_drop(struct nk_clients *cs, size_t i);
/* Queue a message for one client; drops nothing, returns -ENOBUFS past the cap. */
int nk_client_queue(struct nk_client *c, int type, const void *payload, size_t len);
/* Queue output for every client attached for output. */
void nk_clients_broadcast(struct nk_clients *cs, int type, const void *payload, size_t len);
/* Send what is queued without blocking; -errno when the client is gone. */
int nk_client_flush(struct nk_client *c);
/* Block up to timeout_ms to get every queue out (used once the container has exited). */
void nk_clients_flush_all(struct nk_clients *cs, int timeout_ms);

#endif
