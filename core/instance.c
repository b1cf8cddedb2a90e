/* Instances: create, start, stop, signal, remove, list, inspect; reconciled with reality. */
#include "instance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "image.h"
#include "instance-net.h"
#include "vm-disk.h"
#include "vm-instance.h"
#include "monitor.h"
#include "parse.h"
#include "util.h"

static int check_opts(const struct nk_paths *paths, const struct nk_run_opts *opts, struct nk_err *err)
{
	int r;
	if (opts->name && (r = nk_name_check(opts->name, "instance", err)) < 0)
		return r;
	if (opts->hostname && (r = nk_name_check(opts->hostname, "host", err)) < 0)
		return r;
	if (opts->workdir && opts->workdir[0] != '/')
		return nk_err_msg(err, EINVAL, "working directory '%s' must be an absolute path", opts->workdir);
	if ((r = nk_limits_check(&opts->limits, err)) < 0 || (r = nk_instance_net_check(paths, opts->network, err)) < 0)
		return r;
	if (opts->vm && (r = nk_vm_instance_check(opts->vm_kernel, err)) < 0)
		return r;
	if (opts->vm && opts->network && !strcmp(opts->network, "host"))
		return nk_err_msg(err, EINVAL, "a VM cannot share the host's network: use --net bridge, a network's "
					       "name, or none");
	int bridged = !opts->vm && (!opts->network || (strcmp(opts->network, "none") && strcmp(opts->network, "host")));
	if (opts->port_count && !bridged)
		return nk_err_msg(err, EINVAL, "-p needs a bridge network; --net %s has none to publish from", opts->network);
	for (size_t i = 0; i < opts->port_count; i++)
		if ((r = nk_port_check_free(&opts->ports[i], err)) < 0)
			return r;
	struct nk_cgroup cg;
	if ((r = nk_cgroup_init(&cg, paths, "probe", err)) < 0 || (r = cg.ops->supports(&cg, &opts->limits, err)) < 0)
		return r;
	for (size_t i = 0; i < opts->volume_count; i++) {
		struct stat st;
		if (stat(opts->volumes[i].source, &st) < 0)
			return nk_err_set(err, errno, "volume source %s cannot be used (create it first?)",
					  opts->volumes[i].source);
	}
	if (opts->detach && opts->remove == 0 && opts->interactive && opts->tty) {
		/* -dit is fine: attach later. */
	}
	return 0;
}

/* Stage the whole instance directory privately, then rename it into place: the name is
 * claimed atomically (two `run --name x` at once: one wins) and never half-made. */
static int publish(const struct nk_paths *paths, const struct nk_run_opts *opts, const char *name,
		   const struct nk_image *img, struct nk_err *err)
{
	char stage[PATH_MAX], final[PATH_MAX], p[PATH_MAX], tmpname[128];
	snprintf(tmpname, sizeof(tmpname), ".staging-%s-%d", name, (int)getpid());
	if (nk_path_instance(paths, tmpname, NULL, stage, sizeof(stage)) < 0 ||
	    nk_path_instance(paths, name, NULL, final, sizeof(final)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (mkdir(stage, 0700) < 0)
		return nk_err_set(err, errno, "cannot create %s", stage);
	static const char *const subdirs[] = {"rootfs", "upper", "work", "etc"};
	int r = 0;
	for (size_t i = 0; r == 0 && i < NK_ARRAY_SIZE(subdirs); i++)
		if (nk_fmt(p, sizeof(p), "%s/%s", stage, subdirs[i]) < 0 || mkdir(p, 0755) < 0)
			r = nk_err_set(err, errno ? errno : ENAMETOOLONG, "cannot create %s", p);
	nk_autofree char *json = NULL;
	/* The instance keeps its own copy of the filter: editing a profile later changes
	 * new instances only. */
	if (r == 0 && opts->plan && opts->plan->seccomp_path[0]) {
		nk_autofree char *filter = NULL;
		size_t len = 0;
		if ((r = nk_read_file(opts->plan->seccomp_path, &filter, &len, err)) == 0 &&
		    (r = nk_fmt(p, sizeof(p), "%s/seccomp.json", stage)) == 0)
			r = nk_write_file_replace(p, filter, len, 0600, err);
	}
	/* A VM's root disk is made here, with the instance: a size too small for the image
	 * fails the create, and the first start does not pay for mkfs. */
	if (r == 0 && opts->vm && !img->is_host) {
		uint64_t disk_size;
		if (nk_fmt(p, sizeof(p), "%s/" NK_VM_DISK_FILE, stage) < 0)
			r = nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
		else if ((r = nk_vm_disk_size(img->rootfs, opts->vm_disk_size, &disk_size, err)) == 0)
			r = nk_vm_disk_make_cached(paths, img->rootfs, p, disk_size, err);
	}
	if (r == 0 && (r = nk_spec_build(opts, name, img, final, &json, err)) == 0 &&
	    (r = nk_fmt(p, sizeof(p), "%s/config.json", stage)) == 0)
		r = opts->remove ? nk_write_file_replace(p, json, strlen(json), 0600, err)
				 : nk_write_file_atomic(p, json, strlen(json), 0600, err);
	if (r == 0) {
		struct nk_state st = {.status = NK_CREATED, .created_at = nk_wall_time_s(),
				      .ephemeral = opts->remove};
		nk_autofree char *sj = nk_state_to_json(&st);
		if ((r = nk_fmt(p, sizeof(p), "%s/state.json", stage)) == 0)
			r = !sj ? -ENOMEM
			    : opts->remove ? nk_write_file_replace(p, sj, strlen(sj), 0600, err)
					   : nk_write_file_atomic(p, sj, strlen(sj), 0600, err);
	}
	if (r == 0 && renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_NOREPLACE) < 0)
		r = errno == EEXIST || errno == ENOTEMPTY
			    ? nk_err_msg(err, EEXIST, "the name %s is already in use: pick another or `nook rm %s`",
					 name, name)
			    : nk_err_set(err, errno, "cannot create instance %s", name);
	if (r < 0) {
		struct nk_err ignored;
		(void)!nk_rm_rf(stage, &ignored);
	}
	return r;
}

int nk_inst_create(const struct nk_paths *paths, const struct nk_run_opts *opts_in, char *name_out,
		   size_t size, struct nk_err *err)
{
	/* The profile fills in what the flags left open; then everything is checked. */
	struct nk_run_opts merged = *opts_in, *opts = &merged;
	struct nk_plan plan;
	int r = nk_plan_build(paths, opts, &plan, err);
	if (r < 0)
		return r;
	if ((r = check_opts(paths, opts, err)) < 0) {
		nk_plan_free(&plan);
		return r;
	}
	/* A VM's files are kept by absolute path: a later start may run from anywhere. */
	char kernel[PATH_MAX], initrd[PATH_MAX];
	if (opts->vm_kernel && realpath(opts->vm_kernel, kernel))
		opts->vm_kernel = kernel;
	if (opts->vm_initrd) {
		if (!realpath(opts->vm_initrd, initrd)) {
			nk_plan_free(&plan);
			return nk_err_set(err, errno, "--initrd %s", opts->vm_initrd);
		}
		opts->vm_initrd = initrd;
	}
	struct nk_image img;
	if ((r = nk_image_resolve(paths, opts->image, &img, err)) < 0) {
		nk_plan_free(&plan);
		return r;
	}
	for (int attempt = 0; attempt < 8; attempt++) {
		char name[64];
		if (opts->name)
			snprintf(name, sizeof(name), "%s", opts->name);
		else
			nk_name_generate(name, sizeof(name));
		r = publish(paths, opts, name, &img, err);
		if (r == 0)
			snprintf(name_out, size, "%s", name);
		if (r != -EEXIST || opts->name)
			break;
	}
	nk_image_release(&img);
	nk_plan_free(&plan);
	return r;
}

static int instance_exists(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	int r = nk_name_check(name, "instance", err);
	if (r < 0)
		return r;
	char p[PATH_MAX];
	if (nk_path_instance(paths, name, "state.json", p, sizeof(p)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	struct nk_instance_info oci;
	struct nk_err ignored;
	if (access(p, F_OK) < 0 && nk_inst_oci_get(name, &oci, &ignored) == 0)
		return nk_err_msg(err, ENOENT,
				  "%s is an OCI runtime container: its engine manages it (or `nook oci --root %s "
				  "kill|delete %s`)",
				  name, nk_inst_oci_root(), name);
	if (access(p, F_OK) < 0)
		return nk_err_msg(err, ENOENT, "no such instance: %s (see `nook ls -a`)", name);
	return 0;
}

int nk_inst_start(const struct nk_paths *paths, const char *name, unsigned attach_flags,
		  int *client_fd, struct nk_err *err)
{
	return nk_inst_start_timed(paths, name, attach_flags, client_fd, NULL, err);
}

int nk_inst_start_timed(const struct nk_paths *paths, const char *name, unsigned attach_flags,
			int *client_fd, struct nk_timeline *timeline, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status == NK_RUNNING || info.state.status == NK_PAUSED)
		return nk_err_msg(err, EBUSY, "%s is already running", name);
	int fd;
	if ((r = nk_monitor_launch(paths, name, attach_flags, &fd, err)) < 0)
		return r;
	struct nk_ctl_hdr h;
	char buf[NK_CTL_MAX_PAYLOAD];
	ssize_t n = nk_ctl_recv(fd, &h, buf, sizeof(buf) - 1);
	if (n >= 0 && h.type == NK_CTL_STARTED) {
		struct nk_ctl_started started;
		if (timeline && (size_t)n >= sizeof(started)) {
			memcpy(&started, buf, sizeof(started));
			*timeline = started.timeline;
		}
		if (client_fd)
			*client_fd = fd;
		else
			close(fd);
		return 0;
	}
	close(fd);
	if (n >= 0 && h.type == NK_CTL_ERROR) {
		buf[n] = '\0';
		return nk_err_msg(err, EIO, "cannot start %s: %s", name, buf);
	}
	return nk_err_msg(err, EIO, "cannot start %s: its monitor ended before reporting", name);
}

/* Wait for the EXIT broadcast on a control connection. */
static int wait_exit(int fd, int timeout_ms)
{
	uint64_t deadline = nk_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint64_t now = nk_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1) <= 0)
			continue;
		struct nk_ctl_hdr h;
		char buf[NK_CTL_MAX_PAYLOAD];
		ssize_t n = nk_ctl_recv(fd, &h, buf, sizeof(buf));
		if (n < 0)
			return 0; /* the monitor closed: it is done */
		if (h.type == NK_CTL_EXIT)
			return 0;
	}
}

/* Connect to a running instance's monitor. */
static int monitor_connect(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status != NK_RUNNING && info.state.status != NK_PAUSED)
		return nk_err_msg(err, EINVAL, "%s is not running (it is %s)", name, nk_status_name(info.state.status));
	return nk_ctl_connect(paths, name, err);
}

/* One request, one answer of type want (its payload, NUL-terminated, into *reply when
 * reply is not NULL; an ERROR answer becomes err). */
static int monitor_ask(const struct nk_paths *paths, const char *name, int type, int want, char **reply,
		       struct nk_err *err)
{
	int fd = monitor_connect(paths, name, err);
	if (fd < 0)
		return fd;
	char *buf = malloc(NK_CTL_MAX_PAYLOAD + 1);
	struct nk_ctl_hdr h = {0};
	ssize_t n = !buf ? -ENOMEM : nk_ctl_send(fd, type, NULL, 0);
	if (n == 0)
		n = nk_ctl_recv(fd, &h, buf, NK_CTL_MAX_PAYLOAD);
	close(fd);
	int r = 0;
	if (n < 0)
		r = nk_err_set(err, (int)-n, "cannot talk to the monitor of %s", name);
	else if ((buf[n] = '\0', h.type == NK_CTL_ERROR))
		r = nk_err_msg(err, EINVAL, "%s", buf);
	else if (h.type != want)
		r = nk_err_msg(err, EIO, "the monitor of %s gave an unexpected answer", name);
	if (r == 0 && reply)
		*reply = nk_steal_ptr(&buf);
	free(buf);
	return r;
}

static int send_to_monitor(const struct nk_paths *paths, const char *name, int type, int32_t value,
			   int wait_ms, struct nk_err *err)
{
	int fd = monitor_connect(paths, name, err);
	if (fd < 0)
		return fd;
	int r = nk_ctl_send(fd, type, &value, sizeof(value));
	if (r == 0 && wait_ms > 0)
		r = wait_exit(fd, wait_ms);
	close(fd);
	if (r == -ETIMEDOUT)
		return nk_err_msg(err, ETIMEDOUT, "%s did not stop in time", name);
	return r < 0 ? nk_err_set(err, -r, "cannot talk to the monitor of %s", name) : 0;
}

int nk_inst_stop(const struct nk_paths *paths, const char *name, int grace_s, struct nk_err *err)
{
	if (grace_s < 0)
		return nk_err_msg(err, EINVAL, "the grace time cannot be negative");
	return send_to_monitor(paths, name, NK_CTL_STOP, grace_s, (grace_s + 10) * 1000, err);
}

int nk_inst_kill(const struct nk_paths *paths, const char *name, int sig, struct nk_err *err)
{
	return send_to_monitor(paths, name, NK_CTL_SIGNAL, sig, 0, err);
}

int nk_inst_pause(const struct nk_paths *paths, const char *name, int paused, struct nk_err *err)
{
	return monitor_ask(paths, name, paused ? NK_CTL_PAUSE : NK_CTL_RESUME, NK_CTL_OK, NULL, err);
}

int nk_inst_remove(const struct nk_paths *paths, const char *name, int force, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status == NK_RUNNING || info.state.status == NK_PAUSED) {
		if (!force)
			return nk_err_msg(err, EBUSY, "%s is running: stop it first, or use `nook rm -f %s`", name, name);
		r = nk_inst_stop(paths, name, 0, err);
		if (r < 0 && r != -EINVAL)
			return r;
	}
	char dir[PATH_MAX], sock[PATH_MAX];
	if (nk_path_instance(paths, name, NULL, dir, sizeof(dir)) < 0 ||
	    nk_path_socket(paths, name, sock, sizeof(sock)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	int lock = nk_state_lock(paths, name, err);
	if (lock < 0)
		return lock == -ENOENT ? 0 : lock; /* an --rm instance removed itself meanwhile */
	struct nk_cgroup cg;
	struct nk_err ignored;
	if (nk_cgroup_init(&cg, paths, name, &ignored) == 0)
		(void)!nk_cgroup_cleanup(&cg, &ignored);
	unlink(sock);
	r = nk_rm_rf(dir, err);
	close(lock);
	return r;
}

static void join_args(char **args, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; args && args[i] && used + 1 < size; i++) {
		int w = snprintf(out + used, size - used, "%s%s", i ? " " : "", args[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int nk_inst_reconcile(const struct nk_paths *paths, const char *name, struct nk_err *err)
{
	struct nk_state st;
	int r = nk_state_read(paths, name, &st, err);
	if (r < 0)
		return r;
	if (st.status != NK_RUNNING && st.status != NK_PAUSED)
		return 0;
	if (nk_proc_alive(st.monitor_pid, st.monitor_start))
		return 0;
	int lock = nk_state_lock(paths, name, err);
	if (lock < 0)
		return lock;
	char p_cfg[PATH_MAX];
	struct nk_err ignored_net;
	/* Re-read under the lock: the monitor may have finished meanwhile. */
	if ((r = nk_state_read(paths, name, &st, err)) < 0 || (st.status != NK_RUNNING && st.status != NK_PAUSED) ||
	    nk_proc_alive(st.monitor_pid, st.monitor_start)) {
		close(lock);
		return r;
	}
	if (nk_proc_alive(st.init_pid, st.init_start))
		kill(st.init_pid, SIGKILL);
	struct nk_spec lost;
	if (nk_path_instance(paths, name, "config.json", p_cfg, sizeof(p_cfg)) == 0 &&
	    nk_spec_load_file(p_cfg, &lost, &ignored_net) == 0) {
		struct nk_instance_net in = {0};
		nk_instance_net_detach(&in, paths, lost.network, name, 1);
		nk_spec_free(&lost);
	}
	struct nk_cgroup cg;
	struct nk_err ignored;
	if (nk_cgroup_init(&cg, paths, name, &ignored) == 0)
		(void)!nk_cgroup_cleanup(&cg, &ignored);
	char p[PATH_MAX];
	if (nk_path_socket(paths, name, p, sizeof(p)) == 0)
		unlink(p);
	st.status = NK_STOPPED;
	st.exit_code = 137;
	snprintf(st.exit_reason, sizeof(st.exit_reason), "monitor-lost");
	st.ip[0] = st.host_if[0] = '\0'; /* the lease is gone and may be someone else's now */
	st.finished_at = nk_wall_time_s();
	st.monitor_pid = st.init_pid = 0;
	struct nk_spec spec;
	int remove = 0;
	if (nk_path_instance(paths, name, "config.json", p, sizeof(p)) == 0 &&
	    nk_spec_load_file(p, &spec, &ignored) == 0) {
		remove = spec.remove;
		nk_spec_free(&spec);
	}
	if (remove && nk_path_instance(paths, name, NULL, p, sizeof(p)) == 0)
		r = nk_rm_rf(p, err);
	else
		r = nk_state_write(paths, name, &st, err);
	close(lock);
	return r;
}

int nk_inst_get(const struct nk_paths *paths, const char *name, struct nk_instance_info *info,
		struct nk_err *err)
{
	memset(info, 0, sizeof(*info));
	int r = instance_exists(paths, name, err);
	if (r < 0 || (r = nk_inst_reconcile(paths, name, err)) < 0)
		return r;
	if ((r = instance_exists(paths, name, err)) < 0)
		return r; /* reconcile removed an --rm instance */
	snprintf(info->name, sizeof(info->name), "%s", name);
	if ((r = nk_state_read(paths, name, &info->state, err)) < 0)
		return r;
	char p[PATH_MAX];
	struct nk_spec spec;
	if ((r = nk_path_instance(paths, name, "config.json", p, sizeof(p))) < 0 ||
	    (r = nk_spec_load_file(p, &spec, err)) < 0)
		return r;
	snprintf(info->image, sizeof(info->image), "%s", spec.image ? spec.image : "-");
	snprintf(info->kind, sizeof(info->kind), "%s", spec.vm ? "vm" : "container");
	join_args(spec.args, info->command, sizeof(info->command));
	info->tty = spec.terminal;
	info->interactive = spec.open_stdin;
	nk_spec_free(&spec);
	return 0;
}

/* A create that crashed between staging and publishing leaves .staging-NAME-PID. */
static void remove_stale_staging(const char *dir, const char *entry)
{
	const char *dash = strrchr(entry, '-');
	if (strncmp(entry, ".staging-", 9) != 0 || !dash)
		return;
	char *end;
	long pid = strtol(dash + 1, &end, 10);
	if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	char p[PATH_MAX];
	struct nk_err ignored;
	if (nk_fmt(p, sizeof(p), "%s/%s", dir, entry) == 0)
		(void)!nk_rm_rf(p, &ignored);
}

int nk_inst_list(const struct nk_paths *paths, nk_inst_visit_fn visit, void *opaque, struct nk_err *err)
{
	char dir[PATH_MAX];
	if (nk_fmt(dir, sizeof(dir), "%s/instances", paths->root) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return nk_err_set(err, errno, "cannot list %s", dir);
	for (int i = 0; i < n; i++) {
		struct nk_instance_info info;
		struct nk_err ignored;
		if (names[i]->d_name[0] == '.')
			remove_stale_staging(dir, names[i]->d_name);
		else if (nk_inst_get(paths, names[i]->d_name, &info, &ignored) == 0)
			visit(&info, opaque);
		free(names[i]);
	}
	free(names);
	nk_inst_oci_list(visit, opaque);
	return 0;
}

int nk_inst_attach(const struct nk_paths *paths, const char *name, unsigned flags, struct nk_err *err)
{
	struct nk_instance_info info;
	int r = nk_inst_get(paths, name, &info, err);
	if (r < 0)
		return r;
	if (info.state.status != NK_RUNNING && info.state.status != NK_PAUSED)
		return nk_err_msg(err, EINVAL, "%s is not running: start it with `nook start -a %s`", name, name);
	int fd = nk_ctl_connect(paths, name, err);
	if (fd < 0)
		return fd;
	int32_t v = (int32_t)flags;
	if ((r = nk_ctl_send(fd, NK_CTL_ATTACH, &v, sizeof(v))) < 0) {
		close(fd);
		return nk_err_set(err, -r, "cannot attach to %s", name);
	}
	return fd;
}

int nk_inst_kvm_stats(const struct nk_paths *paths, const char *name, char **json, struct nk_err *err)
{
	return monitor_ask(paths, name, NK_CTL_KVM_STATS, NK_CTL_KVM_STATS, json, err);
}
