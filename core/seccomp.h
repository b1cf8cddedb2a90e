/* Seccomp: Docker's JSON profile format compiled to BPF in the parent, installed last in the child. */
#ifndef NOOK_SECCOMP_H
#define NOOK_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Compile flags. */
/* Teach mode: the default action (when it denies) and every denying rule (ERRNO, KILL*, TRAP)
 * become SCMP_ACT_NOTIFY, so the monitor records the call and answers EPERM itself. Rules that
 * answer ENOSYS keep their answer: libc relies on it to fall back (clone3 -> clone). */
#define NK_SECCOMP_TEACH (1u << 0)
/* A syscall name nobody here knows (neither libseccomp nor nook's table of newer calls) is an
 * error by default. With this flag it becomes a warning in prog->warnings when leaving it out
 * can only make the filter stricter (an ALLOW/LOG rule, or a deny rule under a denying
 * default); a deny rule under an allowing default still fails, since it could not be enforced. */
#define NK_SECCOMP_LENIENT_NAMES (1u << 1)

/* A compiled filter: plain data, safe to carry across fork() and to install without allocating. */
struct nk_seccomp_prog {
	struct sock_filter *filter; /* malloc'd BPF program */
	unsigned short len;         /* instructions (the kernel takes at most BPF_MAXINSNS) */
	int has_notify;             /* some path returns SECCOMP_RET_USER_NOTIF: install makes a listener */
	unsigned filter_flags;      /* SECCOMP_FILTER_FLAG_* from the profile's "flags" (LOG, SPEC_ALLOW, ...) */
	unsigned rules;             /* libseccomp rules added, for messages and tests */
	unsigned warning_count;
	char warnings[1024];        /* "origin: key: what" lines, '\n'-separated; empty when none */
};

/* Parse a profile in Docker's seccomp JSON format (an OCI linux.seccomp object is a subset of it)
 * and compile it for the native ABI, plus those of its sub-ABIs (i386, x32 on x86_64) that the
 * profile lists in "architectures" or in archMap for the native architecture. Calls of any other
 * ABI are refused: ENOSYS, or the process is killed when the profile's default action kills.
 * `caps` (bit n = capability n) resolves includes/excludes "caps"; "arches" match the native
 * architecture; "minKernel" is compared with the running kernel. Loads nothing into the caller.
 * `origin` names the input in messages ("default.json: syscalls[12].action: unknown action ...").
 * On error *out is left empty. Free with nk_seccomp_prog_free. */
int nk_seccomp_compile(const char *json, size_t len, const char *origin, uint64_t caps, unsigned flags,
		       struct nk_seccomp_prog *out, struct nk_err *err) NK_MUST_CHECK;
/* The same for a file; messages name the file's base name. */
int nk_seccomp_compile_file(const char *path, uint64_t caps, unsigned flags, struct nk_seccomp_prog *out,
			    struct nk_err *err) NK_MUST_CHECK;
void nk_seccomp_prog_free(struct nk_seccomp_prog *prog);

/* In the child, as the very last step before execve (no_new_privs already set): load the filter
 * with seccomp(2). No allocation, one syscall. When prog->has_notify, listener_fd is required and
 * receives the notification fd (the kernel opens it O_CLOEXEC); otherwise it is set to -1.
 * Hand the listener to the monitor using only read/write/close/execve, which teach mode never
 * turns into notifications: write its number on the sync pipe, let the monitor take it with
 * pidfd_getfd(2), wait for its acknowledgement with read, then exec (CLOEXEC closes it). */
int nk_seccomp_install(const struct nk_seccomp_prog *prog, int *listener_fd, struct nk_err *err) NK_MUST_CHECK;

/* One notification read from a listener, as the monitor records it. */
struct nk_seccomp_event {
	uint64_t id;      /* kernel cookie of the notification */
	uint32_t pid;     /* in the monitor's pid namespace */
	uint32_t arch;    /* AUDIT_ARCH_* of the call */
	int nr;
	uint64_t ip;
	uint64_t args[6];
	char name[40];    /* "mount", or "syscall_NNN" when no table knows it */
};

/* Receive one notification (blocks; poll the listener for POLLIN first, POLLHUP means every
 * filtered process is gone) and answer it with -answer_errno (EPERM in teach mode), or with 0
 * let the call go on to the kernel (learn mode). Returns 0;
 * -ENOENT when the caller died first (ev is filled if the call was received: ev->name[0] != 0);
 * -EINTR; another -errno with err filled. */
int nk_seccomp_notify_answer(int listener_fd, int answer_errno, struct nk_seccomp_event *ev,
			     struct nk_err *err) NK_MUST_CHECK;

/* Syscall number -> name for an AUDIT_ARCH_* value (0: native), written into buf; falls back to
 * nook's table of calls newer than libseccomp, then "syscall_NNN". Returns buf. */
const char *nk_seccomp_syscall_name(uint32_t arch, int nr, char *buf, size_t size);
/* Name -> syscall number for an AUDIT_ARCH_* value (0: native), knowing the calls newer than
 * libseccomp; -1 when unknown. Another negative number is a libseccomp pseudo-number: a call
 * that exists, but not on that ABI. */
int nk_seccomp_syscall_nr(uint32_t arch, const char *name);

/* Run the compiled program on one call, as the kernel would (arch 0: native, ip 0): stores the
 * SECCOMP_RET_* value. For tests, fuzzing and `inspect`-style explanations; -EINVAL when the
 * program is malformed. args may be NULL (all zero). */
int nk_seccomp_prog_eval(const struct nk_seccomp_prog *prog, uint32_t arch, int nr, const uint64_t *args,
			 uint32_t *ret) NK_MUST_CHECK;

#endif
