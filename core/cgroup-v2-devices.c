/* Device rules on cgroup v2: there is no devices.allow file, only an eBPF program of type
 * CGROUP_DEVICE attached to the group, asked about every open and mknod of a device node.
 * nook writes that program itself: one short block per rule, tried from the last rule to
 * the first (in OCI order a later rule overrides an earlier one), default deny. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "spec.h"
#include "util.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define AND_IMM(d, i) INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, i)
#define RSH_IMM(d, i) INSN(BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, i)
#define JNE_IMM(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* r2 = device type, r3 = requested access, r4 = major, r5 = minor. */
enum { R_CTX = 1, R_TYPE, R_ACCESS, R_MAJOR, R_MINOR, R_TMP };

static unsigned access_bits(const char *access)
{
	unsigned bits = 0;
	for (const char *p = access; *p; p++)
		bits |= *p == 'r' ? BPF_DEVCG_ACC_READ : *p == 'w' ? BPF_DEVCG_ACC_WRITE : *p == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
	return bits;
}

/* One rule: checks that jump past the block when they fail, then "return allow". */
static size_t rule_block(const struct nk_device_rule *r, struct bpf_insn *b)
{
	size_t n = 0;
	unsigned all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
	unsigned acc = access_bits(r->access);
	size_t jumps[4], nj = 0;
	if (r->type != 'a') {
		jumps[nj++] = n;
		b[n++] = JNE_IMM(R_TYPE, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
	}
	if (acc != all) {
		/* The access asked for must lie within the rule's. */
		b[n++] = MOV_REG(R_TMP, R_ACCESS);
		b[n++] = AND_IMM(R_TMP, (int)(~acc & all));
		jumps[nj++] = n;
		b[n++] = JNE_IMM(R_TMP, 0, 0);
	}
	if (r->type != 'a' && r->major >= 0) {
		jumps[nj++] = n;
		b[n++] = JNE_IMM(R_MAJOR, (int)r->major, 0);
	}
	if (r->type != 'a' && r->minor >= 0) {
		jumps[nj++] = n;
		b[n++] = JNE_IMM(R_MINOR, (int)r->minor, 0);
	}
	b[n++] = MOV_IMM(0, r->allow ? 1 : 0);
	b[n++] = EXIT();
	for (size_t i = 0; i < nj; i++)
		b[jumps[i]].off = (short)(n - jumps[i] - 1);
	return n;
}

int nk_cgroup_v2_device_prog(const struct nk_device_rule *rules, size_t n, struct bpf_insn *out, size_t max)
{
	/* Worst case per rule: 9 instructions; the prologue 6, the default 2. */
	if (max < 8 + 9 * n)
		return -E2BIG;
	size_t k = 0;
	out[k++] = LDX_W(R_TYPE, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	out[k++] = AND_IMM(R_TYPE, 0xffff);
	out[k++] = LDX_W(R_ACCESS, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	out[k++] = RSH_IMM(R_ACCESS, 16);
	out[k++] = LDX_W(R_MAJOR, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, major));
	out[k++] = LDX_W(R_MINOR, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, minor));
	for (size_t i = n; i-- > 0;) {
		size_t len = rule_block(&rules[i], out + k);
		k += len;
		/* A rule that matches everything decides alone: nothing after it is reachable,
		 * and the verifier refuses unreachable code. */
		if (len == 2)
			return (int)k;
	}
	out[k++] = MOV_IMM(0, 0);
	out[k++] = EXIT();
	return (int)k;
}

int nk_cgroup_v2_attach_devices(const char *dir, const struct nk_device_rule *rules, size_t n, struct nk_err *err)
{
	size_t max = 8 + 9 * n;
	nk_autofree struct bpf_insn *prog = calloc(max, sizeof(*prog));
	if (!prog)
		return nk_err_set(err, ENOMEM, "device rules");
	int len = nk_cgroup_v2_device_prog(rules, n, prog, max);
	if (len < 0)
		return nk_err_set(err, -len, "device rules");
	char log[4096] = "";
	union bpf_attr load;
	memset(&load, 0, sizeof(load));
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)prog;
	load.insn_cnt = (uint32_t)len;
	load.license = (uint64_t)(uintptr_t) "GPL";
	load.log_buf = (uint64_t)(uintptr_t)log;
	load.log_size = sizeof(log);
	load.log_level = 1;
	nk_autoclose int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (prog_fd < 0)
		return nk_err_set(err, errno, "the kernel refused the device rules' eBPF program%s%s", log[0] ? ": " : "", log);
	nk_autoclose int cg_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return nk_err_set(err, errno, "cannot open cgroup %s", dir);
	union bpf_attr attach;
	memset(&attach, 0, sizeof(attach));
	attach.target_fd = (uint32_t)cg_fd;
	attach.attach_bpf_fd = (uint32_t)prog_fd;
	attach.attach_type = BPF_CGROUP_DEVICE;
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) < 0)
		return nk_err_set(err, errno, "cannot attach the device rules to cgroup %s", dir);
	/* The attachment holds the program; it goes with the group. */
	return 0;
}
