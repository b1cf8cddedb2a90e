/* The shell's parts: the command-line tokenizer (shell-split.c) and Tab completion
 * (shell-complete.c), used by the loop in cmd-shell.c. */
#ifndef NOOK_TUI_SHELL_H
#define NOOK_TUI_SHELL_H

#include "core/err.h"
#include "core/paths.h"

/* One command line split into words. */
struct nk_words {
	int argc;
	char **argv;    /* argc words, then NULL */
	char *buf;      /* the words' text, one allocation */
	char open_quote; /* with NK_SPLIT_PARTIAL: the quote still open at the end, else 0 */
};

/* For completion: an open quote or a final backslash is what the user is still typing,
 * not an error. */
#define NK_SPLIT_PARTIAL 1u

/* Split like a POSIX shell does, minus expansions: blanks separate words, '…' is literal,
 * "…" honours \" and \\, a backslash outside quotes escapes the next character, and '#'
 * at the start of a word comments out the rest. A blank or comment line gives argc 0.
 * An unterminated quote is -EINVAL with a message in err. Free with nk_words_free. */
int nk_shell_split(const char *line, unsigned flags, struct nk_words *w, struct nk_err *err) NK_MUST_CHECK;
void nk_words_free(struct nk_words *w);

/* Hook Tab completion into readline; names are read from paths when Tab is pressed. */
void nk_shell_complete_init(const struct nk_paths *paths);

#endif
