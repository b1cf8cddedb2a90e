/* The monitor's control socket protocol (docs/control-protocol.md): framed, versioned. */
#ifndef NOOK_CTL_H
#define NOOK_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "paths.h"
#include "timeline.h"

#define NK_CTL_VERSION 1
#define NK_CTL_MAX_PAYLOAD 65536

enum nk_ctl_type {
	NK_CTL_ATTACH = 1, /* c->m: u32 flags (NK_ATTACH_*) */
	NK_CTL_STDIN,      /* c->m: bytes for the container's stdin / console */
	NK_CTL_STDIN_EOF,  /* c->m: close the container's stdin */
	NK_CTL_RESIZE,     /* c->m: u16 rows, u16 cols */
	NK_CTL_SIGNAL,     /* c->m: i32 signal, delivered to the command */
	NK_CTL_STOP,       /* c->m: i32 grace seconds: SIGTERM, then SIGKILL */
	NK_CTL_STDOUT,     /* m->c: output bytes (the console with -t) */
	NK_CTL_STDERR,     /* m->c: error output bytes */
	NK_CTL_STARTED,    /* m->c: struct nk_ctl_started; the command is running */
	NK_CTL_EXIT,       /* m->c: i32 exit code, then the reason text */
	NK_CTL_ERROR,      /* m->c: message text; the request failed */
	NK_CTL_PAUSE,      /* c->m: freeze every process of the instance */
	NK_CTL_RESUME,     /* c->m: thaw them */
	NK_CTL_OK,         /* m->c: the request (pause, resume) is done */
	NK_CTL_KVM_STATS,  /* c->m: a VM's KVM counters; m->c: the answer, JSON text */
	NK_CTL_TIMELINE,   /* m->c: struct nk_timeline, a VM's phases so far (NK_ATTACH_TIMELINE) */
	NK_CTL_TYPE_MAX,
};

enum {
	NK_ATTACH_STDIN = 1,  /* forward this client's input */
	NK_ATTACH_OUTPUT = 2, /* stream output to this client */
	NK_ATTACH_TIMELINE = 4, /* send NK_CTL_TIMELINE each time a VM's guest passes a boot boundary */
};

/* The payload of NK_CTL_STARTED. */
struct nk_ctl_started {
	int32_t init_pid;
	struct nk_timeline timeline;
};

struct nk_ctl_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t reserved;
	uint32_t len; /* payload bytes that follow */
};

/* Blocking send/receive for clients. recv returns the payload length, -EPIPE at EOF;
 * a wrong version or an oversized message is -EPROTO. */
int nk_ctl_send(int fd, int type, const void *payload, size_t len);
ssize_t nk_ctl_recv(int fd, struct nk_ctl_hdr *hdr, void *payload, size_t cap);

/* Find one complete message at the start of buf: returns bytes it spans, 0 if more data
 * is needed, -EPROTO if the bytes are not a valid message. */
ssize_t nk_ctl_parse(const void *buf, size_t len, struct nk_ctl_hdr *hdr, const void **payload);

/* Connect to / listen on an instance's socket (paths longer than sun_path are fine). */
int nk_ctl_connect(const struct nk_paths *paths, const char *name, struct nk_err *err) NK_MUST_CHECK;
int nk_ctl_listen(const struct nk_paths *paths, const char *name, struct nk_err *err) NK_MUST_CHECK;

#endif
