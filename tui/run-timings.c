/* `run --timings` for a VM: waiting for, and printing, the guest's boot boundaries. */
#include "tui/run-timings.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/util.h"

static void print_report(struct nk_boot_report *r)
{
	char text[1024];
	nk_timeline_format(&r->last, text, sizeof(text));
	/* A terminal may be in raw mode, mid-line of the guest's console. */
	const char *nl = isatty(STDERR_FILENO) ? "\r\n" : "\n";
	fprintf(stderr, "%snook: %s booted: %s%s", isatty(STDERR_FILENO) ? "\r\n" : "", r->name, text, nl);
	if (nk_timeline_vm_phase_us(&r->last, "guest-init") < 0)
		fprintf(stderr, "nook: the guest did not mark its init (port 0x4e0, docs/vmm.md)%s", nl);
	r->printed = 1;
}

void nk_boot_report_update(void *opaque, const struct nk_timeline *t)
{
	struct nk_boot_report *r = opaque;
	r->last = *t;
	r->have = 1;
	if (!r->printed && nk_timeline_vm_phase_us(t, "guest-init") >= 0 &&
	    nk_timeline_vm_phase_us(t, "first-console") >= 0)
		print_report(r);
}

void nk_boot_report_finish(struct nk_boot_report *r)
{
	if (r->have && !r->printed)
		print_report(r);
}

void nk_boot_report_wait(struct nk_boot_report *r, int fd, int timeout_ms)
{
	uint64_t deadline = nk_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	static char buf[NK_CTL_MAX_PAYLOAD];
	while (!r->printed) {
		uint64_t now = nk_now_ns();
		if (now >= deadline)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			break;
		struct nk_ctl_hdr h;
		ssize_t n = nk_ctl_recv(fd, &h, buf, sizeof(buf));
		if (n < 0 || h.type == NK_CTL_EXIT)
			break;
		if (h.type == NK_CTL_TIMELINE && (size_t)n >= sizeof(struct nk_timeline)) {
			struct nk_timeline t;
			memcpy(&t, buf, sizeof(t));
			nk_boot_report_update(r, &t);
		}
	}
	nk_boot_report_finish(r);
}
