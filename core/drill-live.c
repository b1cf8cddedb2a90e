/* `nook drill NAME` on a running container: the agent is copied into its root, exec'd there
 * with the instance's own namespaces, cgroup, capabilities and filter (in teach mode, its
 * denials answered and reported here), then removed: the instance is left as it was. */
#include "drill-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "exec.h"
#include "instance.h"
#include "resources.h"
#include "seccomp-feed.h"
#include "spec.h"
#include "util.h"

#define LIVE_TIMEOUT_S 60

/* Copy the agent to host_path (a path through /proc/PID/root): created new, never
 * through something the instance planted there. */
static int copy_agent(const char *src, const char *host_path, const char *name, struct nk_err *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return nk_err_set(err, errno, "cannot open the drill agent %s", src);
	int out = open(host_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (out < 0) {
		int e = errno;
		close(in);
		if (e == EROFS)
			return nk_err_msg(err, e, "cannot put the drill agent into %s: its root is read-only "
						  "(drill its image instead: `nook drill IMAGE`)", name);
		return nk_err_set(err, e, "cannot put the drill agent into %s", name);
	}
	char buf[65536];
	ssize_t n;
	int r = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (nk_write_all(out, buf, (size_t)n) < 0) {
			r = nk_err_set(err, errno, "cannot write the drill agent into %s", name);
			break;
		}
	if (n < 0 && r == 0)
		r = nk_err_set(err, errno, "cannot read the drill agent %s", src);
	if (close(out) < 0 && r == 0)
		r = nk_err_set(err, errno, "cannot write the drill agent into %s", name);
	close(in);
	if (r < 0)
		unlink(host_path);
	return r;
}

/* A drill killed while its agent ran could not remove it: take away the agents of drills
 * that are gone (the name carries the drill's pid) from root (the instance's, through /proc). */
static void remove_stale_agents(const char *root)
{
	DIR *dir = opendir(root);
	if (!dir)
		return;
	int dfd = dirfd(dir);
	for (struct dirent *e; (e = readdir(dir));) {
		int pid;
		char end;
		if (sscanf(e->d_name, ".nook-drill-agent-%d%c", &pid, &end) != 1 || pid <= 0)
			continue;
		char proc[32];
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (access(proc, F_OK) < 0)
			(void)unlinkat(dfd, e->d_name, 0);
	}
	closedir(dir);
}

static uint64_t oom_kills(struct nk_cgroup *cg)
{
	struct nk_cgroup_stats st;
	nk_cgroup_read_once(cg, &st);
	return st.oom_kills;
}

/* Gather the agent's output, answering its denials, until it is done or the time is up. */
static int collect(pid_t pid, struct nk_exec_io *io, struct nk_drill_buf *out, struct nk_drill_buf *events,
		   struct nk_err *err)
{
	uint64_t deadline = nk_now_ns() + (uint64_t)LIVE_TIMEOUT_S * 1000000000ull;
	int r = 0;
	while (io->out >= 0 || io->errout >= 0) {
		struct pollfd p[3] = {{.fd = io->out, .events = POLLIN},
				      {.fd = io->errout, .events = POLLIN},
				      {.fd = io->seccomp_listener, .events = POLLIN}};
		uint64_t now = nk_now_ns();
		if (now >= deadline) {
			r = nk_err_msg(err, ETIMEDOUT, "the drill agent did not finish within %d s", LIVE_TIMEOUT_S);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 3, (int)((deadline - now) / 1000000) + 1) < 0 && errno != EINTR)
			break;
		char buf[4096];
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &io->errout : &io->out;
			if (*fd < 0 || !p[i].revents)
				continue;
			ssize_t n = read(*fd, buf, sizeof(buf));
			if (n > 0 && !i)
				(void)nk_drill_buf_add(out, buf, (size_t)n);
			else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				nk_closep(fd);
		}
		if (p[2].revents & POLLIN) {
			char line[2048];
			if (nk_seccomp_feed_answer(io->seccomp_listener, line, sizeof(line)) < 0)
				nk_closep(&io->seccomp_listener);
			else if (line[0] && (nk_drill_buf_add(events, line, strlen(line)) < 0 ||
					     nk_drill_buf_add(events, "\n", 1) < 0))
				r = nk_err_set(err, ENOMEM, "keeping the drill's seccomp events");
		} else if (p[2].revents) {
			nk_closep(&io->seccomp_listener);
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r;
}

int nk_drill_live(const struct nk_paths *paths, const struct nk_drill_opts *opts,
		  const struct nk_instance_info *info, struct nk_drill_report *rep, struct nk_err *err)
{
	const char *name = info->name;
	if (opts->profile)
		return nk_err_msg(err, EINVAL, "%s is a running instance: it keeps the profile it was started with "
					       "(--profile is for drilling an image)", name);
	if (info->state.status == NK_PAUSED)
		return nk_err_msg(err, EINVAL, "%s is paused: resume it to drill it (`nook resume %s`)", name, name);
	if (info->state.status != NK_RUNNING)
		return nk_err_msg(err, EINVAL, "%s is %s: start it to drill it (or drill its image: `nook drill %s`)",
				  name, nk_status_name(info->state.status), info->image);
	char path[PATH_MAX], agent[PATH_MAX], host_path[PATH_MAX], dest[64];
	struct nk_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (nk_path_instance(paths, name, "config.json", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "instance path too long");
	int r = nk_spec_load_file(path, &spec, err);
	if (r < 0)
		return r;
	if (spec.vm) {
		nk_spec_free(&spec);
		return nk_err_msg(err, ENOTSUP, "%s is a VM: the drill attacks a container's layers (a VM's guest has "
						"its own kernel); drill a container instead", name);
	}
	struct nk_drill_ctx ctx = {
	    .cap_eff = spec.cap_effective,
	    .seccomp = spec.seccomp_path && *spec.seccomp_path,
	    .host_i386 = nk_drill_host_i386(),
	    /* Explicitly unlimited is no limit at all, for what follows. */
	    .pids_limit = spec.limits.pids == NK_UNLIMITED ? 0 : spec.limits.pids,
	    .memory_limit = spec.limits.memory == NK_UNLIMITED ? 0 : spec.limits.memory,
	};
	ctx.seccomp_feed = ctx.feed_to_drill = ctx.seccomp;
	snprintf(rep->profile, sizeof(rep->profile), "%s", spec.profile && *spec.profile ? spec.profile : "default");
	nk_spec_free(&spec);
	/* Without a limit, the fork bomb and the memory hog would reach the host itself. */
	char skip[64] = "";
	snprintf(skip, sizeof(skip), "%s%s%s", ctx.pids_limit ? "" : "fork-bomb",
		 !ctx.pids_limit && !ctx.memory_limit ? "," : "", ctx.memory_limit ? "" : "memory-hog");
	if ((r = nk_drill_agent_path(agent, sizeof(agent), err)) < 0)
		return r;
	snprintf(dest, sizeof(dest), "/.nook-drill-agent-%d", (int)getpid());
	if ((size_t)snprintf(host_path, sizeof(host_path), "/proc/%d/root%s", (int)info->state.init_pid, dest) >=
	    sizeof(host_path))
		return nk_err_msg(err, ENAMETOOLONG, "path too long");
	struct nk_cgroup cg;
	if ((r = nk_cgroup_init(&cg, paths, name, err)) < 0)
		return r;
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root/", (int)info->state.init_pid);
	remove_stale_agents(root);
	if ((r = copy_agent(agent, host_path, name, err)) < 0)
		return r;
	snprintf(rep->instance, sizeof(rep->instance), "%s", name);
	snprintf(rep->image, sizeof(rep->image), "%s", info->image);
	rep->live = 1;
	char *args[] = {dest, skip[0] ? (char *)"--skip" : NULL, skip, NULL};
	struct nk_exec_opts eo = {.args = args, .seccomp_feed = 1};
	struct nk_exec_io io;
	pid_t pid = -1;
	uint64_t oom_before = oom_kills(&cg);
	struct nk_drill_buf out = {0}, events = {0};
	r = nk_exec_start(paths, name, &eo, 0, &io, &pid, err);
	if (r == 0) {
		r = collect(pid, &io, &out, &events, err);
		int *fds[] = {&io.master, &io.in, &io.out, &io.errout, &io.seccomp_listener};
		for (size_t i = 0; i < NK_ARRAY_SIZE(fds); i++)
			nk_closep(fds[i]);
	}
	/* Whatever happened: the instance gets its root back as it was. */
	if (unlink(host_path) < 0 && errno != ENOENT && r == 0)
		r = nk_err_set(err, errno, "cannot remove the drill agent from %s (%s)", name, dest);
	ctx.oom_kills = oom_kills(&cg) - oom_before;
	if (r == 0)
		r = nk_drill_classify(out.data, events.data, &ctx, rep, err);
	free(out.data);
	free(events.data);
	return r;
}
