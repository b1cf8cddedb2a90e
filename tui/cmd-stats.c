/* `nook stats [--no-stream] [--json] [NAME...]`: live usage, like `docker stats`. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/instance.h"
#include "core/stats.h"
#include "tui/cmd.h"

#define MAX_SAMPLERS 512

struct stats_ctx {
	struct nk_cli *cli;
	struct nk_stats_sampler s[MAX_SAMPLERS];
	int open[MAX_SAMPLERS];
	int n;
};

static void human(uint64_t v, char *buf, size_t size)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double d = (double)v;
	int u = 0;
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f%s" : "%.0f%s", d, units[u]);
}

static void add(struct stats_ctx *ctx, const char *name)
{
	for (int i = 0; i < ctx->n; i++)
		if (ctx->open[i] && !strcmp(ctx->s[i].name, name))
			return;
	if (ctx->n >= MAX_SAMPLERS)
		return;
	struct nk_err err;
	if (nk_stats_open(&ctx->cli->paths, name, &ctx->s[ctx->n], &err) == 0)
		ctx->open[ctx->n++] = 1;
}

static void add_running(const struct nk_instance_info *info, void *opaque)
{
	if (info->state.status == NK_RUNNING || info->state.status == NK_PAUSED)
		add(opaque, info->name);
}

static void print_table(struct stats_ctx *ctx, struct nk_stats *st)
{
	printf("%-24s %7s %6s %21s %6s %10s %11s %15s %19s %5s %9s\n", "NAME", "CPU%", "HOST%",
	       "MEM USAGE / LIMIT", "MEM%", "MEM PEAK", "PIDS", "IO R/W /s", "NET RX/TX /s", "OOM", "THROTTLED");
	for (int i = 0; i < ctx->n; i++) {
		const struct nk_stats *x = &st[i];
		char cpu[16] = "-", host[16] = "-", mem[48] = "-", memp[16] = "-", peak[16] = "-", pids[24] = "-",
		     io[48] = "-", net[48] = "-", oom[16] = "-", thr[16] = "-", a[16], b[16];
		if (x->cpu_percent >= 0) {
			snprintf(cpu, sizeof(cpu), "%.1f", x->cpu_percent);
			snprintf(host, sizeof(host), "%.1f", x->cpu_host_percent);
		}
		if (x->cg.have & NK_STAT_MEM) {
			human(x->cg.mem_current, a, sizeof(a));
			if (x->cg.mem_limit == NK_UNLIMITED)
				snprintf(b, sizeof(b), "none");
			else
				human(x->cg.mem_limit, b, sizeof(b));
			snprintf(mem, sizeof(mem), "%s / %s", a, b);
			if (x->cg.mem_limit != NK_UNLIMITED && x->cg.mem_limit)
				snprintf(memp, sizeof(memp), "%.1f", 100.0 * (double)x->cg.mem_current / (double)x->cg.mem_limit);
		}
		if (x->cg.have & NK_STAT_MEM_PEAK)
			human(x->cg.mem_peak, peak, sizeof(peak));
		if (x->cg.have & NK_STAT_PIDS) {
			if (x->cg.pids_limit == NK_UNLIMITED)
				snprintf(pids, sizeof(pids), "%llu", (unsigned long long)x->cg.pids_current);
			else
				snprintf(pids, sizeof(pids), "%llu/%llu", (unsigned long long)x->cg.pids_current,
					 (unsigned long long)x->cg.pids_limit);
		}
		if (x->io_read_rate >= 0) {
			human((uint64_t)x->io_read_rate, a, sizeof(a));
			human((uint64_t)x->io_write_rate, b, sizeof(b));
			snprintf(io, sizeof(io), "%s/%s", a, b);
		}
		if (x->have_net && x->net_rx_rate >= 0) {
			human((uint64_t)x->net_rx_rate, a, sizeof(a));
			human((uint64_t)x->net_tx_rate, b, sizeof(b));
			snprintf(net, sizeof(net), "%s/%s", a, b);
		}
		if (x->cg.have & NK_STAT_OOM)
			snprintf(oom, sizeof(oom), "%llu", (unsigned long long)x->cg.oom_kills);
		if (x->cg.have & NK_STAT_THROTTLE)
			snprintf(thr, sizeof(thr), "%llu", (unsigned long long)x->cg.cpu_throttled_periods);
		printf("%-24s %7s %6s %21s %6s %10s %11s %15s %19s %5s %9s\n", ctx->s[i].name, cpu, host, mem, memp,
		       peak, pids, io, net, oom, thr);
	}
}

static void print_json(struct stats_ctx *ctx, struct nk_stats *st)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i < ctx->n; i++) {
		const struct nk_stats *x = &st[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(ctx->s[i].name));
#define ADD_U64(key, bit, field) \
	json_object_object_add(o, key, (x->cg.have & (bit)) && x->cg.field != NK_UNLIMITED \
					       ? json_object_new_uint64(x->cg.field) : NULL)
		ADD_U64("cpu_usage_ns", NK_STAT_CPU, cpu_usage_ns);
		json_object_object_add(o, "cpu_percent", x->cpu_percent >= 0 ? json_object_new_double(x->cpu_percent) : NULL);
		json_object_object_add(o, "cpu_host_percent",
				       x->cpu_percent >= 0 ? json_object_new_double(x->cpu_host_percent) : NULL);
		ADD_U64("memory_bytes", NK_STAT_MEM, mem_current);
		ADD_U64("memory_limit_bytes", NK_STAT_MEM, mem_limit);
		ADD_U64("memory_peak_bytes", NK_STAT_MEM_PEAK, mem_peak);
		ADD_U64("pids", NK_STAT_PIDS, pids_current);
		ADD_U64("pids_limit", NK_STAT_PIDS, pids_limit);
		ADD_U64("io_read_bytes", NK_STAT_IO, io_read_bytes);
		ADD_U64("io_write_bytes", NK_STAT_IO, io_write_bytes);
		ADD_U64("oom_kills", NK_STAT_OOM, oom_kills);
		ADD_U64("cpu_throttled_periods", NK_STAT_THROTTLE, cpu_throttled_periods);
		ADD_U64("cpu_throttled_ns", NK_STAT_THROTTLE, cpu_throttled_ns);
#undef ADD_U64
		json_object_object_add(o, "io_read_rate", x->io_read_rate >= 0 ? json_object_new_double(x->io_read_rate) : NULL);
		json_object_object_add(o, "io_write_rate", x->io_write_rate >= 0 ? json_object_new_double(x->io_write_rate) : NULL);
		json_object_object_add(o, "uptime_s", json_object_new_int64(x->uptime_s));
		json_object_object_add(o, "kind", json_object_new_string(x->is_vm ? "vm" : "container"));
		if (x->is_vm) {
			json_object_object_add(o, "kvm_exits", json_object_new_uint64(x->kvm_exits));
			json_object_object_add(o, "kvm_exit_rate",
					       x->kvm_exit_rate >= 0 ? json_object_new_double(x->kvm_exit_rate) : NULL);
		}
		if (x->have_net) {
			json_object_object_add(o, "net_rx_bytes", json_object_new_uint64(x->net_rx_bytes));
			json_object_object_add(o, "net_tx_bytes", json_object_new_uint64(x->net_tx_bytes));
			json_object_object_add(o, "net_rx_packets", json_object_new_uint64(x->net_rx_packets));
			json_object_object_add(o, "net_tx_packets", json_object_new_uint64(x->net_tx_packets));
			json_object_object_add(o, "net_rx_rate", x->net_rx_rate >= 0 ? json_object_new_double(x->net_rx_rate) : NULL);
			json_object_object_add(o, "net_tx_rate", x->net_tx_rate >= 0 ? json_object_new_double(x->net_tx_rate) : NULL);
		}
		json_object_array_add(a, o);
	}
	printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY));
	json_object_put(a);
}

static void sample_all(struct stats_ctx *ctx, struct nk_stats *st)
{
	for (int i = 0; i < ctx->n; i++)
		nk_stats_sample(&ctx->s[i], &st[i]);
}

int nk_cmd_stats(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("stats");
	enum { OPT_NO_STREAM = 256, OPT_JSON };
	static const struct option longopts[] = {
	    {"no-stream", no_argument, NULL, OPT_NO_STREAM}, {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0}};
	int stream = 1, json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (c == OPT_NO_STREAM)
			stream = 0;
		else if (c == OPT_JSON)
			json = 1, stream = 0;
		else
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	static struct stats_ctx ctx;
	static struct nk_stats st[MAX_SAMPLERS];
	ctx.cli = cli;
	int named = optind < argc;
	for (int i = optind; i < argc; i++) {
		struct nk_stats_sampler *s = &ctx.s[ctx.n];
		if (ctx.n >= MAX_SAMPLERS || nk_stats_open(&cli->paths, argv[i], s, &cli->err) < 0)
			return nk_cli_fail(cli);
		ctx.open[ctx.n++] = 1;
	}
	if (!named && nk_inst_list(&cli->paths, add_running, &ctx, &cli->err) < 0)
		return nk_cli_fail(cli);
	/* CPU% is a rate: it needs two samples. */
	sample_all(&ctx, st);
	usleep(stream ? 1000000 : 500000);
	for (;;) {
		sample_all(&ctx, st);
		if (json)
			print_json(&ctx, st);
		else {
			if (stream && isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");
			print_table(&ctx, st);
		}
		fflush(stdout);
		if (!stream)
			break;
		if (!named && nk_inst_list(&cli->paths, add_running, &ctx, &cli->err) == 0) {
			/* newcomers get their first sample now and show a rate next time */
		}
		usleep(1000000);
	}
	for (int i = 0; i < ctx.n; i++)
		nk_stats_close(&ctx.s[i]);
	return 0;
}
