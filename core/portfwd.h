/* Published ports: a TCP and UDP forwarder in the monitor from the host's loopback to the
 * container's address. Why not nftables DNAT: rewriting traffic to 127.0.0.1 needs the
 * host-wide route_localnet sysctl turned on, and a forwarder needs no firewall at all. */
#ifndef NOOK_PORTFWD_H
#define NOOK_PORTFWD_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define NK_PORTS_MAX 16
#define NK_PORTFWD_CONNS_MAX 128

struct nk_port {
	uint32_t host_ip;  /* host order, always in 127.0.0.0/8 */
	uint16_t host_port, ctr_port;
	char proto[4];     /* "tcp" or "udp" */
};

/* "[127.0.0.1:]8080:80[/tcp|/udp]" */
int nk_port_parse(const char *spec, struct nk_port *out, struct nk_err *err) NK_MUST_CHECK;
/* "127.0.0.1:8080:80/tcp", the form stored in config.json. */
void nk_port_format(const struct nk_port *p, char *buf, size_t size);
/* Check a host port is free right now (bind and close), for a clear error at create. */
int nk_port_check_free(const struct nk_port *p, struct nk_err *err) NK_MUST_CHECK;

struct nk_portfwd_conn {
	int client, upstream;          /* -1 when closed */
	int connected;                 /* upstream connect finished */
	char up_buf[16384], down_buf[16384];
	size_t up_len, down_len;       /* bytes waiting to go upstream / back to the client */
	int client_eof, upstream_eof;
};

#define NK_PORTFWD_UDP_MAX 64
/* UDP has no connections: one upstream socket per client address, dropped when idle. */
struct nk_portfwd_udp {
	int upstream;                  /* connected to the container's port; -1 when free */
	size_t port;                   /* index in ports */
	struct sockaddr_in client;
	uint64_t last_ns;
};

struct nk_portfwd {
	struct nk_port ports[NK_PORTS_MAX];
	int listeners[NK_PORTS_MAX];
	size_t count;
	uint32_t target_ip;            /* the container's address, host order */
	struct nk_portfwd_conn *conns[NK_PORTFWD_CONNS_MAX];
	struct nk_portfwd_udp udp[NK_PORTFWD_UDP_MAX];
	size_t tcp_emitted;            /* pairs the last pollfds listed, before the UDP sessions */
	int opened;                    /* nk_portfwd_open ran: close has descriptors to close */
};

/* Bind every listener (before the container starts: a busy port fails the start). */
int nk_portfwd_open(struct nk_portfwd *pf, const struct nk_port *ports, size_t count, struct nk_err *err) NK_MUST_CHECK;
/* Fill pollfds for the event loop; returns how many were written (at most max). */
size_t nk_portfwd_pollfds(struct nk_portfwd *pf, struct pollfd *out, size_t max);
/* Handle whatever the poll said about those fds. */
void nk_portfwd_handle(struct nk_portfwd *pf, const struct pollfd *fds, size_t n);
void nk_portfwd_close(struct nk_portfwd *pf);

#endif
