/* Tab completion for the shell: commands, options (read from each command's help text, so
 * they are defined once) and the names of instances, images and whatever else has a source. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include "core/image.h"
#include "core/instance.h"
#include "core/util.h"
#include "net/network.h"
#include "tui/cmd.h"
#include "tui/shell.h"

/* The words that could replace what is being completed. */
struct cands {
	const char *prefix;
	size_t prefix_len;
	char **v;
	size_t n, cap;
	int files; /* leave it to readline's file name completion */
};

static void cands_add(struct cands *c, const char *word)
{
	if (strncmp(word, c->prefix, c->prefix_len))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	char *copy = strdup(word);
	if (copy)
		c->v[c->n++] = copy;
}

static void cands_free(struct cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* --- name sources ---------------------------------------------------------------------- */

struct source_ctx {
	const struct nk_cmd *cmd;
	const struct nk_paths *paths;
	struct cands *c;
};

static void src_commands(const struct source_ctx *s)
{
	for (const struct nk_cmd *cmd = nk_cmds; cmd->name; cmd++) {
		if (cmd->hidden)
			continue;
		cands_add(s->c, cmd->name);
		if (cmd->alias)
			cands_add(s->c, cmd->alias);
	}
}

static void add_image(const char *name, const char *source, unsigned long long bytes, void *opaque)
{
	(void)source;
	(void)bytes;
	cands_add(opaque, name);
}

static void src_images(const struct source_ctx *s)
{
	struct nk_err err;
	/* A failed listing offers what it found: completion must not print over the line. */
	if (nk_image_list(s->paths, add_image, s->c, &err) < 0)
		return;
}

enum inst_filter { ANY, LIVE, IDLE };

struct inst_visit {
	struct cands *c;
	enum inst_filter filter;
};

static void add_instance(const struct nk_instance_info *info, void *opaque)
{
	struct inst_visit *v = opaque;
	int live = info->state.status == NK_RUNNING || info->state.status == NK_PAUSED;
	if (v->filter == ANY || (v->filter == LIVE) == live)
		cands_add(v->c, info->name);
}

static void list_instances(const struct source_ctx *s, enum inst_filter filter)
{
	struct inst_visit v = {s->c, filter};
	struct nk_err err;
	if (nk_inst_list(s->paths, add_instance, &v, &err) < 0)
		return;
}

static void src_instances(const struct source_ctx *s)
{
	list_instances(s, ANY);
}

static void src_live(const struct source_ctx *s)
{
	list_instances(s, LIVE);
}

static void src_idle(const struct source_ctx *s)
{
	list_instances(s, IDLE);
}

/* Subcommands are the help lines that start with a bare word: "  import NAME PATH". */
static void src_subcommands(const struct source_ctx *s)
{
	for (const char *line = s->cmd->help; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		if (line[0] == ' ' && line[1] == ' ' && line[2] >= 'a' && line[2] <= 'z') {
			char word[32];
			size_t len = strcspn(line + 2, " \n");
			if (len < sizeof(word)) {
				memcpy(word, line + 2, len);
				word[len] = '\0';
				cands_add(s->c, word);
			}
		}
		line = *eol ? eol + 1 : eol;
	}
}

static void src_networks(const struct source_ctx *s)
{
	struct nk_network *nets = NULL;
	size_t n = 0;
	struct nk_err err;
	if (nk_network_list(s->paths->root, &nets, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		cands_add(s->c, nets[i].name);
	free(nets);
}

/* --net takes a mode or a network's name. */
static void src_net_modes(const struct source_ctx *s)
{
	cands_add(s->c, "bridge");
	cands_add(s->c, "none");
	cands_add(s->c, "host");
	src_networks(s);
}

static void src_signals(const struct source_ctx *s)
{
	static const char *const names[] = {"KILL", "TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT"};
	for (size_t i = 0; i < NK_ARRAY_SIZE(names); i++)
		cands_add(s->c, names[i]);
}

static void src_files(const struct source_ctx *s)
{
	s->c->files = 1;
}

/* Which names go where. An argument slot has opt NULL and pos (1-based, 0 = any), and,
 * for commands with subcommands, sub: the first argument it follows. An option slot
 * names the option (its long form when it has one) whose value it completes.
 * A new name source is one line here (plus, at most, a small adapter above). */
static const struct slot {
	const char *cmd;
	const char *opt;
	const char *sub;
	int pos;
	void (*source)(const struct source_ctx *s);
} slots[] = {
    {"run", NULL, NULL, 1, src_images},
    {"create", NULL, NULL, 1, src_images},
    {"start", NULL, NULL, 0, src_idle},
    {"stop", NULL, NULL, 0, src_live},
    {"kill", NULL, NULL, 0, src_live},
    {"kill", "--signal", NULL, 0, src_signals},
    {"restart", NULL, NULL, 0, src_instances},
    {"rm", NULL, NULL, 0, src_instances},
    {"pause", NULL, NULL, 0, src_live},
    {"resume", NULL, NULL, 0, src_live},
    {"stats", NULL, NULL, 0, src_live},
    {"inspect", NULL, NULL, 0, src_instances},
    {"logs", NULL, NULL, 1, src_instances},
    {"attach", NULL, NULL, 1, src_live},
    {"exec", NULL, NULL, 1, src_live},
    {"image", NULL, NULL, 1, src_subcommands},
    {"image", NULL, "rm", 0, src_images},
    {"image", NULL, "import", 3, src_files},
    {"help", NULL, NULL, 1, src_commands},
    {"run", "--volume", NULL, 0, src_files},
    {"create", "--volume", NULL, 0, src_files},
    {"run", "--net", NULL, 0, src_net_modes},
    {"create", "--net", NULL, 0, src_net_modes},
    {"net", NULL, NULL, 1, src_subcommands},
    {"kernel", NULL, NULL, 1, src_subcommands},
    {"net", NULL, "inspect", 2, src_networks},
    {"net", NULL, "rm", 0, src_networks},
    /* Profiles, once run takes --profile: {"run", "--profile", NULL, 0, src_profiles}. */
};

static const struct slot *find_slot(const struct nk_cmd *cmd, const char *opt, const char *sub, int pos)
{
	for (size_t i = 0; i < NK_ARRAY_SIZE(slots); i++) {
		const struct slot *s = &slots[i];
		if (strcmp(s->cmd, cmd->name))
			continue;
		if (opt || s->opt) {
			if (opt && s->opt && !strcmp(opt, s->opt))
				return s;
			continue;
		}
		if (s->sub && (pos < 2 || !sub || strcmp(s->sub, sub)))
			continue;
		if (s->pos == 0 || s->pos == pos)
			return s;
	}
	return NULL;
}

/* --- options, from the help text ----------------------------------------------------- */

struct opt {
	char name_short[4]; /* "-e" or "" */
	char name_long[40]; /* "--env" or "" */
	int takes_arg;
};

static void copy_word(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Help lines look like "  -e, --env K=V        set ...": names separated by ", ", then
 * one space and a placeholder when the option takes a value, then the description. A
 * subcommand's options sit deeper ("    --subnet CIDR"); a description's continuation
 * lines sit deeper still, past the column where options start. */
static size_t help_options(const struct nk_cmd *cmd, struct opt *out, size_t max)
{
	size_t n = 0;
	for (const char *line = cmd->help; line && *line && n < max;) {
		const char *eol = strchrnul(line, '\n');
		size_t indent = strspn(line, " ");
		if (indent >= 2 && indent <= 6 && line[indent] == '-') {
			struct opt o = {0};
			const char *p = line + indent;
			for (;;) {
				size_t len = strcspn(p, ", \n");
				if (p[0] == '-' && p[1] == '-')
					copy_word(o.name_long, sizeof(o.name_long), p, len);
				else if (p[0] == '-')
					copy_word(o.name_short, sizeof(o.name_short), p, len);
				p += len;
				if (p[0] != ',' || p[1] != ' ')
					break;
				p += 2;
			}
			o.takes_arg = p[0] == ' ' && p[1] && p[1] != ' ' && p[1] != '\n';
			out[n++] = o;
		}
		line = *eol ? eol + 1 : eol;
	}
	return n;
}

/* The option a word sets, if it is one and its value is the next word. */
static const struct opt *needs_value(const struct opt *opts, size_t n, const char *word)
{
	if (word[0] != '-' || !word[1])
		return NULL;
	if (word[1] == '-') {
		if (strchr(word, '='))
			return NULL;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(opts[i].name_long, word))
				return opts[i].takes_arg ? &opts[i] : NULL;
		return NULL;
	}
	/* A cluster like -it or -e: getopt gives the rest of the word to the first option
	 * that takes a value, so only a value-taking option in last place wants the next word. */
	for (const char *p = word + 1; *p; p++)
		for (size_t i = 0; i < n; i++)
			if (opts[i].name_short[1] == *p && opts[i].takes_arg)
				return p[1] ? NULL : &opts[i];
	return NULL;
}

/* --- the readline hooks ---------------------------------------------------------------- */

/* readline's hooks take no opaque pointer, so the completer's state is file-static. */
static struct {
	const struct nk_paths *paths;
	struct cands c;
	size_t next;
} comp;

static void gather(const struct nk_words *w, struct cands *c)
{
	if (w->argc == 0) {
		src_commands(&(struct source_ctx){NULL, comp.paths, c});
		cands_add(c, "exit");
		cands_add(c, "quit");
		return;
	}
	const struct nk_cmd *cmd = nk_cmd_find(w->argv[0]);
	if (!cmd)
		return;
	struct opt opts[48];
	size_t nopts = help_options(cmd, opts, NK_ARRAY_SIZE(opts));
	const struct opt *pending = NULL;
	const char *sub = NULL;
	int pos = 0;
	for (int i = 1; i < w->argc; i++) {
		const char *word = w->argv[i];
		if (pending) {
			pending = NULL;
		} else if (!strcmp(word, "--")) {
			return; /* the rest is a command for inside the sandbox */
		} else if (word[0] == '-' && word[1]) {
			pending = needs_value(opts, nopts, word);
		} else if (++pos == 1) {
			sub = word;
		}
	}
	const struct slot *slot = NULL;
	if (pending) {
		slot = find_slot(cmd, pending->name_long[0] ? pending->name_long : pending->name_short, NULL, 0);
	} else if (c->prefix[0] == '-') {
		for (size_t i = 0; i < nopts; i++) {
			if (opts[i].name_short[0])
				cands_add(c, opts[i].name_short);
			if (opts[i].name_long[0])
				cands_add(c, opts[i].name_long);
		}
		cands_add(c, "--help");
		return;
	} else {
		slot = find_slot(cmd, NULL, sub, pos + 1);
	}
	if (!slot)
		return;
	size_t before = c->n;
	slot->source(&(struct source_ctx){cmd, comp.paths, c});
	/* `rm a b`: a name already on the line is not offered again. */
	if (pending)
		return;
	size_t kept = before;
	for (size_t i = before; i < c->n; i++) {
		int given = 0;
		for (int j = 1; j < w->argc && !given; j++)
			given = !strcmp(c->v[i], w->argv[j]);
		if (given)
			free(c->v[i]);
		else
			c->v[kept++] = c->v[i];
	}
	c->n = kept;
}

static char *next_match(const char *text, int state)
{
	(void)text;
	if (!state)
		comp.next = 0;
	return comp.next < comp.c.n ? strdup(comp.c.v[comp.next++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	cands_free(&comp.c);
	comp.c.prefix = text;
	comp.c.prefix_len = strlen(text);
	rl_attempted_completion_over = 1;
	char *before = strndup(rl_line_buffer, (size_t)start);
	if (!before)
		return NULL;
	struct nk_words w;
	struct nk_err err;
	int rc = nk_shell_split(before, NK_SPLIT_PARTIAL, &w, &err);
	free(before);
	if (rc < 0)
		return NULL;
	/* readline starts the word after an opening quote; that quote began this word. */
	if (w.open_quote && w.argc > 0)
		w.argc--;
	gather(&w, &comp.c);
	nk_words_free(&w);
	if (comp.c.files) {
		rl_attempted_completion_over = 0;
		return NULL;
	}
	if (comp.c.n == 0)
		return NULL;
	return rl_completion_matches(text, next_match);
}

void nk_shell_complete_init(const struct nk_paths *paths)
{
	comp.paths = paths;
	rl_readline_name = "nook";
	rl_attempted_completion_function = complete;
	/* Words break at blanks only: "--name=x" and "H:D" are one word each, as for getopt. */
	rl_basic_word_break_characters = " \t\n";
	rl_completer_quote_characters = "'\"";
}
