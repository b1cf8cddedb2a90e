/* Resource limits: parsed from what users type, checked against the host. */
#include "resources.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "util.h"

#define MIN_MEMORY (4ull * 1024 * 1024)

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int nk_limits_set_memory(struct nk_limits *l, const char *s, struct nk_err *err)
{
	uint64_t v;
	int r = nk_size_parse(s, &v, err);
	if (r < 0)
		return nk_err_prefix(err, "--memory");
	if (v < MIN_MEMORY)
		return nk_err_msg(err, EINVAL, "--memory %s is too small: give at least 4M", s);
	l->memory = v;
	return 0;
}

int nk_limits_set_memory_swap(struct nk_limits *l, const char *s, struct nk_err *err)
{
	if (s && !strcmp(s, "-1")) {
		l->memory_swap = NK_UNLIMITED;
		return 0;
	}
	uint64_t v;
	int r = nk_size_parse(s, &v, err);
	if (r < 0)
		return nk_err_prefix(err, "--memory-swap (memory plus swap, or -1 for unlimited)");
	if (v < MIN_MEMORY)
		return nk_err_msg(err, EINVAL, "--memory-swap %s is too small: it counts memory plus swap", s);
	l->memory_swap = v;
	return 0;
}

int nk_limits_set_cpus(struct nk_limits *l, const char *s, struct nk_err *err)
{
	char *end;
	errno = 0;
	double v = s && *s ? strtod(s, &end) : 0;
	if (!s || !*s || errno || *end || !isfinite(v) || v <= 0)
		return nk_err_msg(err, EINVAL, "invalid --cpus '%s': give a positive number like 0.5 or 2",
				  s ? s : "");
	int n = online_cpus();
	if (v > n)
		return nk_err_msg(err, EINVAL, "--cpus %s is more than this host's %d CPUs", s, n);
	uint64_t quota = (uint64_t)(v * NK_CPU_PERIOD_US + 0.5);
	if (quota < 1000)
		return nk_err_msg(err, EINVAL, "--cpus %s is too small: give at least 0.01", s);
	l->cpu_quota_us = quota;
	return 0;
}

int nk_cpuset_check(const char *list, int ncpus, struct nk_err *err)
{
	if (!list || !*list)
		return nk_err_msg(err, EINVAL, "empty --cpuset-cpus: give CPUs like 0-1,3");
	const char *p = list;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return nk_err_msg(err, EINVAL, "invalid --cpuset-cpus '%s': give CPUs like 0-1,3", list);
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return nk_err_msg(err, EINVAL, "invalid --cpuset-cpus '%s': a range needs an end",
						  list);
			b = strtol(end + 1, &end, 10);
		}
		if (b < a)
			return nk_err_msg(err, EINVAL, "invalid --cpuset-cpus '%s': range %ld-%ld runs backwards",
					  list, a, b);
		if (b >= ncpus)
			return nk_err_msg(err, EINVAL, "--cpuset-cpus '%s' names CPU %ld; this host has CPUs 0-%d",
					  list, b, ncpus - 1);
		if (*end == ',' && end[1] != '\0')
			end++;
		else if (*end != '\0')
			return nk_err_msg(err, EINVAL, "invalid --cpuset-cpus '%s': give CPUs like 0-1,3", list);
		p = end;
	}
	return 0;
}

int nk_limits_set_cpuset(struct nk_limits *l, const char *s, struct nk_err *err)
{
	int r = nk_cpuset_check(s, online_cpus(), err);
	if (r < 0)
		return r;
	if (nk_fmt(l->cpuset, sizeof(l->cpuset), "%s", s) < 0)
		return nk_err_msg(err, EINVAL, "--cpuset-cpus '%s' is too long", s);
	return 0;
}

static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int nk_limits_set_pids(struct nk_limits *l, const char *s, struct nk_err *err)
{
	if (s && !strcmp(s, "-1")) {
		l->pids = NK_UNLIMITED;
		return 0;
	}
	if (parse_uint(s, 1, 4194304, &l->pids) < 0)
		return nk_err_msg(err, EINVAL, "invalid --pids '%s': give a number of processes from 1, or -1",
				  s ? s : "");
	return 0;
}

static int set_weight(uint32_t *out, const char *flag, const char *s, struct nk_err *err)
{
	uint64_t v;
	if (parse_uint(s, 1, 10000, &v) < 0)
		return nk_err_msg(err, EINVAL, "invalid %s '%s': give a weight from 1 to 10000 (100 is the default)",
				  flag, s ? s : "");
	*out = (uint32_t)v;
	return 0;
}

int nk_limits_set_cpu_weight(struct nk_limits *l, const char *s, struct nk_err *err)
{
	return set_weight(&l->cpu_weight, "--cpu-weight", s, err);
}

int nk_limits_set_io_weight(struct nk_limits *l, const char *s, struct nk_err *err)
{
	return set_weight(&l->io_weight, "--io-weight", s, err);
}

int nk_limits_check(const struct nk_limits *l, struct nk_err *err)
{
	if (l->memory_swap && l->memory_swap != NK_UNLIMITED) {
		if (!l->memory)
			return nk_err_msg(err, EINVAL, "--memory-swap needs --memory as well");
		if (l->memory_swap < l->memory)
			return nk_err_msg(err, EINVAL,
					  "--memory-swap must be at least --memory: it counts memory plus swap");
	}
	return 0;
}

/* The OCI/runc conversions (rounded, so a weight survives the round trip through
 * config.json's v1 units), so both layouts see the same relative weight. */
uint64_t nk_weight_to_shares(uint32_t weight)
{
	return 2 + ((uint64_t)(weight - 1) * 262142 + 9999 / 2) / 9999;
}

uint32_t nk_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return (uint32_t)(1 + ((shares - 2) * 9999 + 262142 / 2) / 262142);
}

uint32_t nk_weight_to_blkio(uint32_t weight)
{
	return 10 + (uint32_t)(((uint64_t)(weight - 1) * 990 + 9999 / 2) / 9999);
}

uint32_t nk_blkio_to_weight(uint32_t blkio)
{
	if (blkio < 10)
		blkio = 10;
	if (blkio > 1000)
		blkio = 1000;
	return 1 + (uint32_t)(((uint64_t)(blkio - 10) * 9999 + 990 / 2) / 990);
}
