/* libFuzzer target: Docker-format seccomp profiles, compiled (never installed) and checked. */
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "core/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What any compiled program must do, whatever the profile said. */
static void check(const struct nk_seccomp_prog *prog, unsigned flags)
{
	uint32_t ret;
	if (!prog->filter || prog->len == 0)
		abort();
	for (int nr = 0; nr < 470; nr += 7)
		if (nk_seccomp_prog_eval(prog, 0, nr, NULL, &ret) < 0)
			abort(); /* libseccomp's output always runs to a return */
	/* An ABI this kernel cannot produce, so never one the profile could allow. */
	if (nk_seccomp_prog_eval(prog, AUDIT_ARCH_PPC64LE, SYS_getpid, NULL, &ret) < 0 ||
	    (ret != (SECCOMP_RET_ERRNO | 38) && ret != SECCOMP_RET_KILL_PROCESS))
		abort();
	/* The listener hand-over can never wait on itself. */
	static const int handoff[] = {SYS_read, SYS_write, SYS_close, SYS_execve};
	for (size_t i = 0; i < sizeof(handoff) / sizeof(handoff[0]); i++)
		if (nk_seccomp_prog_eval(prog, 0, handoff[i], NULL, &ret) < 0 ||
		    ((flags & NK_SECCOMP_TEACH) && (ret & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF))
			abort();
	if (!prog->has_notify && (flags & NK_SECCOMP_TEACH) && prog->len > 4096)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* First byte: flags and a capability set, so includes/excludes both ways get exercised. */
	unsigned flags = data[0] & (NK_SECCOMP_TEACH | NK_SECCOMP_LENIENT_NAMES);
	uint64_t caps = (data[0] & 0x80) ? ~0ull : (data[0] & 0x40) ? (1ull << 21) : 0;
	struct nk_seccomp_prog prog;
	struct nk_err err = {0};
	if (nk_seccomp_compile((const char *)data + 1, size - 1, "fuzz.json", caps, flags, &prog, &err) == 0) {
		check(&prog, flags);
		nk_seccomp_prog_free(&prog);
	} else if (strncmp(err.msg, "fuzz.json: ", 11) || prog.filter) {
		abort(); /* every refusal names the input and leaves nothing behind */
	}
	return 0;
}
