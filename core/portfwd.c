/* Published ports: a TCP forwarder in the monitor from the host's loopback to the
 * container (see portfwd.h for why not nftables). */
#include "portfwd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	if (len == 0 || len > 5)
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int nk_port_parse(const char *spec, struct nk_port *out, struct nk_err *err)
{
	memset(out, 0, sizeof(*out));
	out->host_ip = INADDR_LOOPBACK;
	snprintf(out->proto, sizeof(out->proto), "tcp");
	char buf[96];
	if (!spec || nk_fmt(buf, sizeof(buf), "%s", spec) < 0)
		return nk_err_msg(err, EINVAL, "invalid -p: use [127.0.0.1:]HOSTPORT:CTRPORT[/tcp]");
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		if (strcmp(slash, "tcp") != 0 && strcmp(slash, "udp") != 0)
			return nk_err_msg(err, EINVAL, "-p %s: unknown protocol '%s' (use tcp or udp)", spec, slash);
		snprintf(out->proto, sizeof(out->proto), "%s", slash);
	}
	char *parts[3];
	int n = 0;
	for (char *p = buf, *c; n < 3; p = c + 1) {
		parts[n++] = p;
		if (!(c = strchr(p, ':')))
			break;
		*c = '\0';
	}
	if (n < 2 || (n == 3 && strchr(parts[2], ':')))
		return nk_err_msg(err, EINVAL, "invalid -p %s: use [127.0.0.1:]HOSTPORT:CTRPORT[/tcp]", spec);
	if (n == 3) {
		struct in_addr a;
		if (inet_pton(AF_INET, parts[0], &a) != 1)
			return nk_err_msg(err, EINVAL, "-p %s: '%s' is not an IPv4 address", spec, parts[0]);
		out->host_ip = ntohl(a.s_addr);
		if ((out->host_ip >> 24) != 127)
			return nk_err_msg(err, EINVAL,
					  "-p %s: nook publishes on the host's loopback only (127.0.0.0/8), not %s",
					  spec, parts[0]);
	}
	if (parse_port(parts[n - 2], strlen(parts[n - 2]), &out->host_port) < 0 ||
	    parse_port(parts[n - 1], strlen(parts[n - 1]), &out->ctr_port) < 0)
		return nk_err_msg(err, EINVAL, "-p %s: ports are numbers from 1 to 65535", spec);
	return 0;
}

void nk_port_format(const struct nk_port *p, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u:%u:%u/%s", p->host_ip >> 24, (p->host_ip >> 16) & 255,
		 (p->host_ip >> 8) & 255, p->host_ip & 255, p->host_port, p->ctr_port, p->proto);
}

static int is_udp(const struct nk_port *p)
{
	return !strcmp(p->proto, "udp");
}

static int listen_on(const struct nk_port *p, int backlog, struct nk_err *err)
{
	int fd = socket(AF_INET, (is_udp(p) ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot create a socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port),
				 .sin_addr.s_addr = htonl(p->host_ip)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (backlog && !is_udp(p) && listen(fd, backlog) < 0)) {
		int e = errno;
		close(fd);
		char what[64];
		nk_port_format(p, what, sizeof(what));
		if (e == EADDRINUSE)
			return nk_err_msg(err, e, "cannot publish %s: host port %u is already in use", what, p->host_port);
		return nk_err_set(err, e, "cannot publish %s", what);
	}
	return fd;
}

int nk_port_check_free(const struct nk_port *p, struct nk_err *err)
{
	int fd = listen_on(p, 0, err);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int nk_portfwd_open(struct nk_portfwd *pf, const struct nk_port *ports, size_t count, struct nk_err *err)
{
	memset(pf, 0, sizeof(*pf));
	pf->opened = 1;
	for (size_t i = 0; i < NK_PORTFWD_UDP_MAX; i++)
		pf->udp[i].upstream = -1;
	if (count > NK_PORTS_MAX)
		return nk_err_msg(err, E2BIG, "at most %d published ports", NK_PORTS_MAX);
	for (size_t i = 0; i < count; i++) {
		pf->ports[i] = ports[i];
		pf->listeners[i] = listen_on(&ports[i], 64, err);
		if (pf->listeners[i] < 0) {
			int r = pf->listeners[i];
			pf->count = i;
			nk_portfwd_close(pf);
			return r;
		}
		pf->count = i + 1;
	}
	return 0;
}

static void conn_free(struct nk_portfwd *pf, size_t i)
{
	struct nk_portfwd_conn *c = pf->conns[i];
	if (c->client >= 0)
		close(c->client);
	if (c->upstream >= 0)
		close(c->upstream);
	free(c);
	pf->conns[i] = NULL;
}

static void accept_one(struct nk_portfwd *pf, size_t port)
{
	int client = accept4(pf->listeners[port], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (client < 0)
		return;
	size_t slot;
	for (slot = 0; slot < NK_PORTFWD_CONNS_MAX && pf->conns[slot]; slot++)
		;
	int up = -1;
	struct nk_portfwd_conn *c = NULL;
	if (slot < NK_PORTFWD_CONNS_MAX && pf->target_ip && (c = calloc(1, sizeof(*c))) &&
	    (up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(pf->ports[port].ctr_port),
					 .sin_addr.s_addr = htonl(pf->target_ip)};
		if (connect(up, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS) {
			c->client = client;
			c->upstream = up;
			pf->conns[slot] = c;
			return;
		}
	}
	/* No room or no way to the container: refuse this one connection. */
	if (up >= 0)
		close(up);
	free(c);
	close(client);
}

/* Move bytes one way; returns -1 when the connection should go. */
static int relay(int from, int to, char *buf, size_t *len, int *eof, short revents_from, short revents_to)
{
	if ((revents_from & (POLLIN | POLLHUP | POLLERR)) && *len < 16384 && !*eof) {
		ssize_t n = read(from, buf + *len, 16384 - *len);
		if (n > 0)
			*len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			*eof = 1;
	}
	if (*len && (revents_to & POLLOUT || revents_to == 0)) {
		ssize_t w = send(to, buf, *len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			memmove(buf, buf + w, *len - (size_t)w);
			*len -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (*eof && *len == 0)
		shutdown(to, SHUT_WR);
	return 0;
}

#define UDP_IDLE_NS (60ull * 1000000000ull)

/* A datagram from a client: to the container, through that client's own socket. */
static void udp_from_client(struct nk_portfwd *pf, size_t port)
{
	char buf[65536];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(pf->listeners[port], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n < 0 || !pf->target_ip)
		return;
	uint64_t now = nk_now_ns();
	struct nk_portfwd_udp *s = NULL, *free_slot = NULL;
	for (size_t i = 0; i < NK_PORTFWD_UDP_MAX; i++) {
		struct nk_portfwd_udp *u = &pf->udp[i];
		if (u->upstream >= 0 && now - u->last_ns > UDP_IDLE_NS) {
			close(u->upstream);
			u->upstream = -1;
		}
		if (u->upstream < 0) {
			if (!free_slot)
				free_slot = u;
		} else if (u->port == port && u->client.sin_port == from.sin_port &&
			   u->client.sin_addr.s_addr == from.sin_addr.s_addr) {
			s = u;
		}
	}
	if (!s) {
		if (!free_slot)
			return; /* every slot busy: drop, as a full network would */
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(pf->ports[port].ctr_port),
					 .sin_addr.s_addr = htonl(pf->target_ip)};
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (fd >= 0)
				close(fd);
			return;
		}
		s = free_slot;
		*s = (struct nk_portfwd_udp){.upstream = fd, .port = port, .client = from};
	}
	s->last_ns = now;
	(void)!send(s->upstream, buf, (size_t)n, MSG_DONTWAIT);
}

/* A reply from the container: back to the client, from the published port. */
static void udp_from_container(struct nk_portfwd *pf, struct nk_portfwd_udp *s)
{
	char buf[65536];
	ssize_t n = recv(s->upstream, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return;
	s->last_ns = nk_now_ns();
	(void)!sendto(pf->listeners[s->port], buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&s->client,
		      sizeof(s->client));
}

size_t nk_portfwd_pollfds(struct nk_portfwd *pf, struct pollfd *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < pf->count && n < max; i++)
		out[n++] = (struct pollfd){.fd = pf->listeners[i], .events = POLLIN};
	for (size_t i = 0; i < NK_PORTFWD_CONNS_MAX && n + 2 <= max; i++) {
		const struct nk_portfwd_conn *c = pf->conns[i];
		if (!c)
			continue;
		short up_ev = (short)((c->connected ? 0 : POLLOUT) | (c->up_len ? POLLOUT : 0) |
				      (c->down_len < 16384 && !c->upstream_eof ? POLLIN : 0));
		short cl_ev = (short)((c->down_len ? POLLOUT : 0) | (c->up_len < 16384 && !c->client_eof ? POLLIN : 0));
		out[n++] = (struct pollfd){.fd = c->client, .events = cl_ev};
		out[n++] = (struct pollfd){.fd = c->upstream, .events = up_ev};
	}
	pf->tcp_emitted = (n - pf->count) / 2;
	for (size_t i = 0; i < NK_PORTFWD_UDP_MAX && n < max; i++)
		if (pf->udp[i].upstream >= 0)
			out[n++] = (struct pollfd){.fd = pf->udp[i].upstream, .events = POLLIN};
	return n;
}

void nk_portfwd_handle(struct nk_portfwd *pf, const struct pollfd *fds, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < pf->count && k < n; i++, k++)
		if (fds[k].revents & POLLIN) {
			if (is_udp(&pf->ports[i]))
				udp_from_client(pf, i);
			else
				accept_one(pf, i);
		}
	size_t tcp_end = k + 2 * pf->tcp_emitted;
	for (size_t j = tcp_end; j < n; j++) {
		if (!(fds[j].revents & POLLIN))
			continue;
		for (size_t i = 0; i < NK_PORTFWD_UDP_MAX; i++)
			if (pf->udp[i].upstream == fds[j].fd)
				udp_from_container(pf, &pf->udp[i]);
	}
	if (tcp_end < n)
		n = tcp_end;
	/* Connections were listed in slot order; match them again by descriptor. */
	for (; k + 1 < n; k += 2) {
		for (size_t i = 0; i < NK_PORTFWD_CONNS_MAX; i++) {
			struct nk_portfwd_conn *c = pf->conns[i];
			if (!c || c->client != fds[k].fd)
				continue;
			short cl = fds[k].revents, up = fds[k + 1].revents;
			if (!c->connected && (up & (POLLOUT | POLLERR | POLLHUP))) {
				int e = 0;
				socklen_t l = sizeof(e);
				getsockopt(c->upstream, SOL_SOCKET, SO_ERROR, &e, &l);
				if (e) {
					conn_free(pf, i);
					break;
				}
				c->connected = 1;
			}
			if (c->connected &&
			    (relay(c->client, c->upstream, c->up_buf, &c->up_len, &c->client_eof, cl, up) < 0 ||
			     relay(c->upstream, c->client, c->down_buf, &c->down_len, &c->upstream_eof, up, cl) < 0 ||
			     (c->client_eof && c->upstream_eof && !c->up_len && !c->down_len)))
				conn_free(pf, i);
			break;
		}
	}
}

void nk_portfwd_close(struct nk_portfwd *pf)
{
	if (!pf->opened)
		return;
	for (size_t i = 0; i < pf->count; i++)
		if (pf->listeners[i] >= 0)
			close(pf->listeners[i]);
	pf->count = 0;
	for (size_t i = 0; i < NK_PORTFWD_CONNS_MAX; i++)
		if (pf->conns[i])
			conn_free(pf, i);
	for (size_t i = 0; i < NK_PORTFWD_UDP_MAX; i++) {
		if (pf->udp[i].upstream >= 0)
			close(pf->udp[i].upstream);
		pf->udp[i].upstream = -1;
	}
}
