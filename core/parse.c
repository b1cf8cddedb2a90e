/* Parsers for what users type: names, sizes, volumes, environment entries, signals. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int nk_name_check(const char *name, const char *what, struct nk_err *err)
{
	if (!name || !*name)
		return nk_err_msg(err, EINVAL, "%s name is empty: use letters, digits, '_', '.', '-'", what);
	size_t n = strlen(name);
	if (n > NK_NAME_MAX)
		return nk_err_msg(err, EINVAL, "%s name is %zu characters long; the limit is %d", what, n,
				  NK_NAME_MAX);
	if (!isalnum((unsigned char)name[0]))
		return nk_err_msg(err, EINVAL,
				  "invalid %s name '%s': it must start with a letter or a digit", what, name);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return nk_err_msg(err, EINVAL,
					  "invalid %s name '%s': character '%c' is not allowed "
					  "(use letters, digits, '_', '.', '-')",
					  what, name, isprint(c) ? c : '?');
	}
	return 0;
}

void nk_name_generate(char *out, size_t size)
{
	static const char *const adjectives[] = {"brave", "calm", "eager", "fuzzy", "gentle", "happy",
						  "jolly", "keen",  "lucid", "merry", "nimble", "proud",
						  "quiet", "rapid", "sunny", "tidy",  "witty", "zesty"};
	static const char *const nouns[] = {"otter", "badger", "heron", "lynx",  "marten", "newt",
					     "owl",   "panda",  "quail", "raven", "stoat",  "tapir",
					     "vole",  "wren",   "yak",   "finch", "gecko",  "ibis"};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned seed = (unsigned)ts.tv_nsec ^ (unsigned)getpid() * 2654435761u;
	snprintf(out, size, "%s-%s-%04u", adjectives[seed % NK_ARRAY_SIZE(adjectives)],
		 nouns[(seed / 31) % NK_ARRAY_SIZE(nouns)], (seed / 997) % 10000);
}

int nk_size_parse(const char *s, uint64_t *bytes, struct nk_err *err)
{
	if (!s || !*s)
		return nk_err_msg(err, EINVAL, "empty size: give a number with an optional unit, like 256M");
	const char *p = s;
	if (!isdigit((unsigned char)*p) && *p != '.')
		return nk_err_msg(err, EINVAL, "invalid size '%s': give a positive number like 256M or 1G", s);
	char *end;
	errno = 0;
	double v = strtod(p, &end);
	if (errno || end == p || !isfinite(v) || v < 0)
		return nk_err_msg(err, EINVAL, "invalid size '%s': give a positive number like 256M or 1G", s);
	double mult = 1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'b':
		break;
	case 'k':
		mult = 1024.0;
		break;
	case 'm':
		mult = 1024.0 * 1024;
		break;
	case 'g':
		mult = 1024.0 * 1024 * 1024;
		break;
	case 't':
		mult = 1024.0 * 1024 * 1024 * 1024;
		break;
	default:
		return nk_err_msg(err, EINVAL, "invalid size '%s': unknown unit '%c' (use k, M, G or T)", s,
				  *end);
	}
	if (*end) {
		end++;
		/* Accept "MB", "MiB", "kb" too; nothing else may follow. */
		if (tolower((unsigned char)*end) == 'i')
			end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
	}
	if (*end)
		return nk_err_msg(err, EINVAL, "invalid size '%s': unexpected '%s' after the number", s, end);
	double total = v * mult;
	if (total >= 18446744073709551615.0)
		return nk_err_msg(err, ERANGE, "size '%s' is too large", s);
	*bytes = (uint64_t)total;
	return 0;
}

static int path_clean(const char *p)
{
	/* Refuse ".." components: a destination must not climb out of the rootfs. */
	const char *c = p;
	while ((c = strstr(c, "..")) != NULL) {
		int starts = (c == p || c[-1] == '/');
		int ends = (c[2] == '\0' || c[2] == '/');
		if (starts && ends)
			return 0;
		c += 2;
	}
	return 1;
}

int nk_volume_parse(const char *spec, struct nk_volume *vol, struct nk_err *err)
{
	memset(vol, 0, sizeof(*vol));
	if (!spec || !*spec)
		return nk_err_msg(err, EINVAL, "empty volume: use -v HOST:DEST[:ro]");
	char buf[2 * PATH_MAX + 8];
	if (nk_fmt(buf, sizeof(buf), "%s", spec) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "volume '%.64s...' is too long", spec);
	char *first = strchr(buf, ':');
	if (!first)
		return nk_err_msg(err, EINVAL, "invalid volume '%s': use -v HOST:DEST[:ro]", spec);
	*first = '\0';
	char *dest = first + 1;
	char *mode = strchr(dest, ':');
	if (mode) {
		*mode++ = '\0';
		if (!strcmp(mode, "ro"))
			vol->readonly = 1;
		else if (strcmp(mode, "rw") != 0)
			return nk_err_msg(err, EINVAL, "invalid volume mode '%s' in '%s': use ro or rw", mode,
					  spec);
	}
	if (buf[0] != '/')
		return nk_err_msg(err, EINVAL,
				  "invalid volume '%s': the host path must be absolute (try $PWD/%s)", spec,
				  buf);
	if (dest[0] != '/')
		return nk_err_msg(err, EINVAL,
				  "invalid volume '%s': the container path must be absolute", spec);
	if (!path_clean(dest) || !strcmp(dest, "/"))
		return nk_err_msg(err, EINVAL,
				  "invalid volume '%s': the container path must be below / without '..'",
				  spec);
	if (nk_fmt(vol->source, sizeof(vol->source), "%s", buf) < 0 ||
	    nk_fmt(vol->dest, sizeof(vol->dest), "%s", dest) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "volume path too long in '%s'", spec);
	return 0;
}

int nk_env_check(const char *entry, struct nk_err *err)
{
	if (!entry || !*entry || entry[0] == '=')
		return nk_err_msg(err, EINVAL, "invalid environment entry '%s': use -e NAME=VALUE",
				  entry ? entry : "");
	for (const char *p = entry; *p && *p != '='; p++) {
		unsigned char c = (unsigned char)*p;
		if (isspace(c) || !isprint(c))
			return nk_err_msg(err, EINVAL,
					  "invalid environment entry '%s': the name may not contain spaces",
					  entry);
	}
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

int nk_signal_parse(const char *s, int *sig, struct nk_err *err)
{
	if (!s || !*s)
		return nk_err_msg(err, EINVAL, "empty signal: give a name like TERM or a number");
	if (isdigit((unsigned char)s[0])) {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end || v < 1 || v > SIGRTMAX)
			return nk_err_msg(err, EINVAL, "invalid signal '%s': numbers run from 1 to %d", s,
					  SIGRTMAX);
		*sig = (int)v;
		return 0;
	}
	const char *n = s;
	if (!strncasecmp(n, "SIG", 3))
		n += 3;
	for (size_t i = 0; i < NK_ARRAY_SIZE(signals); i++) {
		if (!strcasecmp(n, signals[i].name)) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return nk_err_msg(err, EINVAL, "unknown signal '%s': try TERM, KILL, HUP, INT or a number", s);
}

const char *nk_signal_name(int sig)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return "?";
}
