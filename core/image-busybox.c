/* The `busybox` image, built on first use from the host's static busybox. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image-internal.h"
#include "util.h"

static const char *const busybox_candidates[] = {"/bin/busybox", "/usr/bin/busybox"};

static const struct {
	const char *path, *content;
} etc_files[] = {
    {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
    {"etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"},
    {"etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
    {"etc/hostname", "nook\n"},
    {"etc/resolv.conf", "# no DNS server is reachable from an isolated sandbox\n"},
    {"etc/shells", "/bin/sh\n/bin/ash\n"},
};

static const char *const dirs[] = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp",
				   "proc", "sys", "dev", "home", "var", "var/tmp", "run", "mnt"};

/* Ask busybox for its applets ("/bin/sh", "/usr/bin/wc", ...), one per line. */
static int list_applets(const char *busybox, char **out, struct nk_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nk_err_set(err, errno, "cannot create a pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return nk_err_set(err, errno, "cannot fork");
	}
	if (pid == 0) {
		dup2(p[1], 1);
		execl(busybox, "busybox", "--list-full", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t cap = 16384, used = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(p[0], buf + used, cap - used - 1)) > 0) {
		used += (size_t)n;
		if (used + 1 >= cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!buf)
		return nk_err_set(err, ENOMEM, "listing busybox applets");
	buf[used] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || used == 0) {
		free(buf);
		return nk_err_msg(err, EIO, "%s --list-full failed: is it busybox-static?", busybox);
	}
	*out = buf;
	return 0;
}

int nk_image_build_busybox(const char *rootfs, struct nk_err *err)
{
	const char *busybox = NULL;
	for (size_t i = 0; i < NK_ARRAY_SIZE(busybox_candidates); i++)
		if (access(busybox_candidates[i], X_OK) == 0)
			busybox = busybox_candidates[i];
	if (!busybox)
		return nk_err_msg(err, ENOENT,
				  "no busybox on this host: install it with `apt-get install busybox-static` "
				  "(or run `make deps`)");
	char path[PATH_MAX];
	for (size_t i = 0; i < NK_ARRAY_SIZE(dirs); i++) {
		if (nk_fmt(path, sizeof(path), "%s/%s", rootfs, dirs[i]) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "image path too long");
		int sticky = !strcmp(dirs[i], "tmp") || !strcmp(dirs[i], "var/tmp");
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot create %s", path);
		/* mkdir's mode passes through the umask; set the real one explicitly. */
		if (chmod(path, sticky ? 01777 : 0755) < 0)
			return nk_err_set(err, errno, "cannot set the mode of %s", path);
	}
	if (nk_fmt(path, sizeof(path), "%s/bin", rootfs) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "image path too long");
	int r = nk_image_copy_file(busybox, path, "busybox", err);
	if (r < 0)
		return r;
	nk_autofree char *applets = NULL;
	if ((r = list_applets(busybox, &applets, err)) < 0)
		return r;
	for (char *line = strtok(applets, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '/')
			line++;
		if (!strcmp(line, "bin/busybox") || strstr(line, ".."))
			continue;
		/* Relative links keep the tree valid wherever it is mounted. */
		int depth = 0;
		for (const char *c = line; *c; c++)
			depth += *c == '/';
		char target[64] = "";
		for (int d = 0; d < depth; d++)
			strcat(target, "../");
		strcat(target, "bin/busybox");
		if (nk_fmt(path, sizeof(path), "%s/%s", rootfs, line) < 0)
			continue;
		if (symlink(target + (depth == 1 && !strncmp(line, "bin/", 4) ? 7 : 0), path) < 0 && errno != EEXIST)
			return nk_err_set(err, errno, "cannot link %s", path);
	}
	for (size_t i = 0; i < NK_ARRAY_SIZE(etc_files); i++) {
		if (nk_fmt(path, sizeof(path), "%s/%s", rootfs, etc_files[i].path) < 0)
			return nk_err_msg(err, ENAMETOOLONG, "image path too long");
		if ((r = nk_write_file_atomic(path, etc_files[i].content, strlen(etc_files[i].content), 0644,
					      err)) < 0)
			return r;
	}
	return 0;
}
