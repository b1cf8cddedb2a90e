/* Seccomp at run time: install a compiled filter, answer notifications, name and evaluate calls. */
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* Calls newer than Debian 12's libseccomp (2.5.4 knows Linux up to 6.7). Since Linux 5.1 a new
 * call gets the same number on every architecture libseccomp supports except MIPS, so one
 * number serves x86_64, i386 and aarch64 alike; uretprobe is the x86_64-only exception. */
static const struct {
	const char *name;
	int nr;
	uint32_t only_arch; /* 0: every architecture with the unified numbering */
} newer_calls[] = {
    {"statmount", 457, 0},         {"listmount", 458, 0},      {"lsm_get_self_attr", 459, 0},
    {"lsm_set_self_attr", 460, 0}, {"lsm_list_modules", 461, 0}, {"mseal", 462, 0},
    {"setxattrat", 463, 0},        {"getxattrat", 464, 0},     {"listxattrat", 465, 0},
    {"removexattrat", 466, 0},     {"open_tree_attr", 467, 0}, {"uretprobe", 335, AUDIT_ARCH_X86_64},
};

static int unified_numbering(uint32_t arch)
{
	switch (arch) {
	case AUDIT_ARCH_X86_64:
	case AUDIT_ARCH_I386:
	case AUDIT_ARCH_AARCH64:
	case AUDIT_ARCH_ARM:
	case AUDIT_ARCH_RISCV64:
	case AUDIT_ARCH_PPC64:
	case AUDIT_ARCH_PPC64LE:
	case AUDIT_ARCH_S390X:
		return 1;
	default:
		return 0;
	}
}

static int newer_nr(uint32_t arch, const char *name)
{
	if (!unified_numbering(arch))
		return -1;
	for (size_t i = 0; i < NK_ARRAY_SIZE(newer_calls); i++)
		if (!strcmp(newer_calls[i].name, name) &&
		    (!newer_calls[i].only_arch || newer_calls[i].only_arch == arch))
			return newer_calls[i].nr;
	return -1;
}

static const char *newer_name(uint32_t arch, int nr)
{
	if (!unified_numbering(arch))
		return NULL;
	for (size_t i = 0; i < NK_ARRAY_SIZE(newer_calls); i++)
		if (newer_calls[i].nr == nr && (!newer_calls[i].only_arch || newer_calls[i].only_arch == arch))
			return newer_calls[i].name;
	return NULL;
}

int nk_seccomp_syscall_nr(uint32_t arch, const char *name)
{
	if (!name || !*name)
		return -1;
	if (arch == 0)
		arch = seccomp_arch_native();
	int nr = seccomp_syscall_resolve_name_arch(arch, name);
	if (nr != __NR_SCMP_ERROR)
		return nr;
	return newer_nr(arch, name);
}

const char *nk_seccomp_syscall_name(uint32_t arch, int nr, char *buf, size_t size)
{
	if (!buf || size == 0)
		return "";
	if (arch == 0)
		arch = seccomp_arch_native();
	char *n = seccomp_syscall_resolve_num_arch(arch, nr);
	const char *known = n ? n : newer_name(arch, nr);
	if (known)
		snprintf(buf, size, "%s", known);
	else
		snprintf(buf, size, "syscall_%d", nr);
	free(n);
	return buf;
}

void nk_seccomp_prog_free(struct nk_seccomp_prog *prog)
{
	if (!prog)
		return;
	free(prog->filter);
	memset(prog, 0, sizeof(*prog));
}

int nk_seccomp_install(const struct nk_seccomp_prog *prog, int *listener_fd, struct nk_err *err)
{
	if (listener_fd)
		*listener_fd = -1;
	if (!prog || !prog->filter || prog->len == 0)
		return nk_err_msg(err, EINVAL, "no seccomp program to install");
	unsigned flags = prog->filter_flags;
	if (prog->has_notify) {
		if (!listener_fd)
			return nk_err_msg(err, EINVAL, "this seccomp program notifies: a listener is needed");
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	} else {
		/* The kernel accepts this flag only together with a listener. */
		flags &= ~(unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	}
	struct sock_fprog fprog = {.len = prog->len, .filter = prog->filter};
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	if (r < 0) {
		int e = errno;
		if (e == EACCES)
			return nk_err_msg(err, e, "cannot load the seccomp filter: set no_new_privs first");
		if (e == EINVAL && prog->has_notify)
			return nk_err_set(err, e, "cannot load the seccomp filter with a listener "
						  "(seccomp user notification needs Linux 5.0 or later)");
		return nk_err_set(err, e, "cannot load the seccomp filter");
	}
	if (prog->has_notify)
		*listener_fd = (int)r;
	return 0;
}

int nk_seccomp_notify_answer(int listener_fd, int answer_errno, struct nk_seccomp_event *ev,
			     struct nk_err *err)
{
	/* The kernel copies its own struct sizes, which may exceed this build's headers. */
	struct seccomp_notif_sizes sizes = {0};
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return nk_err_set(err, errno, "cannot query seccomp notification sizes");
	size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
									    : sizeof(struct seccomp_notif);
	size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
			       ? sizes.seccomp_notif_resp
			       : sizeof(struct seccomp_notif_resp);
	nk_autofree struct seccomp_notif *req = calloc(1, req_size);
	nk_autofree struct seccomp_notif_resp *resp = calloc(1, resp_size);
	if (!req || !resp)
		return nk_err_set(err, ENOMEM, "cannot receive a seccomp notification");
	if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		int e = errno;
		if (e == EINTR || e == ENOENT)
			return -e;
		return nk_err_set(err, e, "cannot receive a seccomp notification");
	}
	memset(ev, 0, sizeof(*ev));
	ev->id = req->id;
	ev->pid = req->pid;
	ev->arch = req->data.arch;
	ev->nr = req->data.nr;
	ev->ip = req->data.instruction_pointer;
	memcpy(ev->args, req->data.args, sizeof(ev->args));
	nk_seccomp_syscall_name(ev->arch, ev->nr, ev->name, sizeof(ev->name));

	resp->id = req->id;
	resp->val = 0;
	resp->error = -(answer_errno > 0 ? answer_errno : EPERM);
	resp->flags = 0;
	if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0) {
		int e = errno;
		if (e == ENOENT || e == EINTR)
			return -ENOENT;
		return nk_err_set(err, e, "cannot answer the seccomp notification for %s", ev->name);
	}
	return 0;
}

/* Classic BPF, as far as seccomp filters use it (loads from seccomp_data, no packet length). */
int nk_seccomp_prog_eval(const struct nk_seccomp_prog *prog, uint32_t arch, int nr, const uint64_t *args,
			 uint32_t *ret)
{
	if (!prog || !prog->filter || !ret)
		return -EINVAL;
	struct seccomp_data data = {.nr = nr, .arch = arch ? arch : seccomp_arch_native()};
	if (args)
		memcpy(data.args, args, sizeof(data.args));
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	for (size_t pc = 0; pc < prog->len; pc++) {
		const struct sock_filter *in = &prog->filter[pc];
		uint32_t k = in->k;
		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			if (BPF_MODE(in->code) == BPF_ABS && BPF_SIZE(in->code) == BPF_W) {
				if (k > sizeof(data) - sizeof(v) || (k & 3))
					return -EINVAL;
				memcpy(&v, (const char *)&data + k, sizeof(v));
			} else if (BPF_MODE(in->code) == BPF_IMM) {
				v = k;
			} else if (BPF_MODE(in->code) == BPF_MEM && k < BPF_MEMWORDS) {
				v = mem[k];
			} else if (BPF_MODE(in->code) == BPF_LEN) {
				v = sizeof(data);
			} else {
				return -EINVAL;
			}
			if (BPF_CLASS(in->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return -EINVAL;
			mem[k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU: {
			uint32_t src = BPF_SRC(in->code) == BPF_X ? x : k;
			switch (BPF_OP(in->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV: if (!src) return -EINVAL; a /= src; break;
			case BPF_MOD: if (!src) return -EINVAL; a %= src; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = -a; break;
			default: return -EINVAL;
			}
			break;
		}
		case BPF_JMP: {
			uint32_t src = BPF_SRC(in->code) == BPF_X ? x : k;
			size_t skip;
			switch (BPF_OP(in->code)) {
			case BPF_JA: skip = k; break;
			case BPF_JEQ: skip = a == src ? in->jt : in->jf; break;
			case BPF_JGT: skip = a > src ? in->jt : in->jf; break;
			case BPF_JGE: skip = a >= src ? in->jt : in->jf; break;
			case BPF_JSET: skip = (a & src) ? in->jt : in->jf; break;
			default: return -EINVAL;
			}
			if (skip >= prog->len - pc - 1)
				return -EINVAL;
			pc += skip;
			break;
		}
		case BPF_RET:
			*ret = BPF_RVAL(in->code) == BPF_A ? a : k;
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			return -EINVAL;
		}
	}
	return -EINVAL; /* fell off the end: the kernel's checker would have refused it */
}
