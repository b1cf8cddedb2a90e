/* What isolates a running instance, read from /proc as the kernel reports it, so a
 * teacher can show it (and a test can check it) without trusting the spec. */
#include "isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "instance.h"
#include "spec.h"
#include "util.h"

static const char *const ns_names[NK_NS_COUNT] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};

static uint64_t ns_inode(pid_t pid, const char *ns)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
	return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* The command is init's child: init itself keeps no capability, so it would say little. */
static pid_t command_pid(pid_t init)
{
	char p[64], buf[256];
	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)init, (int)init);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return init;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return init;
	buf[n] = '\0';
	long child = strtol(buf, NULL, 10);
	return child > 0 ? (pid_t)child : init;
}

static void read_status(pid_t pid, struct nk_isolation *iso)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	nk_autofree char *buf = NULL;
	struct nk_err ignored;
	if (nk_read_file(p, &buf, NULL, &ignored) < 0)
		return;
	static const struct {
		const char *key;
		size_t off;
	} caps[] = {
	    {"CapInh:", offsetof(struct nk_isolation, cap_inh)}, {"CapPrm:", offsetof(struct nk_isolation, cap_prm)},
	    {"CapEff:", offsetof(struct nk_isolation, cap_eff)}, {"CapBnd:", offsetof(struct nk_isolation, cap_bnd)},
	    {"CapAmb:", offsetof(struct nk_isolation, cap_amb)},
	};
	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (size_t i = 0; i < NK_ARRAY_SIZE(caps); i++)
			if (!strncmp(line, caps[i].key, strlen(caps[i].key))) {
				uint64_t v = strtoull(line + strlen(caps[i].key), NULL, 16);
				memcpy((char *)iso + caps[i].off, &v, sizeof(v));
				iso->have_caps = 1;
			}
		if (!strncmp(line, "Name:", 5))
			snprintf(iso->comm, sizeof(iso->comm), "%s", line + 5 + strspn(line + 5, " \t"));
		else if (!strncmp(line, "NoNewPrivs:", 11))
			iso->no_new_privs = atoi(line + 11);
		else if (!strncmp(line, "Seccomp:", 8))
			iso->seccomp_mode = atoi(line + 8);
		else if (!strncmp(line, "Seccomp_filters:", 16))
			iso->seccomp_filters = atoi(line + 16);
		else if (!strncmp(line, "Uid:", 4))
			iso->uid = (uid_t)strtoul(line + 4, NULL, 10);
		line = next;
	}
}

/* mountinfo: ID PARENT MAJ:MIN ROOT TARGET OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
static int parse_mount(char *line, struct nk_mount_fact *m)
{
	char *field[6] = {0};
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	for (int i = 0; i < 6 && tok; i++, tok = strtok_r(NULL, " ", &save))
		field[i] = tok;
	while (tok && strcmp(tok, "-"))
		tok = strtok_r(NULL, " ", &save);
	char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
	char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
	if (!field[5] || !source)
		return -1;
	snprintf(m->target, sizeof(m->target), "%s", field[4]);
	snprintf(m->options, sizeof(m->options), "%s", field[5]);
	snprintf(m->fstype, sizeof(m->fstype), "%s", fstype);
	snprintf(m->source, sizeof(m->source), "%s", source);
	return 0;
}

static void read_mounts(pid_t pid, struct nk_isolation *iso)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/mountinfo", (int)pid);
	nk_autofree char *buf = NULL;
	struct nk_err ignored;
	if (nk_read_file(p, &buf, NULL, &ignored) < 0)
		return;
	size_t lines = 0;
	for (char *c = buf; *c; c++)
		lines += *c == '\n';
	iso->mounts = calloc(lines + 1, sizeof(*iso->mounts));
	if (!iso->mounts)
		return;
	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (parse_mount(line, &iso->mounts[iso->mount_count]) == 0)
			iso->mount_count++;
		line = next;
	}
}

int nk_isolation_read(const struct nk_paths *paths, const char *name, struct nk_isolation *iso,
		      struct nk_err *err)
{
	memset(iso, 0, sizeof(*iso));
	iso->no_new_privs = iso->seccomp_mode = iso->seccomp_filters = -1;
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (!strcmp(info.kind, "vm"))
		return nk_err_msg(err, ENOTSUP,
				  "%s is a VM: its boundary is the hardware's (KVM), not namespaces; on the host there is "
				  "only its monitor (pid %d), which runs the guest",
				  name, (int)info.state.monitor_pid);
	if ((info.state.status != NK_RUNNING && info.state.status != NK_PAUSED) || info.state.init_pid <= 0 ||
	    !nk_proc_alive(info.state.init_pid, info.state.init_start))
		return nk_err_msg(err, EINVAL, "%s is not running (it is %s): start it to see its isolation", name,
				  nk_status_name(info.state.status));
	iso->pid = command_pid(info.state.init_pid);
	/* The host is PID 1's view; where PID 1 is out of reach (nook itself sandboxed), the
	 * monitor's, which lives where nook was started. */
	pid_t host = ns_inode(1, "mnt") ? 1 : info.state.monitor_pid;
	for (int i = 0; i < NK_NS_COUNT; i++) {
		iso->ns[i].name = ns_names[i];
		iso->ns[i].inode = ns_inode(iso->pid, ns_names[i]);
		iso->ns[i].host_inode = ns_inode(host, ns_names[i]);
	}
	read_status(iso->pid, iso);
	read_mounts(iso->pid, iso);
	char p[PATH_MAX];
	struct nk_spec spec;
	struct nk_err ignored;
	if (nk_path_instance(paths, name, "config.json", p, sizeof(p)) == 0 &&
	    nk_spec_load_file(p, &spec, &ignored) == 0) {
		iso->limits = spec.limits;
		nk_spec_free(&spec);
	}
	struct nk_cgroup cg;
	if (nk_cgroup_init(&cg, paths, name, &ignored) == 0 &&
	    nk_fmt(iso->cgroup, sizeof(iso->cgroup), "%s (%s)", cg.relpath, cg.ops->layout) < 0)
		iso->cgroup[0] = '\0';
	return 0;
}

void nk_isolation_free(struct nk_isolation *iso)
{
	free(iso->mounts);
	iso->mounts = NULL;
	iso->mount_count = 0;
}
