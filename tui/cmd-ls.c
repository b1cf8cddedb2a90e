/* `nook ls [-a] [--json]`: one row per instance. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/instance.h"
#include "core/util.h"
#include "tui/cmd.h"

struct ls_ctx {
	int all, json;
	json_object *array;
	int rows;
};

static void human_age(int64_t seconds, char *buf, size_t size)
{
	if (seconds < 60)
		snprintf(buf, size, "%llds", (long long)seconds);
	else if (seconds < 3600)
		snprintf(buf, size, "%lldm", (long long)(seconds / 60));
	else if (seconds < 86400)
		snprintf(buf, size, "%lldh", (long long)(seconds / 3600));
	else
		snprintf(buf, size, "%lldd", (long long)(seconds / 86400));
}

static void status_text(const struct nk_state *st, char *buf, size_t size)
{
	char age[32];
	int64_t now = nk_wall_time_s();
	switch (st->status) {
	case NK_RUNNING:
	case NK_PAUSED:
		human_age(now - st->started_at, age, sizeof(age));
		snprintf(buf, size, "up %s%s", age, st->status == NK_PAUSED ? " (paused)" : "");
		break;
	case NK_STOPPED:
		human_age(now - st->finished_at, age, sizeof(age));
		if (st->exit_reason[0] && strcmp(st->exit_reason, "exited"))
			snprintf(buf, size, "exited (%d, %s) %s ago", st->exit_code, st->exit_reason, age);
		else
			snprintf(buf, size, "exited (%d) %s ago", st->exit_code, age);
		break;
	default:
		snprintf(buf, size, "%s", st->error[0] ? "created (start failed)" : "created");
	}
}

static void visit(const struct nk_instance_info *info, void *opaque)
{
	struct ls_ctx *ctx = opaque;
	int active = info->state.status == NK_RUNNING || info->state.status == NK_PAUSED;
	if (!ctx->all && !active)
		return;
	char status[96];
	status_text(&info->state, status, sizeof(status));
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(info->name));
		json_object_object_add(o, "kind", json_object_new_string(info->kind));
		json_object_object_add(o, "state", json_object_new_string(nk_status_name(info->state.status)));
		json_object_object_add(o, "image", json_object_new_string(info->image));
		json_object_object_add(o, "command", json_object_new_string(info->command));
		json_object_object_add(o, "status", json_object_new_string(status));
		json_object_object_add(o, "exit_code", json_object_new_int(info->state.exit_code));
		json_object_object_add(o, "exit_reason", json_object_new_string(info->state.exit_reason));
		json_object_object_add(o, "pid", json_object_new_int(info->state.init_pid));
		json_object_object_add(o, "ip", json_object_new_string(info->state.ip));
		json_object_object_add(o, "created", json_object_new_int64(info->state.created_at));
		json_object_array_add(ctx->array, o);
		return;
	}
	if (ctx->rows++ == 0)
		printf("%-24s %-10s %-8s %-12s %-15s %-24s %s\n", "NAME", "KIND", "STATE", "IMAGE", "IP", "COMMAND",
		       "STATUS");
	char cmd[25];
	size_t n = strnlen(info->command, sizeof(cmd) - 1);
	memcpy(cmd, info->command, n);
	cmd[n] = '\0';
	if (strlen(info->command) > 24)
		memcpy(cmd + 21, "...", 4);
	printf("%-24s %-10s %-8s %-12s %-15s %-24s %s\n", info->name, info->kind,
	       nk_status_name(info->state.status), info->image, info->state.ip[0] ? info->state.ip : "-", cmd,
	       status);
}

int nk_cmd_ls(struct nk_cli *cli, int argc, char **argv)
{
	const struct nk_cmd *cmd = nk_cmd_find("ls");
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'}, {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0}};
	struct ls_ctx ctx = {0};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+a", longopts, NULL)) != -1) {
		if (c == 'a')
			ctx.all = 1;
		else if (c == OPT_JSON)
			ctx.json = 1;
		else
			return nk_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return nk_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (ctx.json)
		ctx.array = json_object_new_array();
	if (nk_inst_list(&cli->paths, visit, &ctx, &cli->err) < 0) {
		json_object_put(ctx.array);
		return nk_cli_fail(cli);
	}
	if (ctx.json) {
		printf("%s\n", json_object_to_json_string_ext(ctx.array, JSON_C_TO_STRING_PRETTY |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(ctx.array);
	} else if (ctx.rows == 0) {
		printf("no %sinstances%s\n", ctx.all ? "" : "running ",
		       ctx.all ? " (create one with `nook run -it --rm busybox`)" : " (`nook ls -a` shows all)");
	}
	return 0;
}
