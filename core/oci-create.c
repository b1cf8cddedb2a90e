/* `create`: everything set up (namespaces, cgroup, root, limits, filter), the process waiting
 * on the exec FIFO until `start`. The creating process then exits: whoever called it (conmon,
 * containerd-shim) adopts the container's process as a subreaper and waits for it. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "hooks.h"
#include "oci.h"
#include "seccomp.h"
#include "spec.h"
#include "util.h"

struct create_ctx {
	const struct nk_oci *rt;
	struct nk_oci_state st;
	struct nk_spec spec;
};

static char *state_for_hooks(void *opaque, pid_t pid, const char *status)
{
	struct create_ctx *c = opaque;
	struct nk_oci_state st = c->st;
	st.pid = pid;
	snprintf(st.status, sizeof(st.status), "%s", status);
	return nk_oci_state_json(&st);
}

/* After the clone, before the root is built: record the pid, then the prestart and
 * createRuntime hooks (in the runtime's namespaces). */
static int on_created(void *opaque, pid_t pid, struct nk_err *err)
{
	struct create_ctx *c = opaque;
	c->st.pid = pid;
	c->st.pid_start = nk_proc_start_time(pid);
	int r = nk_oci_state_write(c->rt, &c->st, err);
	static const enum nk_hook_kind kinds[] = {NK_HOOK_PRESTART, NK_HOOK_CREATE_RUNTIME};
	for (size_t i = 0; r == 0 && i < NK_ARRAY_SIZE(kinds); i++) {
		if (!c->spec.hooks[kinds[i]].n)
			continue;
		nk_autofree char *state = state_for_hooks(c, pid, "creating");
		r = nk_hooks_run(&c->spec.hooks[kinds[i]], kinds[i], state, err);
	}
	return r;
}

/* The bundle's annotations, kept for `state` and the hooks. */
static char *annotations_of(const char *json)
{
	json_object *root = json_tokener_parse(json), *a;
	char *out = NULL;
	if (root && json_object_object_get_ex(root, "annotations", &a))
		out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return out;
}

/* A PTY from the host's devpts: the slave becomes the container's console and stdio, the
 * master goes to the console socket. */
static int open_console(struct nk_spec *spec, struct nk_container_io *io, int *master, struct nk_err *err)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0)
		return nk_err_set(err, errno, "cannot allocate a terminal");
	if (ptsname_r(*master, io->console_path, sizeof(io->console_path)) != 0)
		return nk_err_set(err, errno, "cannot name the terminal");
	io->console = open(io->console_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (io->console < 0)
		return nk_err_set(err, errno, "cannot open %s", io->console_path);
	if (spec->console_rows && spec->console_cols) {
		struct winsize ws = {.ws_row = spec->console_rows, .ws_col = spec->console_cols};
		ioctl(*master, TIOCSWINSZ, &ws);
	}
	return 0;
}

static int resolve_root(struct nk_spec *spec, const char *bundle, char *rootfs, size_t size, struct nk_err *err)
{
	char joined[PATH_MAX];
	if (spec->root_path[0] != '/') {
		if (nk_fmt(joined, sizeof(joined), "%s/%s", bundle, spec->root_path) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "root.path too long");
	} else if (nk_fmt(joined, sizeof(joined), "%s", spec->root_path) < 0) {
		return nk_err_msg(err, ENAMETOOLONG, "root.path too long");
	}
	if (!realpath(joined, rootfs))
		return nk_err_set(err, errno, "the bundle's root %s", joined);
	(void)size;
	free(spec->root_path);
	spec->root_path = strdup(rootfs);
	return spec->root_path ? 0 : nk_err_set(err, ENOMEM, "root.path");
}

/* The device cgroup: the bundle's rules, then the devices every container needs (as
 * runc does), then the bundle's own device nodes. */
static int apply_device_rules(struct nk_cgroup *cg, const struct nk_spec *spec, struct nk_err *err)
{
	static const struct nk_device_rule defaults[] = {
	    {1, 'c', 1, 3, "rwm"}, {1, 'c', 1, 5, "rwm"},  {1, 'c', 1, 7, "rwm"}, {1, 'c', 1, 8, "rwm"},
	    {1, 'c', 1, 9, "rwm"}, {1, 'c', 5, 0, "rwm"},  {1, 'c', 5, 1, "rwm"}, {1, 'c', 5, 2, "rwm"},
	    {1, 'c', 136, -1, "rwm"},
	};
	if (!spec->device_rule_count && !spec->device_count)
		return 0;
	if (!cg->ops->set_devices)
		return nk_err_msg(err, ENOTSUP,
				  "config.json: linux.resources.devices cannot be enforced on this host's cgroup layout (%s)",
				  cg->ops->layout);
	size_t n = spec->device_rule_count + NK_ARRAY_SIZE(defaults) + spec->device_count;
	nk_autofree struct nk_device_rule *rules = calloc(n, sizeof(*rules));
	if (!rules)
		return nk_err_set(err, ENOMEM, "device rules");
	size_t k = 0;
	for (size_t i = 0; i < spec->device_rule_count; i++)
		rules[k++] = spec->device_rules[i];
	for (size_t i = 0; i < NK_ARRAY_SIZE(defaults); i++)
		rules[k++] = defaults[i];
	for (size_t i = 0; i < spec->device_count; i++) {
		const struct nk_device *d = &spec->devices[i];
		if (d->type == 'p')
			continue;
		rules[k++] = (struct nk_device_rule){1, d->type, d->major, d->minor, "rwm"};
	}
	return cg->ops->set_devices(cg, rules, k, err);
}

static int create_in_dir(struct create_ctx *c, const char *id, const struct nk_oci_create_opts *opts,
			 struct nk_cgroup *cg, struct nk_err *err)
{
	const struct nk_oci *rt = c->rt;
	struct nk_spec *spec = &c->spec;
	char p[PATH_MAX], bundle[PATH_MAX];
	if (!realpath(opts->bundle ? opts->bundle : ".", bundle))
		return nk_err_set(err, errno, "the bundle %s", opts->bundle ? opts->bundle : ".");
	if (nk_fmt(p, sizeof(p), "%s/config.json", bundle) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "bundle path too long");
	int r = nk_spec_load_file(p, spec, err);
	if (r < 0)
		return r;
	if ((r = resolve_root(spec, bundle, c->st.rootfs, sizeof(c->st.rootfs), err)) < 0)
		return r;
	spec->no_pivot = opts->no_pivot;
	spec->preserve_fds = opts->preserve_fds;
	snprintf(c->st.bundle, sizeof(c->st.bundle), "%s", bundle);
	c->st.annotations = annotations_of(spec->json);
	/* Without a cgroupsPath every container still gets its own group. */
	char relpath[256];
	if (nk_fmt(relpath, sizeof(relpath), "%s", spec->cgroups_path ? spec->cgroups_path : "") < 0 ||
	    (!spec->cgroups_path && nk_fmt(relpath, sizeof(relpath), "nook-runtime/%s", id) < 0))
		return nk_err_msg(err, ENAMETOOLONG, "cgroup path too long");
	if ((r = nk_cgroup_init_path(cg, relpath, err)) < 0)
		return r;
	snprintf(c->st.cgroup, sizeof(c->st.cgroup), "%s", cg->relpath);
	free(spec->cgroups_path);
	spec->cgroups_path = strdup(cg->relpath);
	/* Recorded before anything exists on the host: a create killed from here on leaves a
	 * record that `delete --force` follows to the cgroup (pid 0 reads as stopped). */
	if ((r = cg->ops->supports(cg, &spec->limits, err)) < 0 || (r = nk_oci_state_write(rt, &c->st, err)) < 0)
		return r;

	struct nk_seccomp_prog prog = {0};
	if (spec->seccomp_json) {
		r = nk_seccomp_compile(spec->seccomp_json, strlen(spec->seccomp_json), "config.json linux.seccomp",
				       spec->cap_bounding, NK_SECCOMP_LENIENT_NAMES, &prog, err);
		if (r == 0 && prog.has_notify)
			r = nk_err_msg(err, ENOTSUP, "config.json: linux.seccomp: SCMP_ACT_NOTIFY needs a listener; "
						     "nook's runtime does not hand one out");
		if (r < 0) {
			nk_seccomp_prog_free(&prog);
			return r;
		}
	}
	struct nk_container_io io = {.console = -1, .in = 0, .out = 1, .errout = 2};
	int master = -1;
	if (spec->terminal && !opts->console_socket)
		r = nk_err_msg(err, EINVAL, "process.terminal is set: --console-socket is required");
	else if (!spec->terminal && opts->console_socket)
		r = nk_err_msg(err, EINVAL, "--console-socket given but process.terminal is false");
	else if (spec->terminal)
		r = open_console(spec, &io, &master, err);
	char fifo[PATH_MAX];
	int fifo_fd = -1;
	if (r == 0 && (nk_oci_path(rt, id, "exec.fifo", fifo, sizeof(fifo)) < 0 || mkfifo(fifo, 0600) < 0 ||
		       (fifo_fd = open(fifo, O_PATH | O_CLOEXEC)) < 0))
		r = nk_err_set(err, errno, "cannot create the exec FIFO");
	if (r == 0)
		r = nk_container_join_paths(spec, 1, err);
	if (r == 0 && (r = cg->ops->create(cg, err)) == 0)
		r = apply_device_rules(cg, spec, err);
	if (r == 0) {
		struct nk_container_oci oci = {.fifo_fd = fifo_fd, .state = state_for_hooks, .created = on_created, .opaque = c};
		struct nk_container_opts copts = {.io = io, .seccomp = spec->seccomp_json ? &prog : NULL, .oci = &oci};
		struct nk_container ct;
		r = nk_container_start(rt->paths, spec, &copts, cg, &ct, err);
		if (r == 0) {
			close(ct.sync_fd);
			c->st.pid = ct.init_pid;
			c->st.pid_start = nk_proc_start_time(ct.init_pid);
			r = nk_oci_state_write(rt, &c->st, err);
			if (r == 0 && opts->pid_file)
				r = nk_oci_write_pid_file(opts->pid_file, ct.init_pid, err);
			if (r == 0 && master >= 0)
				r = nk_oci_send_console(opts->console_socket, master, err);
			if (r < 0)
				kill(ct.init_pid, SIGKILL);
		}
	}
	nk_seccomp_prog_free(&prog);
	if (fifo_fd >= 0)
		close(fifo_fd);
	if (master >= 0)
		close(master);
	if (io.console >= 0)
		close(io.console);
	return r;
}

int nk_oci_create(const struct nk_oci *rt, const char *id, const struct nk_oci_create_opts *opts, struct nk_err *err)
{
	char dir[PATH_MAX];
	int r = nk_oci_check_id(id, err);
	if (r < 0)
		return r;
	if (nk_oci_path(rt, id, NULL, dir, sizeof(dir)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? nk_err_msg(err, EEXIST, "container %s already exists", id)
				       : nk_err_set(err, errno, "cannot create %s", dir);
	struct create_ctx c = {.rt = rt};
	snprintf(c.st.id, sizeof(c.st.id), "%s", id);
	c.st.created = nk_wall_time_s();
	struct nk_cgroup cg = {0};
	nk_autoclose int lock = nk_oci_lock(rt, id, err);
	r = lock < 0 ? lock : create_in_dir(&c, id, opts, &cg, err);
	if (r < 0) {
		/* Nothing half-made stays: the group, the records. */
		struct nk_err ignored;
		if (cg.ops)
			if (nk_cgroup_cleanup(&cg, &ignored) < 0)
				fprintf(stderr, "nook: %s\n", ignored.msg);
		if (nk_rm_rf(dir, &ignored) < 0)
			fprintf(stderr, "nook: %s\n", ignored.msg);
	}
	nk_oci_state_free(&c.st);
	nk_spec_free(&c.spec);
	return r;
}
