/* A CLI-free VM runner for tests: boot an image with the VMM library, serial on stdio,
 * print why it ended. Also shows the embedding API at its smallest. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/util.h"
#include "core/vm/virtio-blk.h"
#include "core/vm/virtio-net.h"
#include "core/vm/virtio-rng.h"
#include "core/vm/vmm.h"

#define STATS_PORT 0x510

static struct nk_vm *the_vm; /* for the signal handlers only */
static int kill_instead;

static void on_alarm(int sig)
{
	(void)sig;
	if (kill_instead)
		nk_vm_kill(the_vm);
	else
		nk_vm_request_stop(the_vm);
}

/* A debug device: the guest reads KVM's own counters (summed over vCPUs) to see them
 * move. 32-bit registers: 0 exits, 4 io_exits, 8 insn_emulation; 0 when KVM lacks one. */
static void stats_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	static const char *const names[] = {"exits", "io_exits", "insn_emulation"};
	struct nk_vm *vm = opaque;
	uint64_t v = 0;
	if (offset / 4 >= sizeof(names) / sizeof(names[0]) ||
	    nk_vm_stat_value(vm, NK_VM_STATS_VCPU_SUM, names[offset / 4], &v) < 0)
		v = 0;
	uint32_t v32 = (uint32_t)v;
	memcpy(data, &v32, len < 4 ? len : 4);
}

static const struct nk_vm_dev_ops stats_ops = {.read = stats_read};

/* virtio-net's receive side: frames from the tap into the guest, on the I/O thread;
 * when the guest has no buffers, stop watching until it posts some. */
struct net_rx {
	struct nk_vm *vm;
	struct nk_virtio_net *net;
	int fd;
	int peer; /* --net-dgram: our end of the socketpair */
	unsigned long frames, bytes;
};

static void net_readable(void *opaque, int fd)
{
	struct net_rx *n = opaque;
	if (nk_virtio_net_poll_rx(n->net) == -ENOBUFS)
		nk_vm_watch_enable(n->vm, fd, 0);
}

static void net_rx_wake(void *opaque)
{
	struct net_rx *n = opaque;
	nk_vm_watch_enable(n->vm, n->fd, 1);
}

/* --net-dgram: count what the guest sends. */
static void peer_readable(void *opaque, int fd)
{
	struct net_rx *n = opaque;
	char frame[65536];
	ssize_t r = recv(fd, frame, sizeof(frame), MSG_DONTWAIT);
	if (r > 0) {
		n->frames++;
		n->bytes += (unsigned long)r;
	}
}

static int open_tap(const char *name, struct nk_err *err)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return nk_err_set(err, errno, "/dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return nk_err_set(err, e, "TUNSETIFF %s", name);
	}
	return fd;
}

struct devices {
	struct nk_virtio_rng *rng;
	struct nk_virtio_blk *blk;
	struct nk_virtio_net *net;
	int blk_fd;
	struct net_rx rx;
};

static int add_devices(struct nk_vm *vm, struct devices *d, int want_rng, const char *blk,
		       const char *tap, int dgram, struct nk_err *err)
{
	int r = 0;
	if (want_rng) {
		r = nk_virtio_rng_create(&d->rng, err);
		if (r == 0)
			r = nk_vm_attach_virtio(vm, "virtio-rng", nk_virtio_rng_dev(d->rng), NULL, NULL, err);
		if (r < 0)
			return r;
	}
	if (blk) {
		char path[4096];
		snprintf(path, sizeof(path), "%s", blk);
		char *ro = strstr(path, ":ro");
		if (ro && ro[3] == '\0')
			*ro = '\0';
		d->blk_fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (d->blk_fd < 0)
			return nk_err_set(err, errno, "cannot open disk %s", path);
		struct nk_virtio_blk_cfg cfg = {.fd = d->blk_fd, .read_only = ro != NULL, .serial = "runvm-disk"};
		r = nk_virtio_blk_create(&cfg, &d->blk, err);
		if (r == 0)
			r = nk_vm_attach_virtio(vm, "virtio-blk", nk_virtio_blk_dev(d->blk), NULL, NULL, err);
		if (r < 0)
			return r;
	}
	if (tap || dgram) {
		int pair[2] = {-1, -1};
		d->rx.vm = vm;
		d->rx.peer = -1;
		if (tap) {
			d->rx.fd = open_tap(tap, err);
			if (d->rx.fd < 0)
				return d->rx.fd;
		} else {
			if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
				return nk_err_set(err, errno, "socketpair");
			d->rx.fd = pair[0];
			d->rx.peer = pair[1];
		}
		struct nk_virtio_net_cfg cfg = {.tap_fd = d->rx.fd, .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
						.rx_wake = net_rx_wake, .rx_wake_opaque = &d->rx};
		r = nk_virtio_net_create(&cfg, &d->net, err);
		if (r == 0)
			r = nk_vm_attach_virtio(vm, "virtio-net", nk_virtio_net_dev(d->net), NULL, NULL, err);
		d->rx.net = d->net;
		if (r == 0)
			r = nk_vm_watch_fd(vm, d->rx.fd, net_readable, &d->rx, err);
		if (r == 0 && d->rx.peer >= 0)
			r = nk_vm_watch_fd(vm, d->rx.peer, peer_readable, &d->rx, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* After nk_vm_destroy: the VM has let go of the devices. */
static void free_devices(struct devices *d)
{
	nk_virtio_rng_destroy(d->rng);
	nk_virtio_blk_destroy(d->blk);
	nk_virtio_net_destroy(d->net);
	if (d->blk_fd >= 0)
		close(d->blk_fd);
	if (d->rx.fd >= 0)
		close(d->rx.fd);
	if (d->rx.peer >= 0)
		close(d->rx.peer);
}

static int usage(void)
{
	fprintf(stderr, "usage: runvm [--mem MiB] [--vcpus N] [--cmdline TEXT] [--initrd FILE] [--boot auto|linux64|pvh]\n"
			"             [--stop-after MS | --kill-after MS] [--stats] [--timings]\n"
			"             [--console-cap BYTES] [--dump GPA:LEN] [--rng] [--blk FILE[:ro]] [--tap NAME | --net-dgram]\n"
			"             IMAGE\n"
			"       runvm --probe\n");
	return 64;
}

static int probe(void)
{
	struct nk_vm_caps c;
	struct nk_err err = {0};
	if (nk_vm_probe(&c, &err) < 0) {
		fprintf(stderr, "runvm: %s\n", err.msg);
		return 1;
	}
	printf("api=%d pvm=%d irqchip=%d pit2=%d stats_fd=%d immediate_exit=%d ioeventfd=%d irqfd=%d "
	       "x2apic_api=%d tsc_deadline=%d nr_vcpus=%d max_vcpus=%d vcpu_mmap=%d cpuid_entries=%d\n",
	       c.api_version, c.pvm, c.irqchip, c.pit2, c.stats_fd, c.immediate_exit, c.ioeventfd,
	       c.irqfd, c.x2apic_api, c.tsc_deadline, c.nr_vcpus, c.max_vcpus, c.vcpu_mmap_size,
	       c.supported_cpuid_entries);
	return 0;
}

static void print_stats(struct nk_vm *vm, int which, const char *label)
{
	struct nk_vm_stat st[256];
	size_t n = 0;
	struct nk_err err = {0};
	if (nk_vm_stats(vm, which, st, 256, &n, &err) < 0) {
		fprintf(stderr, "runvm: stats %s: %s\n", label, err.msg);
		return;
	}
	for (size_t i = 0; i < n && i < 256; i++)
		if (st[i].value)
			fprintf(stderr, "runvm: stat %s %s=%llu\n", label, st[i].name,
				(unsigned long long)st[i].value);
}

int main(int argc, char **argv)
{
	struct nk_vm_config cfg = {.mem_bytes = 64ULL << 20, .vcpus = 1, .console_in = 0, .console_out = 1};
	long stop_after = 0;
	uint64_t dump_addr = 0, dump_len = 0;
	int want_stats = 0, want_timings = 0, want_rng = 0, net_dgram = 0;
	const char *blk = NULL, *tap = NULL;
	struct devices dev = {.blk_fd = -1, .rx = {.fd = -1, .peer = -1}};
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--probe"))
			return probe();
		if (!strcmp(a, "--stats")) {
			want_stats = 1;
			continue;
		}
		if (!strcmp(a, "--timings")) {
			want_timings = 1;
			continue;
		}
		if (!strcmp(a, "--rng")) {
			want_rng = 1;
			continue;
		}
		if (!strcmp(a, "--net-dgram")) {
			net_dgram = 1;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (!strcmp(a, "--mem"))
			cfg.mem_bytes = strtoull(v, NULL, 0) << 20;
		else if (!strcmp(a, "--vcpus"))
			cfg.vcpus = (unsigned)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--cmdline"))
			cfg.cmdline = v;
		else if (!strcmp(a, "--boot")) {
			if (!strcmp(v, "pvh"))
				cfg.boot = NK_VM_BOOT_PVH;
			else if (!strcmp(v, "linux64"))
				cfg.boot = NK_VM_BOOT_LINUX64;
			else if (strcmp(v, "auto"))
				return usage();
		}
		else if (!strcmp(a, "--dump")) {
			char *end;
			dump_addr = strtoull(v, &end, 0);
			dump_len = *end == ':' ? strtoull(end + 1, NULL, 0) : 64;
		} else if (!strcmp(a, "--initrd"))
			cfg.initrd = v;
		else if (!strcmp(a, "--blk"))
			blk = v;
		else if (!strcmp(a, "--console-cap"))
			cfg.console_out_cap = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--tap"))
			tap = v;
		else if (!strcmp(a, "--stop-after"))
			stop_after = strtol(v, NULL, 0);
		else if (!strcmp(a, "--kill-after"))
			stop_after = strtol(v, NULL, 0), kill_instead = 1;
		else
			return usage();
	}
	if (i != argc - 1)
		return usage();
	cfg.kernel = argv[i];

	struct nk_err err = {0};
	struct nk_vm *vm;
	uint64_t t0 = nk_now_ns();
	if (nk_vm_create(&cfg, &vm, &err) < 0) {
		fprintf(stderr, "runvm: %s\n", err.msg);
		return 1;
	}
	uint64_t t1 = nk_now_ns();
	fprintf(stderr, "runvm: boot=%s\n", nk_vm_boot_protocol(vm));
	if (nk_vm_register_dev(vm, "runvm-stats", NK_VM_BUS_PIO, STATS_PORT, 12, &stats_ops, vm, &err) < 0 ||
	    add_devices(vm, &dev, want_rng, blk, tap, net_dgram, &err) < 0) {
		fprintf(stderr, "runvm: %s\n", err.msg);
		nk_vm_destroy(vm);
		free_devices(&dev);
		return 1;
	}
	the_vm = vm;
	if (stop_after > 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval it = {.it_value = {stop_after / 1000, (stop_after % 1000) * 1000}};
		setitimer(ITIMER_REAL, &it, NULL);
	}
	struct nk_vm_exit why;
	int r = nk_vm_run(vm, &why, &err);
	uint64_t t2 = nk_now_ns();
	if (r < 0) {
		fprintf(stderr, "runvm: %s\n", err.msg);
		nk_vm_destroy(vm);
		free_devices(&dev);
		return 1;
	}
	fprintf(stderr, "runvm: exit=%s vcpu=%d stop_requested=%d create_ms=%.3f run_ms=%.3f total_ms=%.3f detail=%s\n",
		nk_vm_exit_name(why.reason), why.vcpu, why.stop_requested, (t1 - t0) / 1e6,
		why.run_ns / 1e6, (t2 - t0) / 1e6, why.detail);
	if (want_timings) {
		struct nk_vm_timing tm[32];
		size_t n = nk_vm_timings(vm, tm, 32);
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "runvm: timing %s=%.3f ms\n", tm[k].name, tm[k].ns / 1e6);
	}
	if (dump_len) {
		/* Guest memory after the run: a debugging aid for the guest's own state. */
		const struct nk_vm_mem *mem = nk_vm_memory(vm);
		const uint8_t *p = nk_vm_mem_ptr(mem, dump_addr, dump_len);
		for (uint64_t k = 0; p && k < dump_len; k++)
			fprintf(stderr, "%s%02x%s", k % 16 ? "" : "runvm: dump ", p[k],
				k % 16 == 15 || k + 1 == dump_len ? "\n" : " ");
	}
	if (want_stats) {
		print_stats(vm, NK_VM_STATS_VM, "vm");
		print_stats(vm, NK_VM_STATS_VCPU_SUM, "vcpus");
	}
	if (dev.rx.peer >= 0)
		fprintf(stderr, "runvm: net frames=%lu bytes=%lu\n", dev.rx.frames, dev.rx.bytes);
	fprintf(stderr, "runvm: console dropped=%llu\n", (unsigned long long)nk_vm_console_dropped(vm));
	nk_vm_destroy(vm);
	free_devices(&dev);
	switch (why.reason) {
	case NK_VM_EXIT_RESET:
	case NK_VM_EXIT_POWEROFF:
		return 0;
	case NK_VM_EXIT_CRASHED:
		return 2;
	case NK_VM_EXIT_KILLED:
		return 3;
	default:
		return 1;
	}
}
