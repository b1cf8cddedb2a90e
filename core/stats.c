/* Live usage of running instances: cgroup counters turned into rates between samples. */
#include "stats.h"

#include <errno.h>
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
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status != NK_RUNNING && info.state.status != NK_PAUSED)
		return nk_err_msg(err, EINVAL, "%s is not running (it is %s)", name, nk_status_name(info.state.status));
	if ((r = nk_cgroup_init(&s->cg, paths, name, err)) < 0)
		return r;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->started_at = info.state.started_at;
	snprintf(s->host_if, sizeof(s->host_if), "%s", info.state.host_if);
	if (s->host_if[0] && nk_nl_open(&s->nl, err) < 0)
		s->nl = NULL; /* no traffic figures, the rest still works */
	nk_cgroup_reader_open(&s->cg, &s->rd);
	return 0;
}

static double rate(uint64_t now, uint64_t before, double seconds)
{
	return now >= before && seconds > 0 ? (double)(now - before) / seconds : 0;
}

void nk_stats_sample(struct nk_stats_sampler *s, struct nk_stats *out)
{
	static long ncpu;
	if (!ncpu)
		ncpu = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
	uint64_t now = nk_now_ns(), prev_ns = s->prev_ns;
	nk_cgroup_reader_read(&s->rd, &out->cg);
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
