/* The shell's tokenizer: one command line into words, with quotes, escapes and comments. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tui/shell.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void nk_words_free(struct nk_words *w)
{
	free(w->argv);
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

int nk_shell_split(const char *line, unsigned flags, struct nk_words *w, struct nk_err *err)
{
	size_t len = strlen(line);
	memset(w, 0, sizeof(*w));
	/* A word takes at least one character and a separator, so no line has more than
	 * len/2 + 1 words; and unquoting never lengthens text, so len + 1 bytes hold every
	 * word with its terminator (an empty '' spends two characters on one NUL). */
	w->argv = calloc(len / 2 + 2, sizeof(*w->argv));
	w->buf = malloc(len + 1);
	if (!w->argv || !w->buf) {
		nk_words_free(w);
		return nk_err_set(err, ENOMEM, "cannot split a command line");
	}
	char *out = w->buf;
	const char *p = line;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p || *p == '#')
			break;
		char *word = out;
		char quote = 0;
		for (; *p; p++) {
			if (quote == '\'') {
				if (*p == '\'')
					quote = 0;
				else
					*out++ = *p;
			} else if (quote == '"') {
				if (*p == '"')
					quote = 0;
				else if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					*out++ = *++p;
				else
					*out++ = *p;
			} else if (is_blank(*p)) {
				break;
			} else if (*p == '\'' || *p == '"') {
				quote = *p;
			} else if (*p == '\\') {
				if (!p[1]) {
					if (flags & NK_SPLIT_PARTIAL)
						continue;
					nk_words_free(w);
					return nk_err_msg(err, EINVAL, "the line ends with a backslash; "
									"a command must fit on one line");
				}
				*out++ = *++p;
			} else {
				*out++ = *p;
			}
		}
		if (quote && !(flags & NK_SPLIT_PARTIAL)) {
			nk_words_free(w);
			return nk_err_msg(err, EINVAL, "unterminated %s quote; close it with %c",
					  quote == '\'' ? "single" : "double", quote);
		}
		w->open_quote = quote;
		*out++ = '\0';
		w->argv[w->argc++] = word;
	}
	w->argv[w->argc] = NULL;
	return 0;
}
