/* cgroup v2 device rules: the eBPF program nook writes passes the kernel's verifier and,
 * attached to a real cgroup2 group, lets a process open exactly the allowed devices.
 * Runs on any cgroup2 mount (on a v1/v2 hybrid host, the unified one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/spec.h"
#include "core/util.h"

static const struct nk_device_rule podman_like[] = {
    {0, 'a', -1, -1, "rwm"}, /* deny everything, then the usual devices back */
    {1, 'c', 1, 3, "rwm"},   /* /dev/null */
    {1, 'c', 1, 5, "r"},     /* /dev/zero, read only */
    {1, 'c', 136, -1, "rw"}, /* any pts */
};

static void program_shape(void **state)
{
	(void)state;
	struct bpf_insn prog[64];
	assert_int_equal(nk_cgroup_v2_device_prog(podman_like, 4, prog, 8), -E2BIG);
	int n = nk_cgroup_v2_device_prog(podman_like, 4, prog, NK_ARRAY_SIZE(prog));
	assert_true(n > 8);
	/* Ends in the deny-all rule (which makes a default unreachable); every jump lands
	 * inside the program. */
	assert_int_equal(prog[n - 1].code, BPF_JMP | BPF_EXIT);
	assert_int_equal(prog[n - 2].imm, 0);
	const struct nk_device_rule allow_null = {1, 'c', 1, 3, "rwm"};
	int m = nk_cgroup_v2_device_prog(&allow_null, 1, prog, NK_ARRAY_SIZE(prog));
	assert_int_equal(prog[m - 2].imm, 0); /* default deny after the one rule */
	assert_int_equal(prog[m - 4].imm, 1);
	for (int i = 0; i < n; i++)
		if (BPF_CLASS(prog[i].code) == BPF_JMP && BPF_OP(prog[i].code) != BPF_EXIT)
			assert_true(i + 1 + prog[i].off < n);
}

/* The cgroup2 mount: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid. */
static int cgroup2_mount(char *out, size_t size)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int found = 0;
	while (f && !found && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2"))
			found = snprintf(out, size, "%s", m->mnt_dir) > 0;
	if (f)
		endmntent(f);
	return found;
}

/* In a child moved into the group: which opens succeed. Bit 0 /dev/null rw, 1 /dev/zero r,
 * 2 /dev/zero w refused, 3 /dev/full refused. */
static int probe(const char *procs)
{
	pid_t pid = fork();
	if (pid == 0) {
		char me[16];
		snprintf(me, sizeof(me), "%d", (int)getpid());
		if (nk_write_str(procs, me) < 0)
			_exit(100);
		int bits = 0, fd;
		if ((fd = open("/dev/null", O_RDWR)) >= 0 && close(fd) == 0)
			bits |= 1;
		if ((fd = open("/dev/zero", O_RDONLY)) >= 0 && close(fd) == 0)
			bits |= 2;
		if (open("/dev/zero", O_WRONLY) < 0 && errno == EPERM)
			bits |= 4;
		if (open("/dev/full", O_RDONLY) < 0 && errno == EPERM)
			bits |= 8;
		_exit(bits);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void rules_are_enforced(void **state)
{
	(void)state;
	char mnt[256], dir[512], procs[600];
	if (!cgroup2_mount(mnt, sizeof(mnt))) {
		/* Every Linux with cgroups since 4.5 mounts one; say so rather than pass quietly. */
		fail_msg("no cgroup2 mount on this host: cannot check device rules");
	}
	snprintf(dir, sizeof(dir), "%s/nook-test-devices-%d", mnt, (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	struct nk_err err = {0};
	int r = nk_cgroup_v2_attach_devices(dir, podman_like, 4, &err);
	int bits = r == 0 ? probe(procs) : -1;
	rmdir(dir);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(bits, 1 | 2 | 4 | 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(program_shape),
	    cmocka_unit_test(rules_are_enforced),
	};
	return cmocka_run_group_tests_name("cgroup v2 devices", tests, NULL, NULL);
}
