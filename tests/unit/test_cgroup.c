/* Unit tests for the cgroup layer: file parsers on recorded v1 and v2 contents, and both
 * backends driven against a copy of their layout in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/util.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data/cgroup"
#endif

static char *recorded(const char *layout, const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), DATA_DIR "/%s/%s", layout, file);
	char *buf = NULL;
	struct nk_err err;
	assert_int_equal(nk_read_file(path, &buf, NULL, &err), 0);
	return buf;
}

static uint64_t u64_of(const char *layout, const char *file)
{
	nk_autofree char *b = recorded(layout, file);
	uint64_t v;
	assert_int_equal(nk_cg_parse_u64(b, &v), 0);
	return v;
}

static void parse_v1_files(void **state)
{
	(void)state;
	assert_true(u64_of("v1", "cpuacct.usage") == 779925174ull);
	assert_true(u64_of("v1", "memory.usage_in_bytes") == 21782528ull);
	assert_true(u64_of("v1", "memory.max_usage_in_bytes") == 23302144ull);
	assert_true(u64_of("v1", "memory.limit_in_bytes") == 64ull << 20);
	assert_true(u64_of("v1", "memory.limit_in_bytes.unlimited") == NK_UNLIMITED);
	assert_true(u64_of("v1", "pids.current") == 2);
	assert_true(u64_of("v1", "pids.max") == 50);
	nk_autofree char *cpu = recorded("v1", "cpu.stat");
	uint64_t v;
	assert_int_equal(nk_cg_parse_keyed(cpu, "nr_throttled", &v), 0);
	assert_true(v == 14);
	assert_int_equal(nk_cg_parse_keyed(cpu, "throttled_time", &v), 0);
	assert_true(v == 686994733ull);
	/* A key that is a prefix of another must not match it. */
	assert_int_equal(nk_cg_parse_keyed(cpu, "nr", &v), -ENOENT);
	nk_autofree char *oom = recorded("v1", "memory.oom_control");
	assert_int_equal(nk_cg_parse_keyed(oom, "oom_kill", &v), 0);
	assert_true(v == 0);
	uint64_t r, w;
	nk_autofree char *empty = recorded("v1", "blkio.throttle.io_service_bytes_recursive");
	assert_int_equal(nk_cg_parse_blkio(empty, &r, &w), 0);
	assert_true(r == 0 && w == 0);
	nk_autofree char *dev = recorded("v1", "blkio.devices");
	assert_int_equal(nk_cg_parse_blkio(dev, &r, &w), 0);
	assert_true(r == 4096 + 8192);
	assert_true(w == 20971520ull);
}

static void parse_v2_files(void **state)
{
	(void)state;
	uint64_t v, r, w, q, p;
	nk_autofree char *cpu = recorded("v2", "cpu.stat");
	assert_int_equal(nk_cg_parse_keyed(cpu, "usage_usec", &v), 0);
	assert_true(v == 1523412);
	assert_int_equal(nk_cg_parse_keyed(cpu, "throttled_usec", &v), 0);
	assert_true(v == 1044123);
	assert_true(u64_of("v2", "memory.current") == 5423104);
	assert_true(u64_of("v2", "memory.peak") == 8388608);
	assert_true(u64_of("v2", "memory.max") == 64ull << 20);
	assert_true(u64_of("v2", "memory.max.unlimited") == NK_UNLIMITED);
	nk_autofree char *events = recorded("v2", "memory.events");
	assert_int_equal(nk_cg_parse_keyed(events, "oom_kill", &v), 0);
	assert_true(v == 1);
	assert_int_equal(nk_cg_parse_keyed(events, "oom", &v), 0); /* not oom_kill's line */
	assert_true(v == 1);
	assert_int_equal(nk_cg_parse_keyed(events, "max", &v), 0);
	assert_true(v == 12);
	nk_autofree char *io = recorded("v2", "io.stat");
	assert_int_equal(nk_cg_parse_io_stat(io, &r, &w), 0);
	assert_true(r == 4096 + 8192);
	assert_true(w == 20971520ull); /* dbytes (discards) are not writes */
	nk_autofree char *cmax = recorded("v2", "cpu.max");
	assert_int_equal(nk_cg_parse_cpu_max(cmax, &q, &p), 0);
	assert_true(q == 50000 && p == 100000);
	assert_int_equal(nk_cg_parse_cpu_max("max 100000\n", &q, &p), 0);
	assert_true(q == NK_UNLIMITED && p == 100000);
}

static void parse_garbage(void **state)
{
	(void)state;
	uint64_t v, r, w, q, p;
	const char *bad[] = {"", "abc", "-1", "12abc", "maximum", " \n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(nk_cg_parse_u64(bad[i], &v) < 0);
	assert_int_equal(nk_cg_parse_keyed("a 1\nb x\n", "b", &v), -EINVAL);
	assert_int_equal(nk_cg_parse_io_stat("8:0 rbytes=zz", &r, &w), -EINVAL);
	assert_int_equal(nk_cg_parse_io_stat("", &r, &w), 0);
	assert_true(nk_cg_parse_cpu_max("50000", &q, &p) < 0);
	assert_int_equal(nk_cg_parse_blkio("8:0 Read x\n", &r, &w), -EINVAL);
}

/* A temporary directory laid out like a cgroup mount, with recorded files in place. */
static void copy_into(const char *layout, const char *file, const char *dir, const char *as)
{
	nk_autofree char *b = recorded(layout, file);
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, as ? as : file);
	struct nk_err err;
	assert_int_equal(nk_write_file_atomic(path, b, strlen(b), 0644, &err), 0);
}

static void touch(const char *dir, const char *file)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void read_back(const char *dir, const char *file, char *buf, size_t size)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY);
	assert_true(nk_cgroup_pread(fd, buf, size) >= 0);
	close(fd);
}

static void v2_backend_on_recorded_tree(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/nook-cg-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct nk_cgroup cg = {.ops = &nk_cgroup_v2_ops};
	snprintf(cg.mount, sizeof(cg.mount), "%s", tmpl);
	snprintf(cg.relpath, sizeof(cg.relpath), "nook/box");
	struct nk_err err;
	char grp[1024];
	snprintf(grp, sizeof(grp), "%s/nook/box", tmpl);
	assert_int_equal(nk_mkdir_p(grp, 0755, &err), 0);
	static const char *const files[] = {"cpu.stat", "memory.current", "memory.peak", "memory.max",
					    "memory.events", "pids.current", "pids.max", "io.stat", "cgroup.events"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		copy_into("v2", files[i], grp, NULL);

	struct nk_cgroup_reader rd;
	struct nk_cgroup_stats st;
	nk_cgroup_reader_open(&cg, &rd);
	nk_cgroup_reader_read(&rd, &st);
	nk_cgroup_reader_close(&rd);
	unsigned want = NK_STAT_CPU | NK_STAT_THROTTLE | NK_STAT_MEM | NK_STAT_MEM_PEAK | NK_STAT_PIDS | NK_STAT_IO |
			NK_STAT_OOM;
	assert_int_equal(st.have, want);
	assert_true(st.cpu_usage_ns == 1523412000ull);
	assert_true(st.cpu_throttled_periods == 25);
	assert_true(st.mem_current == 5423104 && st.mem_limit == 64ull << 20 && st.mem_peak == 8388608);
	assert_true(st.pids_current == 3 && st.pids_limit == 64);
	assert_true(st.io_read_bytes == 12288 && st.io_write_bytes == 20971520ull);
	assert_true(st.oom_kills == 1);

	/* Limits land in the v2 files, in v2 units. */
	static const char *const limit_files[] = {"memory.max", "memory.swap.max", "cpu.max", "cpu.weight",
						  "cpuset.cpus", "pids.max", "io.weight", "cgroup.freeze"};
	for (size_t i = 0; i < sizeof(limit_files) / sizeof(limit_files[0]); i++)
		touch(grp, limit_files[i]);
	struct nk_limits l = {.memory = 256ull << 20, .cpu_quota_us = 50000, .cpu_weight = 200, .pids = 64,
			      .io_weight = 300};
	snprintf(l.cpuset, sizeof(l.cpuset), "0");
	assert_int_equal(cg.ops->set_limits(&cg, &l, &err), 0);
	char buf[128];
	read_back(grp, "memory.max", buf, sizeof(buf));
	assert_string_equal(buf, "268435456");
	read_back(grp, "memory.swap.max", buf, sizeof(buf));
	assert_string_equal(buf, "0"); /* no swap beyond the memory limit */
	read_back(grp, "cpu.max", buf, sizeof(buf));
	assert_string_equal(buf, "50000 100000");
	read_back(grp, "cpu.weight", buf, sizeof(buf));
	assert_string_equal(buf, "200");
	read_back(grp, "pids.max", buf, sizeof(buf));
	assert_string_equal(buf, "64");
	read_back(grp, "io.weight", buf, sizeof(buf));
	assert_string_equal(buf, "default 300");
	assert_int_equal(cg.ops->freeze(&cg, 1, &err), 0); /* cgroup.events says frozen 1 */
	read_back(grp, "cgroup.freeze", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_int_equal(nk_rm_rf(tmpl, &err), 0);
}

static void v1_backend_on_recorded_tree(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/nook-cg1-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct nk_cgroup cg = {.ops = &nk_cgroup_v1_ops};
	snprintf(cg.mount, sizeof(cg.mount), "%s", tmpl);
	snprintf(cg.relpath, sizeof(cg.relpath), "nook/box");
	struct nk_err err;
	static const struct {
		const char *ctrl, *file, *as;
	} files[] = {{"cpuacct", "cpuacct.usage", NULL},
		     {"cpu", "cpu.stat", NULL},
		     {"memory", "memory.usage_in_bytes", NULL},
		     {"memory", "memory.max_usage_in_bytes", NULL},
		     {"memory", "memory.limit_in_bytes", NULL},
		     {"memory", "memory.oom_control", NULL},
		     {"pids", "pids.current", NULL},
		     {"pids", "pids.max", NULL},
		     {"blkio", "blkio.devices", "blkio.throttle.io_service_bytes_recursive"}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char grp[1024];
		snprintf(grp, sizeof(grp), "%s/%s/nook/box", tmpl, files[i].ctrl);
		assert_int_equal(nk_mkdir_p(grp, 0755, &err), 0);
		copy_into("v1", files[i].file, grp, files[i].as);
	}
	struct nk_cgroup_reader rd;
	struct nk_cgroup_stats st;
	nk_cgroup_reader_open(&cg, &rd);
	nk_cgroup_reader_read(&rd, &st);
	nk_cgroup_reader_close(&rd);
	assert_true(st.have & NK_STAT_CPU);
	assert_true(st.cpu_usage_ns == 779925174ull);
	assert_true(st.cpu_throttled_periods == 14 && st.cpu_periods == 15);
	assert_true(st.mem_current == 21782528ull && st.mem_limit == 64ull << 20 && st.mem_peak == 23302144ull);
	assert_true(st.pids_current == 2 && st.pids_limit == 50);
	assert_true(st.io_read_bytes == 12288 && st.io_write_bytes == 20971520ull);
	assert_true((st.have & NK_STAT_OOM) && st.oom_kills == 0);
	assert_int_equal(nk_rm_rf(tmpl, &err), 0);
}

static void weight_conversions(void **state)
{
	(void)state;
	assert_true(nk_weight_to_shares(1) == 2);
	assert_true(nk_weight_to_shares(10000) == 262144);
	assert_int_equal(nk_shares_to_weight(1024), 40);
	/* Every weight survives the trip through config.json's v1 units. */
	for (uint32_t w = 1; w <= 10000; w++)
		assert_int_equal(nk_shares_to_weight(nk_weight_to_shares(w)), w);
	assert_int_equal(nk_weight_to_blkio(1), 10);
	assert_int_equal(nk_weight_to_blkio(10000), 1000);
	assert_int_equal(nk_blkio_to_weight(10), 1);
	assert_int_equal(nk_blkio_to_weight(1000), 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_v1_files),
	    cmocka_unit_test(parse_v2_files),
	    cmocka_unit_test(parse_garbage),
	    cmocka_unit_test(v2_backend_on_recorded_tree),
	    cmocka_unit_test(v1_backend_on_recorded_tree),
	    cmocka_unit_test(weight_conversions),
	};
	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
