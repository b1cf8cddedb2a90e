/* The live feed of denied system calls (teach mode): answered EPERM, recorded as JSON lines. */
#include "seccomp-feed.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "logs.h"
#include "seccomp.h"
#include "util.h"

static void stamp(json_object *o, const char *kind)
{
	char when[32];
	nk_time_iso(nk_wall_time_s(), when, sizeof(when));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "kind", json_object_new_string(kind));
}

static void append(const struct nk_paths *paths, const char *name, json_object *o, char *line, size_t size)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text) {
		(void)nk_events_append(paths, name, text);
		if (line)
			snprintf(line, size, "%s", text);
	}
}

/* Answer one notification EPERM; the event as a JSON object (NULL when there is none to
 * record: the caller went away first). */
static int answer(int listener, json_object **out)
{
	struct nk_seccomp_event ev;
	struct nk_err err;
	memset(&ev, 0, sizeof(ev));
	*out = NULL;
	int r = nk_seccomp_notify_answer(listener, EPERM, &ev, &err);
	/* ENOENT: the caller went away before it could be answered; nothing happened. */
	if (r == -ENOENT || r == -EINTR)
		return 0;
	if (r < 0)
		return r;
	json_object *o = json_object_new_object();
	stamp(o, "seccomp");
	json_object_object_add(o, "syscall", json_object_new_string(ev.name));
	json_object_object_add(o, "nr", json_object_new_int(ev.nr));
	json_object_object_add(o, "pid", json_object_new_int((int)ev.pid));
	json_object *args = json_object_new_array();
	for (int i = 0; i < 6; i++) {
		char hex[24];
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)ev.args[i]);
		json_object_array_add(args, json_object_new_string(hex));
	}
	json_object_object_add(o, "args", args);
	json_object_object_add(o, "answer", json_object_new_string("EPERM"));
	*out = o;
	return 0;
}

int nk_seccomp_feed_handle(int listener, const struct nk_paths *paths, const char *name, char *line, size_t size)
{
	json_object *o;
	int r = answer(listener, &o);
	if (o)
		append(paths, name, o, line, size);
	json_object_put(o);
	return r;
}

int nk_seccomp_feed_answer(int listener, char *line, size_t size)
{
	json_object *o;
	int r = answer(listener, &o);
	line[0] = '\0';
	if (o) {
		const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		snprintf(line, size, "%s", text ? text : "");
	}
	json_object_put(o);
	return r;
}

int nk_seccomp_feed_learn(int listener, const struct nk_paths *paths, const char *name, uint8_t seen[128])
{
	struct nk_seccomp_event ev;
	struct nk_err err;
	memset(&ev, 0, sizeof(ev));
	int r = nk_seccomp_notify_answer(listener, 0, &ev, &err);
	if ((r < 0 && r != -ENOENT) || !ev.name[0])
		return r == -EINTR || r == -ENOENT ? 0 : r;
	if (ev.nr >= 0 && ev.nr < 1024) {
		if (seen[ev.nr / 8] & (1u << (ev.nr % 8)))
			return 0;
		seen[ev.nr / 8] |= (uint8_t)(1u << (ev.nr % 8));
	}
	json_object *o = json_object_new_object();
	stamp(o, "learned");
	json_object_object_add(o, "syscall", json_object_new_string(ev.name));
	json_object_object_add(o, "nr", json_object_new_int(ev.nr));
	append(paths, name, o, NULL, 0);
	json_object_put(o);
	return 0;
}

void nk_events_record(const struct nk_paths *paths, const char *name, const char *kind, const char *message)
{
	json_object *o = json_object_new_object();
	stamp(o, kind);
	json_object_object_add(o, "message", json_object_new_string(message));
	append(paths, name, o, NULL, 0);
	json_object_put(o);
}
