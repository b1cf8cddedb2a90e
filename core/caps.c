/* Capabilities by name, and dropping a process to a chosen set. */
#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

static const char *const cap_names[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",            "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

const char *const nk_caps_default[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE", NULL,
};

int nk_cap_from_name(const char *name)
{
	if (!name)
		return -1;
	const char *n = name;
	if (!strncasecmp(n, "CAP_", 4))
		n += 4;
	for (size_t i = 0; i < NK_ARRAY_SIZE(cap_names); i++)
		if (!strcasecmp(n, cap_names[i] + 4))
			return (int)i;
	return -1;
}

const char *nk_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= NK_ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int nk_cap_last(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	/* The kernel tells how many it knows; fall back to what this build names. */
	for (int c = 63; c >= 0; c--) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0) {
			last = c;
			return last;
		}
	}
	last = (int)NK_ARRAY_SIZE(cap_names) - 1;
	return last;
}

uint64_t nk_caps_bounding(void)
{
	uint64_t mask = 0;
	for (int c = 0; c <= nk_cap_last(); c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			mask |= 1ull << c;
	return mask;
}

void nk_caps_format(uint64_t mask, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int c = 0; c < 64; c++) {
		if (!(mask & (1ull << c)))
			continue;
		const char *n = nk_cap_name(c);
		char tmp[32];
		if (!n) {
			snprintf(tmp, sizeof(tmp), "CAP_%d", c);
			n = tmp;
		}
		int w = snprintf(buf + used, size - used, "%s%s", used ? "," : "", n);
		if (w < 0 || (size_t)w >= size - used)
			return;
		used += (size_t)w;
	}
}

int nk_caps_apply(uint64_t bounding, uint64_t effective, uint64_t permitted, uint64_t inheritable,
		  struct nk_err *err)
{
	int last = nk_cap_last();
	for (int c = 0; c <= last; c++) {
		if (bounding & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return nk_err_set(err, errno, "cannot drop %s from the bounding set",
					  nk_cap_name(c) ? nk_cap_name(c) : "capability");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return nk_err_set(err, errno, "cannot clear ambient capabilities");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(effective >> (32 * i));
		data[i].permitted = (uint32_t)(permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return nk_err_set(err, errno, "cannot set capabilities");
	return 0;
}

int nk_caps_set_ids(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t group_count,
		    struct nk_err *err)
{
	gid_t list[64];
	if (group_count > NK_ARRAY_SIZE(list))
		return nk_err_msg(err, E2BIG, "too many additional groups (%zu, at most %zu)", group_count,
				  NK_ARRAY_SIZE(list));
	for (size_t i = 0; i < group_count; i++)
		list[i] = (gid_t)groups[i];
	if (setgroups(group_count, list) < 0)
		return nk_err_set(err, errno, "cannot set the additional groups");
	if (setresgid(gid, gid, gid) < 0)
		return nk_err_set(err, errno, "cannot become group %u", gid);
	if (uid == 0)
		return 0;
	/* setuid away from 0 clears the capability sets unless KEEPCAPS is on; even then the
	 * effective set is cleared, and is raised again from the permitted one. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresuid(uid, uid, uid) < 0)
		return nk_err_set(err, errno, "cannot become user %u", uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return nk_err_set(err, errno, "cannot read capabilities");
	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return nk_err_set(err, errno, "cannot keep capabilities as user %u", uid);
	return 0;
}

int nk_caps_raise_ambient(uint64_t ambient, struct nk_err *err)
{
	for (int c = 0; c <= nk_cap_last(); c++)
		if ((ambient & (1ull << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return nk_err_set(err, errno, "cannot raise %s as an ambient capability",
					  nk_cap_name(c) ? nk_cap_name(c) : "capability");
	return 0;
}
