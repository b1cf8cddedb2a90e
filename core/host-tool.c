/* Host tools run with fork + exec (never a shell): argv is passed as is. */
#include "host-tool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static void keep_tail(struct nk_tool_result *res, const char *buf, size_t n)
{
	size_t cap = sizeof(res->output) - 1;
	if (n >= cap) {
		memcpy(res->output, buf + n - cap, cap);
		res->output_len = cap;
		res->truncated = 1;
	} else {
		if (res->output_len + n > cap) {
			size_t drop = res->output_len + n - cap;
			memmove(res->output, res->output + drop, res->output_len - drop);
			res->output_len -= drop;
			res->truncated = 1;
		}
		memcpy(res->output + res->output_len, buf, n);
		res->output_len += n;
	}
	res->output[res->output_len] = '\0';
}

/* argv[0] looked up in PATH, then in the sbin directories a root shell would have
 * (mkfs.ext4 lives in /usr/sbin). Done before fork: the child only calls async-signal-safe
 * functions, since the caller may have threads. */
static int find_program(const char *name, char *out, size_t size)
{
	if (strchr(name, '/'))
		return nk_fmt(out, size, "%s", name) < 0 ? -ENAMETOOLONG : 0;
	const char *env = getenv("PATH");
	char path[4096];
	if (nk_fmt(path, sizeof(path), "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		   env && *env ? env : "/usr/local/bin") < 0)
		return -ENAMETOOLONG;
	for (char *save, *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
		if (*dir && nk_fmt(out, size, "%s/%s", dir, name) == 0 && access(out, X_OK) == 0)
			return 0;
	return -ENOENT;
}

/* The caller's environment with LC_ALL=C (messages we can match) and a non-interactive
 * apt; a NULL-terminated malloc'd array of borrowed strings. */
static char **tool_env(void)
{
	extern char **environ;
	static char lc[] = "LC_ALL=C", deb[] = "DEBIAN_FRONTEND=noninteractive";
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = calloc(n + 3, sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LC_ALL=", 7) != 0 && strncmp(environ[i], "DEBIAN_FRONTEND=", 16) != 0)
			env[k++] = environ[i];
	env[k++] = lc;
	env[k++] = deb;
	return env;
}

static void child(const char *program, const char *const *argv, char **env, const char *cwd, int out_fd,
		  int status_fd)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	if (cwd && chdir(cwd) < 0) {
		int e = errno;
		(void)!write(status_fd, &e, sizeof(e));
		_exit(127);
	}
	execve(program, (char *const *)argv, env);
	int e = errno;
	(void)!write(status_fd, &e, sizeof(e));
	_exit(127);
}

int nk_tool_run(const char *const *argv, const char *cwd, struct nk_tool_result *res, struct nk_err *err)
{
	memset(res, 0, sizeof(*res));
	if (cwd && access(cwd, X_OK) < 0)
		return nk_err_set(err, errno, "cannot run %s in %s", argv[0], cwd);
	char program[4096];
	if (find_program(argv[0], program, sizeof(program)) < 0)
		return nk_err_msg(err, ENOENT, "%s is not installed (not found in PATH or the sbin directories)",
				  argv[0]);
	char **env = tool_env();
	if (!env)
		return nk_err_set(err, ENOMEM, "starting %s", argv[0]);
	int out[2], st[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		free(env);
		return nk_err_set(err, errno, "cannot create a pipe");
	}
	if (pipe2(st, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		free(env);
		return nk_err_set(err, errno, "cannot create a pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out[0]), close(out[1]), close(st[0]), close(st[1]);
		free(env);
		return nk_err_set(err, e, "cannot start %s", argv[0]);
	}
	if (pid == 0)
		child(program, argv, env, cwd, out[1], st[1]);
	free(env);
	close(out[1]);
	close(st[1]);
	char buf[8192];
	for (;;) {
		ssize_t n = read(out[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep_tail(res, buf, (size_t)n);
	}
	close(out[0]);
	int exec_errno = 0;
	ssize_t got = read(st[0], &exec_errno, sizeof(exec_errno));
	close(st[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(exec_errno) && exec_errno)
		return nk_err_set(err, exec_errno, "cannot run %s", program);
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

const char *nk_tool_last_line(struct nk_tool_result *res)
{
	size_t n = res->output_len;
	while (n > 0 && (res->output[n - 1] == '\n' || res->output[n - 1] == ' ' || res->output[n - 1] == '\r'))
		res->output[--n] = '\0';
	char *nl = strrchr(res->output, '\n');
	return nl ? nl + 1 : res->output;
}
