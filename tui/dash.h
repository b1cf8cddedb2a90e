/* The dashboard's shared state (one struct nk_dash, no globals) and the interfaces
 * between its files: loop, data, columns, drawing, keys, jobs and the views. */
#ifndef NOOK_TUI_DASH_H
#define NOOK_TUI_DASH_H

#include <curses.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/hostinfo.h"
#include "core/hostload.h"
#include "core/inst-watch.h"
#include "core/instance.h"
#include "core/isolation.h"
#include "core/stats.h"
#include "tui/cmd.h"

#define DASH_HIST 180     /* seconds of history per instance; the sparkline shows the last 60 */
#define DASH_SPARK_S 60
#define DASH_EVENTS 32    /* events remembered per instance */
#define DASH_MAX_JOBS 256  /* enough to act on every one of a few hundred tagged rows at once */
#define DASH_MAX_VIEWS 8
#define DASH_TEXT 256     /* prompt and form field buffers */
#define DASH_MIN_COLS 40
#define DASH_MIN_LINES 10

enum {
	DIRTY_HEAD = 1,
	DIRTY_BODY = 2,
	DIRTY_MSG = 4,
	DIRTY_FOOT = 8,
	DIRTY_ALL = 15,
};

/* What a piece of text means; mapped to colours, or to bold/reverse without colour. */
enum dash_role {
	DR_NORMAL, DR_HEADER, DR_TITLE, DR_RUNNING, DR_PAUSED, DR_STOPPED, DR_CREATED, DR_ERROR, DR_OK,
	DR_DIM, DR_TAG, DR_MATCH, DR_SPARK, DR_KEY, DR_BUSY, DR_COUNT
};

struct nk_dash;

/* --- instances ------------------------------------------------------------------------ */

struct dash_event {
	int64_t at;
	char text[120];
};

struct dash_row {
	struct nk_instance_info info;
	struct nk_stats_sampler sampler;
	int sampling;              /* sampler open */
	struct nk_stats st;        /* last sample */
	int have_st;
	/* One entry per second, oldest first from hist_pos; -1: no sample that second. */
	float cpu[DASH_HIST], mem[DASH_HIST], pids[DASH_HIST], io[DASH_HIST], net[DASH_HIST];
	unsigned hist_len, hist_pos;
	int tagged;
	int busy;                  /* background jobs acting on it */
	char busy_verb[16];        /* "stopping" */
	int seen;                  /* marked during a full reload */
	struct dash_event ev[DASH_EVENTS];
	unsigned ev_len, ev_pos;
};

/* --- keys and views ------------------------------------------------------------------- */

typedef void (*dash_action_fn)(struct nk_dash *d);

/* One line of a keymap: it dispatches, it labels the footer and it writes `?` help. */
struct dash_key {
	int keys[3];           /* up to three keys doing the same; 0 ends */
	const char *keyname;   /* as shown: "Enter", "j/Down" */
	dash_action_fn action; /* NULL ends the table */
	const char *label;     /* footer word; NULL: only in help */
	const char *help;
};

struct dash_view_ops {
	const char *name;
	const struct dash_key *keys;
	void (*title)(struct nk_dash *d, char *buf, size_t size); /* the header's second line */
	void (*draw)(struct nk_dash *d, WINDOW *w);
	int (*key)(struct nk_dash *d, int ch);                  /* before the keymap; 1: consumed */
	void (*mouse)(struct nk_dash *d, const MEVENT *ev, int y, int x); /* body coordinates */
	void (*tick)(struct nk_dash *d);                        /* once a second */
	void (*leave)(struct nk_dash *d);
	int modal;                                              /* drawn over the view below */
};

/* --- background work ------------------------------------------------------------------ */

struct dash_job;
struct dash_job_ops {
	/* In the child process: do the work, report on out; the return is the exit status. */
	int (*run)(struct nk_dash *d, struct dash_job *j, int out);
	/* In the dashboard: output as it arrives (optional), then the end. */
	void (*data)(struct nk_dash *d, struct dash_job *j, const char *buf, size_t len);
	void (*done)(struct nk_dash *d, struct dash_job *j, int status);
	int capture_stdio;  /* the child's stdout and stderr go to the pipe too */
	int quiet;          /* not listed in the message line while running */
};

struct dash_job {
	const struct dash_job_ops *ops;
	pid_t pid;
	int fd;                  /* read end; -1 at EOF */
	int reaped, status;
	char name[64];           /* the instance acted on, "" for none */
	char verb[16];           /* "stopping", shown in its row */
	char arg[DASH_TEXT * 2]; /* what the child needs: a command line, a shell name... */
	char *out;               /* everything it reported */
	size_t out_len, out_cap;
};

/* --- views' state ----------------------------------------------------------------------- */

#define DASH_HISTORY 32
struct dash_prompt {
	int active;
	int history;           /* Up and Down recall earlier lines (the ':' prompt) */
	int recall;            /* how far back Up went; 0: the line being typed */
	char label[32];
	char buf[DASH_TEXT];
	size_t len, cur;
	int cursor_x;          /* where the cursor goes on the message line */
	void (*changed)(struct nk_dash *d);
	void (*done)(struct nk_dash *d, int accepted);
};

struct dash_pager {
	char **lines;
	size_t n, cap;
	char partial[4096];
	size_t plen;
	size_t top;
	int hoff;               /* columns scrolled right */
	int follow;
	long match;             /* line of the current match, -1 none */
	char search[DASH_TEXT];
	char title[160];
	char name[64];
	char end_note[160];
	struct dash_job *job;
	int esc;                /* inside an escape sequence being dropped */
};

enum { F_IMAGE, F_KIND, F_NAME, F_PROFILE, F_MEMORY, F_CPUS, F_NETWORK, F_COMMAND, FORM_FIELDS };
struct dash_form {
	char val[FORM_FIELDS][DASH_TEXT];
	size_t len[FORM_FIELDS], cur[FORM_FIELDS];
	char msg[FORM_FIELDS][200];
	int bad[FORM_FIELDS];
	int focus;
	char images[1024];      /* space separated, once the listing job reports */
	int images_known;
};

#define DASH_FEED 64
#define DASH_KVM_COUNTERS 12
#define DASH_KVM_VCPUS 8

struct dash_detail {
	char name[64];
	int tab;
	int scroll;
	struct nk_isolation iso;
	int have_iso, iso_age; /* seconds since the facts were read */
	char iso_err[256];
	/* The engine's own record (events.log), followed while the Events tab shows. */
	struct dash_job *feed_job;
	char feed[DASH_FEED][200];
	unsigned feed_len, feed_pos;
	char feed_partial[2048];
	size_t feed_plen;
	/* The KVM tab's previous sample, for rates: counter x vCPU. */
	uint64_t kvm_prev[DASH_KVM_COUNTERS][DASH_KVM_VCPUS];
	uint64_t kvm_prev_ns;
};

struct nk_compare_report;
struct dash_compare {
	struct nk_compare_report *rep; /* the last result (malloc'd) */
	int have;
	struct dash_job *job;          /* a comparison in flight */
	uint64_t started_ns;
	double took_s;
	char err[512];
	int scroll;
};

struct dash_confirm {
	char question[300];
	dash_action_fn yes;
};

/* --- the dashboard ----------------------------------------------------------------------- */

struct nk_dash {
	struct nk_cli *cli;
	const struct nk_paths *paths;
	sigset_t oldmask;
	int sigfd, timerfd, tick_ms;
	int quit, resized;
	unsigned dirty;
	int color, utf8, mouse;
	attr_t attr[DR_COUNT];
	WINDOW *head, *body, *msgw, *foot, *inwin;
	int lines, cols;
	WINDOW *cursor_win;     /* where the cursor shows after drawing, NULL: hidden */
	int cursor_y, cursor_x, cursor_on;

	/* instances */
	struct dash_row **rows;
	size_t nrows, rows_cap;
	struct dash_row **vis;  /* filtered and sorted */
	size_t nvis;
	struct nk_inst_watch watch;
	int watching;
	char (*pending)[64];    /* instances to read again */
	size_t npending, pending_cap;
	int reload_all;
	uint64_t last_sample_ns, last_alive_ns;
	uint64_t oci_stamp;      /* the OCI runtime root's mtime when last listed */
	struct nk_host_info host;
	struct nk_host_load load;
	int have_load;
	struct nk_host_sample hs;

	/* the list */
	char sel[64];
	size_t cur, top;
	char filter[DASH_TEXT];
	int sort_col, sort_desc;
	int sort_pick;
	uint64_t click_ns;
	int click_y;

	const struct dash_view_ops *view[DASH_MAX_VIEWS];
	int nviews;
	int help_scroll;

	struct dash_prompt prompt;
	char history[DASH_HISTORY][DASH_TEXT]; /* ':' lines, newest last */
	int nhistory;
	char msg[512];
	int msg_err;
	uint64_t msg_until;

	struct dash_job *jobs[DASH_MAX_JOBS];
	unsigned spin;

	char (*targets)[64];    /* what an action acts on: tagged rows, else the selection */
	size_t ntargets;

	struct dash_pager pager;
	struct dash_form form;
	struct dash_detail detail;
	struct dash_confirm confirm;
	struct dash_compare compare;
	int foot_x[32], foot_key[32], nfoot; /* footer spans, for clicks */
};

/* dash.c: the loop */
int nk_dash_run(struct nk_cli *cli);
void dash_push(struct nk_dash *d, const struct dash_view_ops *v);
void dash_pop(struct nk_dash *d);
const struct dash_view_ops *dash_top(const struct nk_dash *d);
void dash_msg(struct nk_dash *d, int is_err, const char *fmt, ...) NK_PRINTF(3, 4);
void dash_update_tick(struct nk_dash *d);
/* Give the terminal to fn in a child process; the screen comes back after. */
int dash_handover(struct nk_dash *d, int (*fn)(struct nk_dash *, void *), void *arg);

/* dash-data.c: instances, samples, filter, sort, events */
int dash_data_open(struct nk_dash *d);
void dash_data_close(struct nk_dash *d);
void dash_data_watch(struct nk_dash *d);   /* the watch fd is readable */
void dash_data_apply(struct nk_dash *d);   /* read what changed */
void dash_data_sample(struct nk_dash *d);  /* once a second */
void dash_data_check_alive(struct nk_dash *d);
void dash_data_refilter(struct nk_dash *d);
struct dash_row *dash_row_find(struct nk_dash *d, const char *name);
struct dash_row *dash_row_selected(struct nk_dash *d);
void dash_event(struct nk_dash *d, const char *name, const char *fmt, ...) NK_PRINTF(3, 4);
void dash_data_touch(struct nk_dash *d, const char *name);
int dash_row_live(const struct dash_row *r);
float dash_hist_at(const float *h, const struct dash_row *r, unsigned ago);

/* dash-cols.c: the list's columns, data-driven */
struct dash_col {
	const char *title;
	int min, max;   /* width; max > min grows with the screen */
	int prio;       /* 0 always shown; higher goes first on narrow screens */
	int right;      /* numbers align right */
	void (*cell)(const struct nk_dash *d, const struct dash_row *r, char *buf, size_t size, int *role);
	int (*cmp)(const struct dash_row *a, const struct dash_row *b); /* NULL: not sortable */
	int spark;      /* drawn as the CPU sparkline */
};
extern const struct dash_col dash_cols[];
extern const int dash_ncols;
/* Which columns fit in width, and how wide each is; returns how many (in table order). */
int dash_cols_layout(int width, int *idx, int *w);
int dash_row_cmp(const struct nk_dash *d, const struct dash_row *a, const struct dash_row *b);
void dash_state_text(const struct dash_row *r, char *buf, size_t size, int *role);

/* dash-draw.c: text, attributes, sparklines, numbers */
void dash_theme_init(struct nk_dash *d);
attr_t dash_attr(const struct nk_dash *d, enum dash_role role);
/* Exactly `width` columns of s from `skip` on (padded; '…' when cut); controls as '?';
 * case-insensitive matches of needle drawn with hl. Returns the columns written. */
int dash_put_ex(const struct nk_dash *d, WINDOW *w, int y, int x, const char *s, int width, int skip,
		attr_t attr, const char *needle, attr_t hl);
int dash_put(const struct nk_dash *d, WINDOW *w, int y, int x, const char *s, int width, attr_t attr);
int dash_text_width(const char *s);
void dash_fill(WINDOW *w, int y, int x, int width, attr_t attr);
void dash_box(WINDOW *w, int y, int x, int h, int width, attr_t attr);
void dash_spark(const struct nk_dash *d, WINDOW *w, int y, int x, int width, const struct dash_row *r, attr_t attr);
void dash_graph(const struct nk_dash *d, WINDOW *w, int y, int x, int h, int width, const float *hist,
		const struct dash_row *r, double top, attr_t attr);
void dash_human(uint64_t v, char *buf, size_t size);
void dash_duration(int64_t s, char *buf, size_t size);
const char *dash_spinner(const struct nk_dash *d);
int dash_ci_find(const char *hay, const char *needle); /* byte offset or -1 */
/* Copy a string that may be cut, quietly (the message buffers are fixed). */
void dash_copy(char *dst, size_t size, const char *src);

/* dash-keys.c: keymaps, footer, help */
extern const struct dash_key dash_global_keys[];
int dash_key_dispatch(struct nk_dash *d, int ch);
void dash_draw_footer(struct nk_dash *d);
void dash_footer_click(struct nk_dash *d, int x);
extern const struct dash_view_ops dash_help_view;

/* dash-edit.c: the prompt line, line editing (words are split by tui/shell.h) */
int dash_edit_key(char *buf, size_t cap, size_t *len, size_t *cur, int ch);
void dash_prompt_open(struct nk_dash *d, const char *label, const char *initial,
		      void (*changed)(struct nk_dash *), void (*done)(struct nk_dash *, int));
int dash_prompt_key(struct nk_dash *d, int ch);
void dash_history_add(struct nk_dash *d, const char *line);
void dash_prompt_draw(struct nk_dash *d, WINDOW *w);

/* dash-jobs.c: background work in child processes */
struct dash_job *dash_job_spawn(struct nk_dash *d, const struct dash_job_ops *ops, const char *name,
				const char *verb, const char *arg);
void dash_job_read(struct nk_dash *d, struct dash_job *j);
void dash_jobs_reap(struct nk_dash *d);
void dash_jobs_kill(struct nk_dash *d, struct dash_job *j);
int dash_jobs_active(const struct nk_dash *d);
void dash_child_reset(struct nk_dash *d);
void dash_jobs_summary(const struct nk_dash *d, char *buf, size_t size);
void dash_jobs_mark_rows(struct nk_dash *d);

/* dash-actions.c: start, stop, pause, restart, delete, on tagged rows or the selection */
void dash_act_startstop(struct nk_dash *d);
void dash_act_pause(struct nk_dash *d);
void dash_act_restart(struct nk_dash *d);
void dash_act_delete(struct nk_dash *d);
void dash_act_create(struct nk_dash *d, const struct dash_form *f);
size_t dash_collect_targets(struct nk_dash *d, int allow_tags);
extern const struct dash_view_ops dash_confirm_view;

/* dash-term.c: attach, exec, commands that need the terminal */
void dash_act_attach(struct nk_dash *d);
void dash_act_exec(struct nk_dash *d);
void dash_run_in_terminal(struct nk_dash *d, char **argv, int argc, const char *line);

/* dash-compare.c: the Compare view */
extern const struct dash_view_ops dash_compare_view;
void dash_act_compare(struct nk_dash *d);
void dash_compare_free(struct nk_dash *d);

/* dash-cmdline.c: the ':' prompt */
void dash_act_command(struct nk_dash *d);

/* dash-list.c, dash-detail*.c, dash-pager.c, dash-form.c: the views */
extern const struct dash_view_ops dash_list_view;
extern const struct dash_view_ops dash_detail_view;
extern const struct dash_view_ops dash_pager_view;
extern const struct dash_view_ops dash_form_view;
extern const struct dash_view_ops dash_sort_view;
void dash_act_detail(struct nk_dash *d);
void dash_act_logs(struct nk_dash *d);
void dash_act_filter(struct nk_dash *d);
void dash_act_sort(struct nk_dash *d);
void dash_act_new(struct nk_dash *d);
void dash_act_back(struct nk_dash *d);
void dash_pager_open(struct nk_dash *d, const char *title, const char *name);
void dash_pager_feed(struct nk_dash *d, const char *buf, size_t len);
void dash_pager_end(struct nk_dash *d, const char *note);
void dash_detail_tab_resources(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r);
void dash_detail_tab_isolation(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r);
void dash_list_select(struct nk_dash *d, const char *name);
void dash_feed_open(struct nk_dash *d);
void dash_feed_close(struct nk_dash *d);
void dash_detail_tab_events(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r);
void dash_detail_tab_kvm(struct nk_dash *d, WINDOW *w, int y0, const struct dash_row *r);

/* Lines for a scrolling tab: gathered, then drawn from d->detail.scroll. */
struct dash_lines {
	char **text;
	int *role;
	size_t n, cap;
};
void dash_lines_add(struct dash_lines *l, int role, const char *fmt, ...) NK_PRINTF(3, 4);
void dash_lines_draw(struct nk_dash *d, WINDOW *w, int y0, struct dash_lines *l);
void dash_lines_free(struct dash_lines *l);

/* dash-timeline.c: a start-up as one proportional bar, labelled, then each phase's time;
 * returns 0 (and adds nothing) when t has no phases. */
int dash_timeline_lines(const struct nk_dash *d, struct dash_lines *l, const struct nk_timeline *t, int width,
			const char *indent);
uint64_t dash_timeline_total_ns(const struct nk_timeline *t);

#endif
