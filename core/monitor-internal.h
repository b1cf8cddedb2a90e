/* The monitor's private parts, shared by its files: the event loop (monitor.c) and the
 * start and finish of the container (monitor-start.c). */
#ifndef NOOK_MONITOR_INTERNAL_H
#define NOOK_MONITOR_INTERNAL_H

#include "cgroup.h"
#include "console-log.h"
#include "container.h"
#include "instance-net.h"
#include "monitor-clients.h"
#include "paths.h"
#include "portfwd.h"
#include "seccomp.h"
#include "spec.h"
#include "vm-instance.h"

struct monitor {
	const struct nk_paths *paths;
	const char *name;
	struct nk_spec spec;
	struct nk_cgroup cg;
	struct nk_container ct;
	struct nk_clients clients;
	struct nk_console_log log;
	int listen_fd, sig_fd;
	int console;           /* PTY master with -t */
	int stdin_w;           /* our end of the container's stdin, or -1 */
	int out_r, err_r;      /* our ends of its stdout / stderr without -t */
	uint64_t kill_deadline; /* monotonic ns; SIGKILL after a stop's grace time */
	int stop_requested, killed_after_grace;
	int paused;
	int init_exited, init_status;
	struct nk_instance_net net;
	struct nk_portfwd ports;
	struct nk_seccomp_prog seccomp; /* compiled (or cached) before the clone */
	uint8_t learned[128];           /* learn mode: syscalls already recorded */
	struct nk_vm_instance vmi;      /* a VM instance's VMM (spec.vm) */
	struct nk_container_io vm_io;   /* the console ends the VM borrows until it is gone */
	int drain_started;
	uint64_t drain_deadline; /* after init exits, output gets this long to drain */
};

/* Start the container; on failure nothing is left running and the state says why. */
int nk_monitor_start(struct monitor *m, struct nk_err *err);
/* After the container is gone: record the exit, clean up, tell every client. */
void nk_monitor_finish(struct monitor *m);
void nk_monitor_set_nonblock(int fd);

#endif
