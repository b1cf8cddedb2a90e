/* The plan: a profile merged with the command line's flags (flags win), checked before
 * anything is created, so bad input changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "paths.h"
#include "profile.h"
#include "seccomp-cache.h"
#include "seccomp.h"
#include "spec.h"
#include "util.h"
#include "vm-initramfs.h"
#include "vm-kernel.h"
#include "core/vm/vmm.h"

static char **dup_list(char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out && i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void nk_plan_free(struct nk_plan *plan)
{
	free_list(plan->masked);
	free_list(plan->readonly);
	free_list(plan->env);
	free(plan->mounts);
	memset(plan, 0, sizeof(*plan));
}

static int plan_mounts(const struct nk_profile *p, const struct nk_run_opts *opts, struct nk_plan *plan,
		       struct nk_err *err)
{
	plan->mounts = calloc(p->mount_count ? p->mount_count : 1, sizeof(*plan->mounts));
	if (!plan->mounts)
		return nk_err_set(err, ENOMEM, "planning mounts");
	const char *pwd = opts->pwd ? opts->pwd : "/", *home = opts->home ? opts->home : "/root";
	for (size_t i = 0; i < p->mount_count; i++) {
		const struct nk_profile_mount *m = &p->mounts[i];
		struct nk_plan_mount *pm = &plan->mounts[plan->mount_count];
		pm->tmpfs = m->type == NK_PROFILE_MOUNT_TMPFS;
		pm->readonly = m->readonly;
		int r = nk_profile_expand(m->dest, pwd, home, pm->dest, sizeof(pm->dest), err);
		if (r == 0 && m->source)
			r = nk_profile_expand(m->source, pwd, home, pm->source, sizeof(pm->source), err);
		if (r < 0)
			return nk_err_prefix(err, "profile %s", p->name);
		if (m->options)
			snprintf(pm->options, sizeof(pm->options), "%s", m->options);
		plan->mount_count++;
		/* A profile that brings the caller's directory (or home) along means to work
		 * there: start in it, and let $HOME point at it. */
		if (!pm->tmpfs && !strcmp(pm->dest, pwd) && !strcmp(pm->source, pwd))
			snprintf(plan->workdir, sizeof(plan->workdir), "%s", pwd);
		if (!strcmp(pm->dest, home))
			plan->home_mounted = 1;
	}
	return 0;
}

/* --vm without --kernel: Debian's cloud kernel (fetched on first use) booted with nook's
 * initramfs. Not on a PVM host: a stock kernel cannot boot there, and the instance check
 * says so before anything is downloaded. */
static int plan_vm_kernel(const struct nk_paths *paths, struct nk_run_opts *opts, struct nk_plan *plan,
			  struct nk_err *err)
{
	if (!opts->vm || opts->vm_kernel)
		return 0;
	struct nk_vm_caps caps;
	struct nk_err ignored;
	if (nk_vm_probe(&caps, &ignored) < 0 || caps.pvm)
		return 0;
	struct nk_kernel k;
	int fresh, r = nk_kernel_find(paths, NULL, &k, &ignored);
	if (r == -ENOENT)
		r = nk_kernel_fetch(paths, NULL, &k, &fresh, err);
	if (r < 0)
		return nk_err_prefix(err, "--vm without --kernel");
	snprintf(plan->vm_kernel, sizeof(plan->vm_kernel), "%s", k.vmlinuz);
	opts->vm_kernel = plan->vm_kernel;
	if (opts->vm_initrd)
		return 0; /* the caller's own initramfs, with its own init */
	if ((r = nk_initramfs_ensure(&k, plan->vm_initrd, sizeof(plan->vm_initrd), err)) < 0)
		return nk_err_prefix(err, "--vm without --kernel");
	opts->vm_initrd = plan->vm_initrd;
	plan->vm_nook_init = 1;
	return 0;
}

/* Resource defaults apply only where no flag set the same limit. */
static int plan_limits(const struct nk_profile *p, struct nk_run_opts *opts, struct nk_err *err)
{
	int r = 0;
	if (p->memory && !opts->limits.memory)
		r = nk_limits_set_memory(&opts->limits, p->memory, err);
	if (r == 0 && p->cpus && !opts->limits.cpu_quota_us)
		r = nk_limits_set_cpus(&opts->limits, p->cpus, err);
	if (r == 0 && p->pids && !opts->limits.pids)
		r = nk_limits_set_pids(&opts->limits, p->pids, err);
	return r < 0 ? nk_err_prefix(err, "profile %s", p->name) : 0;
}

static int plan_seccomp(const struct nk_paths *paths, const struct nk_profile *p, const struct nk_run_opts *opts,
			const char *const *dirs, struct nk_plan *plan, struct nk_err *err)
{
	plan->seccomp_notify = p->seccomp_notify || opts->seccomp_notify_force;
	plan->seccomp_learn = p->seccomp_learn;
	if (opts->seccomp && !strcmp(opts->seccomp, "unconfined")) {
		plan->seccomp_path[0] = '\0';
		return 0;
	}
	if (opts->seccomp) {
		if (!realpath(opts->seccomp, plan->seccomp_path))
			return nk_err_set(err, errno, "--seccomp %s", opts->seccomp);
	} else if (p->seccomp) {
		int r = nk_profile_seccomp_path(p, dirs, plan->seccomp_path, sizeof(plan->seccomp_path), err);
		if (r < 0)
			return r;
	} else {
		return 0;
	}
	/* Compile now (into the cache the start will read), so a broken filter refuses the
	 * run before anything exists. */
	struct nk_seccomp_prog prog;
	int r = nk_seccomp_cached(paths, plan->seccomp_path, plan->caps, plan->seccomp_notify ? NK_SECCOMP_TEACH : 0,
				  &prog, err);
	if (r < 0)
		return r;
	nk_seccomp_prog_free(&prog);
	return 0;
}

int nk_plan_build(const struct nk_paths *paths, struct nk_run_opts *opts, struct nk_plan *plan,
		  struct nk_err *err)
{
	memset(plan, 0, sizeof(*plan));
	const char *dirs[3];
	nk_paths_profile_dirs(paths, dirs);
	struct nk_profile p;
	const char *name = opts->profile ? opts->profile : "default";
	int r = nk_profile_load(name, dirs, &p, err);
	if (r < 0) {
		nk_profile_free(&p);
		if (r == -ENOENT && !strchr(name, '/'))
			return nk_err_msg(err, ENOENT, "no such profile: %s (see `nook profile ls`)", name);
		return r;
	}
	snprintf(plan->profile, sizeof(plan->profile), "%s", p.name);
	uint64_t held = nk_caps_bounding();
	if (opts->cap_add & ~held) {
		char missing[512];
		nk_caps_format(opts->cap_add & ~held, missing, sizeof(missing));
		nk_profile_free(&p);
		return nk_err_msg(err, EPERM, "--cap-add %s: nook does not hold it itself (not in its bounding set), "
					      "so it cannot give it",
				  missing);
	}
	/* A profile may name capabilities this host withholds from nook: those cannot be had. */
	plan->caps = ((nk_profile_caps(&p) | opts->cap_add) & ~opts->cap_drop) & held;
	plan->readonly_root = p.readonly_root || opts->read_only;
	plan->masked = dup_list(p.masked_paths, p.masked_count);
	plan->readonly = dup_list(p.readonly_paths, p.readonly_count);
	plan->env = calloc(p.env_count + 1, sizeof(char *));
	for (size_t i = 0, n = 0; plan->env && i < p.env_count; i++) {
		/* "K" alone takes the caller's value, as -e K does; unset means left out. */
		const char *v = strchr(p.env[i], '=') ? NULL : getenv(p.env[i]);
		if (!strchr(p.env[i], '=') && !v)
			continue;
		size_t len = strlen(p.env[i]) + (v ? strlen(v) + 2 : 1);
		if (!(plan->env[n] = malloc(len)))
			break;
		snprintf(plan->env[n++], len, v ? "%s=%s" : "%s", p.env[i], v ? v : "");
	}
	if (!plan->masked || !plan->readonly || !plan->env)
		r = nk_err_set(err, ENOMEM, "planning profile %s", name);
	if (r == 0)
		r = plan_mounts(&p, opts, plan, err);
	if (r == 0 && plan->home_mounted && opts->home) {
		/* HOME=... goes first: the profile's own env entries may still override it. */
		size_t n = 0;
		while (plan->env[n])
			n++;
		char **env = realloc(plan->env, (n + 2) * sizeof(*env));
		if (env) {
			memmove(env + 1, env, (n + 1) * sizeof(*env));
			size_t len = strlen(opts->home) + 6;
			if ((env[0] = malloc(len)))
				snprintf(env[0], len, "HOME=%s", opts->home);
			else
				memmove(env, env + 1, (n + 1) * sizeof(*env));
			plan->env = env;
		}
	}
	if (r == 0)
		r = plan_limits(&p, opts, err);
	if (r == 0 && !opts->network && p.network && strcmp(p.network, "bridge") != 0) {
		snprintf(plan->network, sizeof(plan->network), "%s", p.network);
		opts->network = plan->network;
	}
	if (r == 0)
		r = plan_seccomp(paths, &p, opts, dirs, plan, err);
	if (r == 0)
		r = plan_vm_kernel(paths, opts, plan, err);
	nk_profile_free(&p);
	if (r < 0) {
		nk_plan_free(plan);
		return r;
	}
	opts->plan = plan;
	return 0;
}
