/* Seccomp filters: build one from rules with libseccomp, install it, answer its notifications. */
#include "seccomp-internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    {"removexattrat", 466, 0},     {"open_tree_attr", 467, 0}, {"file_getattr", 468, 0},
    {"file_setattr", 469, 0},      {"uretprobe", 335, AUDIT_ARCH_X86_64},
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

/* What the child needs between installing the filter and exec: these never notify, or handing
 * the listener over would wait on itself. */
static const char *const handoff_calls[] = {"read", "write", "close", "execve", "execveat", "exit", "exit_group"};

NK_PRINTF(3, 4)
static int bad(struct nk_seccomp_build *b, const char *where, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nk_err_msg(b->err, EINVAL, "%s: %s: %s", b->origin, where, msg);
}

NK_PRINTF(3, 4)
static void warn(struct nk_seccomp_build *b, const char *where, const char *fmt, ...)
{
	struct nk_seccomp_prog *p = b->out;
	size_t used = strlen(p->warnings);
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->warning_count++;
	snprintf(p->warnings + used, sizeof(p->warnings) - used, "%s%s: %s: %s", used ? "\n" : "", b->origin,
		 where, msg);
}

static bool denies(uint32_t a)
{
	return (a & 0xffff0000u) == SCMP_ACT_ERRNO(0) || a == SCMP_ACT_KILL_THREAD || a == SCMP_ACT_KILL_PROCESS ||
	       a == SCMP_ACT_TRAP;
}

static bool permits(uint32_t a)
{
	return a == SCMP_ACT_ALLOW || a == SCMP_ACT_LOG;
}

/* Teach mode: denials become notifications, except ENOSYS rules (libc falls back on them). */
static uint32_t teach(const struct nk_seccomp_build *b, uint32_t a, bool is_default)
{
	if (!(b->flags & NK_SECCOMP_TEACH) || !denies(a) || (!is_default && a == SCMP_ACT_ERRNO(ENOSYS)))
		return a;
	return SCMP_ACT_NOTIFY;
}

static scmp_filter_ctx new_ctx(struct nk_seccomp_build *b, bool sub)
{
	/* A foreign ABI is refused as by a kernel without it (ENOSYS), or killed when the profile
	 * kills by default: its numbers mean other calls, so no rule of ours may apply to them. */
	uint32_t d = b->profile_default;
	uint32_t badarch = d == SCMP_ACT_KILL_PROCESS || d == SCMP_ACT_KILL_THREAD || d == SCMP_ACT_TRAP
			       ? SCMP_ACT_KILL_PROCESS
			       : SCMP_ACT_ERRNO(ENOSYS);
	scmp_filter_ctx ctx = seccomp_init(b->default_action);
	bool ok = ctx && seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch) == 0;
	/* A binary tree over syscall numbers keeps the long allowlists fast. */
	if (ok)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; ok && sub && i < b->nsubs; i++)
		ok = seccomp_arch_add(ctx, b->subs[i]) == 0;
	if (ok && sub)
		ok = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) == 0;
	if (!ok && ctx)
		seccomp_release(ctx);
	return ok ? ctx : NULL;
}

int nk_seccomp_build_start(struct nk_seccomp_build *b)
{
	b->default_action = teach(b, b->profile_default, true);
	b->out->has_notify = b->default_action == SCMP_ACT_NOTIFY;
	b->ctx = new_ctx(b, false);
	b->sub = b->nsubs && b->ctx ? new_ctx(b, true) : NULL;
	if (!b->ctx || (b->nsubs && !b->sub))
		return nk_err_msg(b->err, ENOMEM, "%s: libseccomp cannot start a filter", b->origin);
	return 0;
}

static int add_to(struct nk_seccomp_build *b, scmp_filter_ctx ctx, const char *where, const char *name,
		  uint32_t action, int nr, const struct scmp_arg_cmp *cmps, size_t n, int split)
{
	int r = 0;
	for (size_t i = 0; split && i < n && r == 0; i++)
		r = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[i]);
	if (!split)
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, cmps);
	if (r < 0)
		return bad(b, where, "libseccomp refused the rule for %s: %s", name, strerror(-r));
	b->out->rules++;
	return 0;
}

int nk_seccomp_build_rule(struct nk_seccomp_build *b, const char *where, const char *name, uint32_t action,
			  const struct scmp_arg_cmp *cmps, size_t n, int split)
{
	int nr = nk_seccomp_syscall_nr(b->native, name);
	bool libseccomp_knows = seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
	/* Leaving a rule out is safe when its absence can only refuse more. */
	bool safe_to_skip = permits(action) || !permits(b->profile_default);
	if (nr == __NR_SCMP_ERROR) {
		if (!(b->flags & NK_SECCOMP_LENIENT_NAMES) || !safe_to_skip)
			return bad(b, where, "unknown syscall \"%s\"", name);
		warn(b, where, "unknown syscall \"%s\" left out (it stays refused)", name);
		return 0;
	}
	bool handoff = false;
	for (size_t i = 0; i < NK_ARRAY_SIZE(handoff_calls); i++)
		if (!strcmp(name, handoff_calls[i])) {
			*(n ? &b->handoff_cond : &b->handoff_ruled) |= 1u << i;
			handoff = true;
		}
	if (handoff && action == SCMP_ACT_NOTIFY)
		return bad(b, where, "%s cannot be SCMP_ACT_NOTIFY: handing the listener over to the monitor needs it",
			   name);
	action = handoff ? action : teach(b, action, false);
	if (action == b->default_action)
		return 0; /* what happens anyway; libseccomp refuses such rules */
	if (action == SCMP_ACT_NOTIFY)
		b->out->has_notify = 1;
	if (nr >= 0 && add_to(b, b->ctx, where, name, action, nr, cmps, n, split) < 0)
		return -EINVAL;
	bool on_sub = false;
	for (size_t i = 0; i < b->nsubs; i++)
		on_sub |= nk_seccomp_syscall_nr(b->subs[i], name) >= 0;
	if (!on_sub)
		return 0; /* a known call of another ABI (chown32 on x86_64): nothing to filter */
	if (libseccomp_knows)
		return add_to(b, b->sub, where, name, action, nr, cmps, n, split);
	/* libseccomp cannot translate a number it does not know to another ABI. */
	if (!safe_to_skip)
		return bad(b, where, "\"%s\" is newer than libseccomp and cannot be filtered for the "
				     "sub-architectures this profile allows",
			   name);
	warn(b, where, "\"%s\" left out of the filter of the sub-architectures (it stays refused there)", name);
	return 0;
}

/* libseccomp 2.5 has no seccomp_export_bpf_mem (2.6 has): export to a memfd and read it back. */
static int export_bpf(struct nk_seccomp_build *b)
{
	struct stat st;
	nk_autoclose int fd = memfd_create("nook-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return nk_err_set(b->err, errno, "%s: cannot create a memfd for the filter", b->origin);
	int r = seccomp_export_bpf(b->ctx, fd);
	if (r < 0 || fstat(fd, &st) < 0)
		return nk_err_set(b->err, r < 0 ? -r : errno, "%s: cannot export the seccomp filter", b->origin);
	size_t size = (size_t)st.st_size, insns = size / sizeof(struct sock_filter);
	if (size == 0 || size % sizeof(struct sock_filter))
		return nk_err_msg(b->err, EIO, "%s: libseccomp exported a filter of %zu bytes", b->origin, size);
	if (insns > BPF_MAXINSNS)
		return nk_err_msg(b->err, E2BIG, "%s: the filter needs %zu instructions, the kernel takes at most %d",
				  b->origin, insns, BPF_MAXINSNS);
	nk_autofree struct sock_filter *prog = malloc(size);
	if (!prog)
		return nk_err_set(b->err, ENOMEM, "%s: cannot export the seccomp filter", b->origin);
	for (size_t done = 0; done < size;) {
		ssize_t got = pread(fd, (char *)prog + done, size - done, (off_t)done);
		if (got <= 0)
			return nk_err_set(b->err, got < 0 ? errno : EIO, "%s: cannot read the filter back", b->origin);
		done += (size_t)got;
	}
	b->out->filter = nk_steal_ptr(&prog);
	b->out->len = (unsigned short)insns;
	return 0;
}

int nk_seccomp_build_finish(struct nk_seccomp_build *b)
{
	/* When the default notifies, the hand-over calls the profile says nothing about keep the
	 * profile's own answer (EPERM if that was a notification too). */
	uint32_t answer = b->profile_default == SCMP_ACT_NOTIFY ? SCMP_ACT_ERRNO(EPERM) : b->profile_default;
	for (size_t i = 0; b->default_action == SCMP_ACT_NOTIFY && i < NK_ARRAY_SIZE(handoff_calls); i++) {
		int nr = seccomp_syscall_resolve_name(handoff_calls[i]);
		if (b->handoff_ruled & (1u << i))
			continue;
		/* libseccomp lets a rule for any arguments override conditional ones, so the
		 * calls those do not match would notify, with no one yet listening. */
		if (b->handoff_cond & (1u << i))
			return bad(b, "teach mode", "%s has only argument-conditional rules, but handing the listener "
				   "over needs it for any arguments: add a rule for it without args",
				   handoff_calls[i]);
		if ((nr >= 0 && add_to(b, b->ctx, "teach mode", handoff_calls[i], answer, nr, NULL, 0, 0) < 0) ||
		    (b->sub && add_to(b, b->sub, "teach mode", handoff_calls[i], answer, nr, NULL, 0, 0) < 0))
			return -EINVAL;
	}
	if (b->sub) {
		int r = seccomp_merge(b->ctx, b->sub);
		if (r < 0)
			return nk_err_set(b->err, -r, "%s: cannot merge the sub-architectures' filter", b->origin);
		b->sub = NULL; /* the merge consumed it */
	}
	return export_bpf(b);
}

void nk_seccomp_build_release(struct nk_seccomp_build *b)
{
	if (b->sub)
		seccomp_release(b->sub);
	if (b->ctx)
		seccomp_release(b->ctx);
	b->sub = b->ctx = NULL;
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
	memset(ev, 0, sizeof(*ev));
	if (!req || !resp)
		return nk_err_set(err, ENOMEM, "cannot receive a seccomp notification");
	if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		int e = errno;
		if (e == EINTR || e == ENOENT)
			return -e;
		return nk_err_set(err, e, "cannot receive a seccomp notification");
	}
	ev->id = req->id;
	ev->pid = req->pid;
	ev->arch = req->data.arch;
	ev->nr = req->data.nr;
	ev->ip = req->data.instruction_pointer;
	memcpy(ev->args, req->data.args, sizeof(ev->args));
	nk_seccomp_syscall_name(ev->arch, ev->nr, ev->name, sizeof(ev->name));

	resp->id = req->id;
	resp->val = 0;
	/* 0: let the call go on to the kernel as if no filter had asked (learn mode). */
	resp->error = answer_errno > 0 ? -answer_errno : 0;
	resp->flags = answer_errno > 0 ? 0 : SECCOMP_USER_NOTIF_FLAG_CONTINUE;
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
