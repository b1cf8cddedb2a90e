/* Live usage of running instances: cgroup counters turned into rates between samples. */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "instance.h"
#include "net/stats.h"
#include "net/nl.h"
#include "util.h"

int nk_stats_open(const struct nk_paths *paths, const char *name, struct nk_stats_sampler *s,
		  struct nk_err *err)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < NK_CGF_COUNT; i++)
		s->rd.fd[i] = -1;
	struct nk_instance_info info;
	int r = nk_inst_get_any(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status != NK_RUNNING && info.state.status != NK_PAUSED)
		return nk_err_msg(err, EINVAL, "%s is not running (it is %s)", name, nk_status_name(info.state.status));
	if ((r = info.cgroup[0] ? nk_cgroup_init_path(&s->cg, info.cgroup, err) : nk_cgroup_init(&s->cg, paths, name, err)) < 0)
		return r;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->started_at = info.state.started_at;
	snprintf(s->host_if, sizeof(s->host_if), "%s", info.state.host_if);
	s->paths = paths;
	if (!strcmp(info.kind, "vm"))
		s->vm_pid = info.state.monitor_pid;
	if (s->host_if[0] && nk_nl_open(&s->nl, err) < 0)
		s->nl = NULL; /* no traffic figures, the rest still works */
	nk_cgroup_reader_open(&s->cg, &s->rd);
	return 0;
}

static double rate(uint64_t now, uint64_t before, double seconds)
{
	return now >= before && seconds > 0 ? (double)(now - before) / seconds : 0;
}

/* A VM's cost is its VMM process: CPU from /proc/PID/stat, memory from statm (for a VMM
 * outside a cgroup). */
static void sample_vmm(struct nk_stats_sampler *s, struct nk_stats *out)
{
	char path[64], buf[1024];
	memset(&out->cg, 0, sizeof(out->cg));
	snprintf(path, sizeof(path), "/proc/%d/stat", s->vm_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	char *p = n > 0 ? (buf[n] = '\0', strrchr(buf, ')')) : NULL;
	unsigned long long utime, stime;
	/* After the comm: state, then fields 4..13, then utime (14) and stime (15). */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2) {
		out->cg.cpu_usage_ns = (utime + stime) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
		out->cg.have |= NK_STAT_CPU;
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", s->vm_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	unsigned long long pages_total, pages_resident;
	if (n > 0 && (buf[n] = '\0', sscanf(buf, "%llu %llu", &pages_total, &pages_resident) == 2)) {
		out->cg.mem_current = pages_resident * (uint64_t)sysconf(_SC_PAGESIZE);
		out->cg.mem_limit = NK_UNLIMITED;
		out->cg.have |= NK_STAT_MEM;
	}
}

/* Total exits of all vCPUs, from the monitor (0 when it cannot say). */
static uint64_t kvm_exits(struct nk_stats_sampler *s)
{
	char *json = NULL;
	struct nk_err err;
	uint64_t total = 0;
	if (nk_inst_kvm_stats(s->paths, s->name, &json, &err) < 0)
		return 0;
	json_object *o = json_tokener_parse(json), *per, *v;
	free(json);
	if (o && json_object_object_get_ex(o, "vcpu", &per))
		for (size_t i = 0; i < json_object_array_length(per); i++)
			if (json_object_object_get_ex(json_object_array_get_idx(per, i), "exits", &v))
				total += json_object_get_uint64(v);
	json_object_put(o);
	return total;
}

void nk_stats_sample(struct nk_stats_sampler *s, struct nk_stats *out)
{
	static long ncpu;
	if (!ncpu)
		ncpu = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
	uint64_t now = nk_now_ns(), prev_ns = s->prev_ns;
	out->is_vm = s->vm_pid > 0;
	out->kvm_exit_rate = -1;
	if (out->is_vm) {
		/* The VMM lives in the instance's cgroup (core/vm-sandbox.c); a monitor that is
		 * not in one is measured from /proc. */
		nk_cgroup_reader_read(&s->rd, &out->cg);
		if (!(out->cg.have & NK_STAT_CPU) || !(out->cg.have & NK_STAT_MEM))
			sample_vmm(s, out);
		out->kvm_exits = kvm_exits(s);
		if (prev_ns && now > prev_ns && out->kvm_exits >= s->prev_exits)
			out->kvm_exit_rate = (double)(out->kvm_exits - s->prev_exits) / ((double)(now - prev_ns) / 1e9);
		s->prev_exits = out->kvm_exits;
	} else {
		nk_cgroup_reader_read(&s->rd, &out->cg);
	}
	out->cpu_percent = out->cpu_host_percent = -1;
	out->io_read_rate = out->io_write_rate = -1;
	if (s->have_prev && now > s->prev_ns) {
		double secs = (double)(now - s->prev_ns) / 1e9;
		if (out->cg.have & NK_STAT_CPU) {
			out->cpu_percent = rate(out->cg.cpu_usage_ns, s->prev_cpu_ns, secs) / 1e9 * 100.0;
			out->cpu_host_percent = out->cpu_percent / (double)ncpu;
		}
		if (out->cg.have & NK_STAT_IO) {
			out->io_read_rate = rate(out->cg.io_read_bytes, s->prev_io_r, secs);
			out->io_write_rate = rate(out->cg.io_write_bytes, s->prev_io_w, secs);
		}
	}
	s->have_prev = 1;
	s->prev_ns = now;
	s->prev_cpu_ns = out->cg.cpu_usage_ns;
	s->prev_io_r = out->cg.io_read_bytes;
	s->prev_io_w = out->cg.io_write_bytes;
	out->uptime_s = s->started_at ? nk_wall_time_s() - s->started_at : 0;
	struct nk_link_stats ls;
	struct nk_err err;
	out->have_net = 0;
	out->net_rx_rate = out->net_tx_rate = -1;
	if (s->nl && nk_stats_read(s->nl, 0, s->host_if, &ls, &err) == 0) {
		/* The host end sees the container's traffic mirrored. */
		out->have_net = 1;
		out->net_rx_bytes = ls.tx_bytes;
		out->net_tx_bytes = ls.rx_bytes;
		out->net_rx_packets = ls.tx_packets;
		out->net_tx_packets = ls.rx_packets;
		double secs = (double)(now - prev_ns) / 1e9;
		if (prev_ns && (s->prev_rx || s->prev_tx)) {
			out->net_rx_rate = rate(out->net_rx_bytes, s->prev_rx, secs);
			out->net_tx_rate = rate(out->net_tx_bytes, s->prev_tx, secs);
		}
		s->prev_rx = out->net_rx_bytes;
		s->prev_tx = out->net_tx_bytes;
	}
}

void nk_stats_close(struct nk_stats_sampler *s)
{
	nk_cgroup_reader_close(&s->rd);
	if (s->nl)
		nk_nl_close(s->nl);
	s->nl = NULL;
}
