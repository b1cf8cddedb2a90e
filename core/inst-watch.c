/* Change notification for the instance store, by inotify: the instances directory for
 * arrivals and departures, each instance directory for state.json being replaced. */
#include "inst-watch.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "util.h"

/* State is written to a temporary file and renamed over state.json: a rename in. */
#define INST_EVENTS (IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_ONLYDIR)
#define DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR)

static void watch_instance(struct nk_inst_watch *w, const char *name)
{
	char p[PATH_MAX];
	if (name[0] == '.' || strlen(name) >= sizeof(w->inst[0].name) ||
	    nk_fmt(p, sizeof(p), "%s/%s", w->dir, name) < 0)
		return;
	int wd = inotify_add_watch(w->fd, p, INST_EVENTS);
	if (wd < 0)
		return;
	for (size_t i = 0; i < w->count; i++)
		if (w->inst[i].wd == wd) {
			snprintf(w->inst[i].name, sizeof(w->inst[i].name), "%s", name);
			return;
		}
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct nk_inst_watch_entry *n = realloc(w->inst, cap * sizeof(*n));
		if (!n) {
			inotify_rm_watch(w->fd, wd);
			return;
		}
		w->inst = n;
		w->cap = cap;
	}
	w->inst[w->count].wd = wd;
	snprintf(w->inst[w->count].name, sizeof(w->inst[w->count].name), "%s", name);
	w->count++;
}

static void forget(struct nk_inst_watch *w, size_t i)
{
	w->inst[i] = w->inst[--w->count];
}

int nk_inst_watch_open(const struct nk_paths *paths, struct nk_inst_watch *w, struct nk_err *err)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (nk_fmt(w->dir, sizeof(w->dir), "%s/instances", paths->root) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	int r = nk_mkdir_p(w->dir, 0700, err);
	if (r < 0)
		return r;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return nk_err_set(err, errno, "cannot watch %s", w->dir);
	w->dir_wd = inotify_add_watch(w->fd, w->dir, DIR_EVENTS);
	if (w->dir_wd < 0) {
		int e = errno;
		nk_closep(&w->fd);
		return nk_err_set(err, e, "cannot watch %s", w->dir);
	}
	DIR *d = opendir(w->dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		watch_instance(w, e->d_name);
	if (d)
		closedir(d);
	return 0;
}

static void handle(struct nk_inst_watch *w, const struct inotify_event *ev, nk_inst_watch_fn fn, void *opaque)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		fn(NULL, opaque);
		return;
	}
	if (ev->wd == w->dir_wd) {
		if (!ev->len || ev->name[0] == '.')
			return; /* staging directories are not instances yet */
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			watch_instance(w, ev->name);
		fn(ev->name, opaque);
		return;
	}
	for (size_t i = 0; i < w->count; i++) {
		if (w->inst[i].wd != ev->wd)
			continue;
		if (ev->mask & IN_IGNORED) {
			forget(w, i);
			return;
		}
		if ((ev->mask & IN_DELETE_SELF) || (ev->len && !strcmp(ev->name, "state.json")))
			fn(w->inst[i].name, opaque);
		return;
	}
}

void nk_inst_watch_read(struct nk_inst_watch *w, nk_inst_watch_fn fn, void *opaque)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			handle(w, ev, fn, opaque);
			p += sizeof(*ev) + ev->len;
		}
	}
}

void nk_inst_watch_close(struct nk_inst_watch *w)
{
	nk_closep(&w->fd);
	free(w->inst);
	w->inst = NULL;
	w->count = w->cap = 0;
}
