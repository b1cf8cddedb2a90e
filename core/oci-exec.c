/* `exec`: another process in a running container, described by a process object (--process)
 * or by arguments, in the container's namespaces, cgroup and seccomp filter. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "oci.h"
#include "process.h"
#include "seccomp.h"
#include "spec.h"
#include "util.h"

/* Joined in this order; the mount namespace last, since the others are opened through /proc. */
static const struct {
	const char *file;
	int flag;
} namespaces[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
		  {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};

/* The process to run: the --process document in place of the bundle's process. */
static int load_process(const struct nk_oci_state *st, const struct nk_oci_exec_opts *opts, struct nk_spec *out,
			struct nk_err *err)
{
	char p[PATH_MAX];
	if (nk_fmt(p, sizeof(p), "%s/config.json", st->bundle) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "bundle path too long");
	if (!opts->process_file) {
		int r = nk_spec_load_file(p, out, err);
		if (r < 0)
			return r;
		size_t n = 0;
		while (opts->args && opts->args[n])
			n++;
		if (!n)
			return nk_err_msg(err, EINVAL, "exec needs a command or --process");
		for (size_t i = 0; out->args[i]; i++)
			free(out->args[i]);
		free(out->args);
		out->args = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; out->args && i < n; i++)
			out->args[i] = strdup(opts->args[i]);
		out->terminal = opts->tty;
		return out->args ? 0 : nk_err_set(err, ENOMEM, "exec");
	}
	nk_autofree char *text = NULL;
	int r = nk_read_file(opts->process_file, &text, NULL, err);
	if (r < 0)
		return r;
	json_object *proc = json_tokener_parse(text);
	if (!proc || !json_object_is_type(proc, json_type_object)) {
		json_object_put(proc);
		return nk_err_msg(err, EINVAL, "%s is not a JSON process object", opts->process_file);
	}
	json_object *doc = json_object_new_object(), *root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("/"));
	json_object_object_add(doc, "process", proc);
	json_object_object_add(doc, "root", root);
	r = nk_spec_load(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), out, err);
	json_object_put(doc);
	if (r < 0)
		return nk_err_prefix(err, "%s", opts->process_file);
	if (opts->tty)
		out->terminal = 1;
	return 0;
}

static int apply_overrides(struct nk_spec *ps, const struct nk_oci_exec_opts *opts, struct nk_err *err)
{
	if (opts->cwd) {
		free(ps->cwd);
		ps->cwd = strdup(opts->cwd);
	}
	if (!opts->env_count)
		return 0;
	size_t n = 0;
	while (ps->env && ps->env[n])
		n++;
	char **env = realloc(ps->env, (n + opts->env_count + 1) * sizeof(char *));
	if (!env)
		return nk_err_set(err, ENOMEM, "exec");
	for (size_t i = 0; i < opts->env_count; i++)
		env[n++] = strdup(opts->env[i]);
	env[n] = NULL;
	ps->env = env;
	return 0;
}

/* Open the container's namespaces that differ from ours. */
static int open_namespaces(pid_t pid, int fds[], struct nk_err *err)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(namespaces); i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		fds[i] = -1;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, namespaces[i].file);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", namespaces[i].file);
		if (stat(theirs, &a) < 0)
			return nk_err_set(err, errno, "cannot reach %s", theirs);
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		if ((fds[i] = open(theirs, O_RDONLY | O_CLOEXEC)) < 0)
			return nk_err_set(err, errno, "cannot open %s", theirs);
	}
	return 0;
}

/* In the intermediate child: join, fork the process itself, report its pid, and either
 * leave (detach: the caller's subreaper adopts it) or wait and pass its status on. */
static void intermediate(struct nk_spec *ps, const struct nk_seccomp_prog *seccomp, struct nk_cgroup *cg,
			 const int ns[], int slave, int report, int detach)
{
	struct nk_err err = {0};
	if (nk_cgroup_join(cg, &err) < 0)
		goto fail;
	for (size_t i = 0; i < NK_ARRAY_SIZE(namespaces); i++)
		if (ns[i] >= 0 && setns(ns[i], namespaces[i].flag) < 0) {
			nk_err_set(&err, errno, "cannot join the container's %s namespace", namespaces[i].file);
			goto fail;
		}
	pid_t pid = fork();
	if (pid < 0) {
		nk_err_set(&err, errno, "cannot fork in the container");
		goto fail;
	}
	if (pid == 0) {
		close(report);
		if (slave >= 0) {
			setsid();
			ioctl(slave, TIOCSCTTY, 0);
			for (int i = 0; i < 3; i++)
				dup2(slave, i);
		}
		struct nk_launch launch = {.seccomp = seccomp, .report_fd = -1, .keep_fd = -1};
		int r = nk_process_exec(ps, &launch, &err);
		dprintf(2, "nook: %s\n", err.msg);
		_exit(nk_process_exit_code(r));
	}
	(void)!write(report, &pid, sizeof(pid));
	close(report);
	if (detach)
		_exit(0);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
fail:
	dprintf(2, "nook: %s\n", err.msg);
	_exit(NK_EXIT_NOOK_FAILED);
}

/* A terminal of the container's own devpts when it has one, else of the host's. */
static int open_terminal(pid_t pid, int *master, int *slave, struct nk_err *err)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/root/dev/pts/ptmx", (int)pid);
	*master = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || unlockpt(*master) < 0 || (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return nk_err_set(err, errno, "cannot allocate a terminal");
	return 0;
}

int nk_oci_exec(const struct nk_oci *rt, const char *id, const struct nk_oci_exec_opts *opts, int *exit_code,
		struct nk_err *err)
{
	struct nk_oci_state st;
	struct nk_spec ps = {0}, cs = {0};
	struct nk_seccomp_prog prog = {0};
	int ns[NK_ARRAY_SIZE(namespaces)], master = -1, slave = -1, report[2] = {-1, -1};
	for (size_t i = 0; i < NK_ARRAY_SIZE(ns); i++)
		ns[i] = -1;
	*exit_code = NK_EXIT_NOOK_FAILED;
	int r = nk_oci_state_read(rt, id, &st, err);
	if (r < 0)
		return r;
	char cfg[PATH_MAX];
	struct nk_cgroup cg;
	if (strcmp(st.status, "running") && strcmp(st.status, "created")) {
		r = nk_err_msg(err, EINVAL, "cannot exec in container %s: it is %s", id, st.status);
		goto out;
	}
	if ((r = load_process(&st, opts, &ps, err)) < 0 || (r = apply_overrides(&ps, opts, err)) < 0)
		goto out;
	if (nk_fmt(cfg, sizeof(cfg), "%s/config.json", st.bundle) < 0 || (r = nk_spec_load_file(cfg, &cs, err)) < 0)
		goto out;
	if (cs.seccomp_json && (r = nk_seccomp_compile(cs.seccomp_json, strlen(cs.seccomp_json), "config.json linux.seccomp",
						      ps.cap_bounding, NK_SECCOMP_LENIENT_NAMES, &prog, err)) < 0)
		goto out;
	if ((r = nk_cgroup_init_path(&cg, st.cgroup, err)) < 0 || (r = open_namespaces(st.pid, ns, err)) < 0)
		goto out;
	if (ps.terminal && !opts->console_socket) {
		r = nk_err_msg(err, EINVAL, "a terminal needs --console-socket");
		goto out;
	}
	if (ps.terminal && (r = open_terminal(st.pid, &master, &slave, err)) < 0)
		goto out;
	if (pipe2(report, O_CLOEXEC) < 0) {
		r = nk_err_set(err, errno, "cannot create a pipe");
		goto out;
	}
	pid_t mid = fork();
	if (mid < 0) {
		r = nk_err_set(err, errno, "cannot fork");
		goto out;
	}
	if (mid == 0) {
		close(report[0]);
		if (master >= 0)
			close(master);
		intermediate(&ps, cs.seccomp_json ? &prog : NULL, &cg, ns, slave, report[1], opts->detach);
	}
	nk_closep(&report[1]);
	pid_t pid = 0;
	if (nk_read_full(report[0], &pid, sizeof(pid)) != sizeof(pid)) {
		int status = 0;
		waitpid(mid, &status, 0);
		r = nk_err_msg(err, ECHILD, "could not start the process in %s (see above)", id);
		goto out;
	}
	if (opts->pid_file && (r = nk_oci_write_pid_file(opts->pid_file, pid, err)) < 0)
		kill(pid, SIGKILL);
	if (r == 0 && master >= 0 && (r = nk_oci_send_console(opts->console_socket, master, err)) < 0)
		kill(pid, SIGKILL);
	nk_closep(&slave);
	nk_closep(&master);
	int status = 0;
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0)
		*exit_code = opts->detach ? 0 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	for (size_t i = 0; i < NK_ARRAY_SIZE(ns); i++)
		nk_closep(&ns[i]);
	nk_closep(&master);
	nk_closep(&slave);
	nk_closep(&report[0]);
	nk_closep(&report[1]);
	nk_seccomp_prog_free(&prog);
	nk_spec_free(&ps);
	nk_spec_free(&cs);
	nk_oci_state_free(&st);
	return r;
}
