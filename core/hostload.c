/* How busy the host is: /proc/stat and /proc/meminfo, kept open and re-read with pread. */
#include "hostload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "util.h"

int nk_host_load_open(struct nk_host_load *h, struct nk_err *err)
{
	memset(h, 0, sizeof(*h));
	h->stat_fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	h->mem_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (h->stat_fd < 0 || h->mem_fd < 0) {
		int e = errno;
		nk_host_load_close(h);
		return nk_err_set(err, e, "cannot read the host's load from /proc");
	}
	return 0;
}

static ssize_t read_at0(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static uint64_t meminfo_kib(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

void nk_host_load_sample(struct nk_host_load *h, struct nk_host_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->cpu_percent = -1;
	char buf[4096];
	/* The first line sums every CPU: user nice system idle iowait irq softirq steal. */
	if (h->stat_fd >= 0 && read_at0(h->stat_fd, buf, sizeof(buf)) > 0 && !strncmp(buf, "cpu ", 4)) {
		uint64_t v[8] = {0}, total = 0;
		char *p = buf + 4;
		for (int i = 0; i < 8; i++) {
			v[i] = strtoull(p, &p, 10);
			total += v[i];
		}
		uint64_t busy = total - v[3] - v[4];
		if (h->have_prev && total > h->prev_total && busy >= h->prev_busy)
			out->cpu_percent = 100.0 * (double)(busy - h->prev_busy) / (double)(total - h->prev_total);
		h->prev_busy = busy;
		h->prev_total = total;
		h->have_prev = 1;
	}
	if (h->mem_fd >= 0 && read_at0(h->mem_fd, buf, sizeof(buf)) > 0) {
		out->mem_total = meminfo_kib(buf, "MemTotal:") * 1024;
		out->mem_available = meminfo_kib(buf, "MemAvailable:") * 1024;
	}
	struct sysinfo si;
	if (sysinfo(&si) == 0)
		out->load1 = (double)si.loads[0] / (double)(1 << SI_LOAD_SHIFT);
}

void nk_host_load_close(struct nk_host_load *h)
{
	nk_closep(&h->stat_fd);
	nk_closep(&h->mem_fd);
}
