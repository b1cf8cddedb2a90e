/* The attach client: this terminal <-> an instance's monitor, raw mode restored on exit. */
#ifndef NOOK_TUI_RELAY_H
#define NOOK_TUI_RELAY_H

#include "core/timeline.h"

enum nk_relay_end { NK_RELAY_EXITED, NK_RELAY_DETACHED, NK_RELAY_LOST };

struct nk_relay {
	int ctl_fd;        /* attached control connection */
	int tty;           /* the instance has a terminal: raw mode, resize, detach keys */
	int forward_stdin; /* send our stdin */
	int exit_code;     /* set when NK_RELAY_EXITED */
	/* With NK_ATTACH_TIMELINE: each NK_CTL_TIMELINE received (NULL to ignore them). */
	void (*on_timeline)(void *opaque, const struct nk_timeline *t);
	void *opaque;
};

/* Relay until the instance exits, the user detaches (Ctrl-P Ctrl-Q) or the monitor goes. */
enum nk_relay_end nk_relay_run(struct nk_relay *r);

/* Put the terminal in raw mode until nk_tty_restore (also called at exit). */
void nk_tty_raw(int fd);
void nk_tty_restore(void);

#endif
