/* `exec`: another process in a running container, described by a process object (--process)
 * or by arguments, in the container's namespaces, cgroup and seccomp filter. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "exec-enter.h"
#include "oci.h"
#include "process.h"
#include "seccomp.h"
#include "spec.h"
#include "util.h"

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
	for (size_t i = 0; i < NK_EXEC_NS_COUNT; i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		fds[i] = -1;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, nk_exec_ns[i].file);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", nk_exec_ns[i].file);
		if (stat(theirs, &a) < 0)
			return nk_err_set(err, errno, "cannot reach %s", theirs);
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		if ((fds[i] = open(theirs, O_RDONLY | O_CLOEXEC)) < 0)
			return nk_err_set(err, errno, "cannot open %s", theirs);
	}
	return 0;
}

int nk_oci_exec(const struct nk_oci *rt, const char *id, const struct nk_oci_exec_opts *opts, int *exit_code,
		struct nk_err *err)
{
	struct nk_oci_state st;
	struct nk_spec ps = {0}, cs = {0};
	struct nk_seccomp_prog prog = {0};
	int ns[NK_EXEC_NS_COUNT], master = -1, slave = -1, report[2] = {-1, -1};
	for (size_t i = 0; i < NK_EXEC_NS_COUNT; i++)
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
	if (ps.terminal && (r = nk_exec_open_terminal(st.pid, 1, &master, &slave, err)) < 0)
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
		/* Detached, the process outlives this child: the caller's subreaper adopts it. */
		struct nk_exec_child child = {.spec = &ps, .seccomp = cs.seccomp_json ? &prog : NULL, .ns_fds = ns,
					      .cg = &cg, .slave = slave, .report_fd = report[1], .detach = opts->detach};
		nk_exec_child_run(&child);
	}
	nk_closep(&report[1]);
	int32_t pid = 0;
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
	for (size_t i = 0; i < NK_EXEC_NS_COUNT; i++)
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
