/* `run --timings` for a VM: the guest's boot boundaries (first instruction, first console
 * byte, guest init) arrive from the monitor after the start, as NK_CTL_TIMELINE messages. */
#ifndef NOOK_TUI_RUN_TIMINGS_H
#define NOOK_TUI_RUN_TIMINGS_H

#include "core/timeline.h"

struct nk_boot_report {
	const char *name;
	struct nk_timeline last; /* the newest phases heard of */
	int have;
	int printed;
};

/* A relay's on_timeline: prints the whole start once the guest has marked its init. */
void nk_boot_report_update(void *opaque, const struct nk_timeline *t);
/* Print what is known if that has not happened yet (the guest ended, or never marked). */
void nk_boot_report_finish(struct nk_boot_report *r);
/* Detached: read NK_CTL_TIMELINE from fd until the guest marks its init, the instance
 * ends or timeout_ms pass; then print. */
void nk_boot_report_wait(struct nk_boot_report *r, int fd, int timeout_ms);

#endif
