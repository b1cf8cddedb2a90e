/* Paths under NOOK_ROOT/net and the lock files that serialise changes to them. */
#include "netdir-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

int nk_netdir_path(const char *root, const char *network, const char *file, char *out, size_t size,
		   struct nk_err *err)
{
	int r;
	if (!network)
		r = nk_fmt(out, size, "%s/net", root);
	else if (!file)
		r = nk_fmt(out, size, "%s/net/%s", root, network);
	else
		r = nk_fmt(out, size, "%s/net/%s/%s", root, network, file);
	if (r < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT path too long: %s", root);
	return 0;
}

int nk_netdir_lock(const char *path, struct nk_err *err)
{
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return nk_err_set(err, errno, "cannot open lock file %s", path);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				int e = errno;
				close(fd);
				return nk_err_set(err, e, "cannot lock %s", path);
			}
		}
		/* Whoever removed the directory while we waited held this lock; the file we
		 * locked may be gone, and a new one may guard the path now. */
		struct stat held, now;
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0) {
			if (held.st_ino == now.st_ino && held.st_dev == now.st_dev)
				return fd;
			close(fd);
			continue;
		}
		int e = errno;
		close(fd);
		return nk_err_set(err, e, "%s went away while waiting for its lock", path);
	}
}
