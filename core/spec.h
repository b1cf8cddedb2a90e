/* The OCI runtime spec (config.json): built from run options, loaded into what the engine uses. */
#ifndef NOOK_SPEC_H
#define NOOK_SPEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "image.h"
#include "parse.h"
#include "portfwd.h"
#include "resources.h"

struct nk_paths;

/* What `run`/`create` were asked for, before any image default is applied. */
struct nk_run_opts {
	const char *name;       /* NULL: generate one */
	const char *image;
	char **cmd;             /* after "--"; NULL: the image's default */
	int cmd_count;
	int detach, interactive, tty, remove;
	const char *hostname;
	const char **env;       /* -e entries, already checked */
	size_t env_count;
	struct nk_volume *volumes;
	size_t volume_count;
	const char *workdir;
	struct nk_limits limits;
	const char *network;    /* NULL or "bridge": the default network; "none", "host", or a name */
	struct nk_port ports[NK_PORTS_MAX]; /* -p */
	size_t port_count;
	int vm;                 /* --vm: a microVM instead of a container */
	unsigned vm_vcpus;      /* --cpus with --vm */
	const char *vm_kernel, *vm_initrd, *vm_cmdline;
	uint64_t vm_disk_size;  /* --disk-size; 0: the rootfs + 256 MiB (core/vm-disk.h) */
	const char *vm_boot;    /* --boot: "pvh" or "linux64"; NULL: PVH when the kernel has it */
	const char *profile;    /* --profile; NULL: "default" */
	const char *seccomp;    /* --seccomp FILE.json, overriding the profile's; "unconfined": none */
	uint64_t cap_add, cap_drop; /* --cap-add / --cap-drop, bit n = capability n */
	int read_only;          /* --read-only */
	const char *pwd, *home; /* for $PWD / $HOME in a profile's mounts */
	int seccomp_notify_force; /* report every denial live, whatever the profile says (drill) */
	/* Filled by the plan (plan.c) from the profile; spec-build reads them. */
	struct nk_plan *plan;
};

/* An extra mount a profile asks for (tmpfs, or a bind with $PWD/$HOME expanded). */
struct nk_plan_mount {
	int tmpfs;
	char source[PATH_MAX], dest[PATH_MAX];
	int readonly;
	char options[128];
};

/* What a profile turns into, once merged with the flags (flags win). */
struct nk_plan {
	char profile[64];
	uint64_t caps;              /* bounding = effective = permitted */
	int readonly_root;
	char **masked, **readonly;  /* added to the defaults; NULL-terminated, malloc'd */
	struct nk_plan_mount *mounts;
	size_t mount_count;
	char **env;                 /* the profile's K=V, before -e; NULL-terminated */
	char seccomp_path[PATH_MAX]; /* the JSON to load; "" for none */
	char network[64];           /* the profile's network, when no --net was given */
	char workdir[PATH_MAX];     /* the caller's directory, when the profile binds it there */
	int home_mounted;           /* the profile mounts something on the caller's $HOME */
	int seccomp_notify;         /* teach: denials reported to the monitor */
	int seccomp_learn;          /* learn: notified calls let through and recorded */
	/* --vm without --kernel: the fetched default kernel and nook's initramfs for it. */
	char vm_kernel[PATH_MAX], vm_initrd[PATH_MAX];
	int vm_nook_init;
};

/* Load the profile named in opts (or "default"), merge it with the flags into plan, check
 * everything it implies (seccomp compiles, limits parse). opts->plan points at plan after. */
int nk_plan_build(const struct nk_paths *paths, struct nk_run_opts *opts, struct nk_plan *plan,
		  struct nk_err *err) NK_MUST_CHECK;
void nk_plan_free(struct nk_plan *plan);

/* One entry of spec.mounts, in order. */
struct nk_mount {
	char *type;        /* "bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue" */
	char *source;
	char *destination;
	unsigned long flags; /* MS_* from options */
	int bind, recursive, readonly;
	int copyup;        /* "tmpcopyup": a tmpfs starts with a copy of what the root had there */
	char *data;        /* filesystem options that are not flags */
};

/* process.rlimits[]: RLIMIT_* by number. */
struct nk_rlimit {
	int resource;
	uint64_t soft, hard;
};

/* One entry of hooks.<kind>[]: run with the container's state JSON on stdin. */
struct nk_hook {
	char *path;
	char **args, **env;
	int timeout_s;            /* 0: none */
};

enum nk_hook_kind {
	NK_HOOK_PRESTART, NK_HOOK_CREATE_RUNTIME, NK_HOOK_CREATE_CONTAINER, NK_HOOK_START_CONTAINER,
	NK_HOOK_POSTSTART, NK_HOOK_POSTSTOP, NK_HOOK_KINDS
};

struct nk_hook_list {
	struct nk_hook *v;
	size_t n;
};

/* linux.namespaces[] with a path: joined with setns instead of created. */
struct nk_ns_path {
	int flag;                 /* CLONE_NEW* */
	char *path;
};

/* linux.devices[]: a node created in the container's /dev. */
struct nk_device {
	char *path;
	char type;                /* 'c', 'b', 'p' (fifo) */
	int64_t major, minor;
	uint32_t mode;            /* permission bits; 0666 when not given */
	uint32_t uid, gid;
};

/* linux.resources.devices[]: the device cgroup's rules, in order. -1: any number. */
struct nk_device_rule {
	int allow;
	char type;                /* 'a', 'c', 'b' */
	int64_t major, minor;
	char access[4];           /* some of "rwm" */
};

/* What the engine needs from config.json, loaded once. */
struct nk_spec {
	char *name;               /* annotation org.nook.name */
	char *image;              /* annotation org.nook.image */
	int remove;               /* annotation org.nook.rm: delete the instance when it ends */
	int open_stdin;           /* annotation org.nook.stdin */
	char *network;            /* org.nook.network: a network's name, "none" or "host" */
	char *profile;            /* org.nook.profile */
	int vm;                   /* org.nook.kind = vm */
	unsigned vm_vcpus;        /* org.nook.vm.cpus */
	char *vm_kernel, *vm_initrd, *vm_cmdline; /* org.nook.vm.* */
	char *vm_boot;            /* org.nook.vm.boot: "pvh", "linux64"; NULL: the VMM chooses */
	char *vm_disk;            /* org.nook.vm.disk: the root disk (made at create) */
	uint64_t vm_disk_size;    /* org.nook.vm.disk_size: bytes asked for; 0: sized from the rootfs */
	int vm_nook_init;         /* org.nook.vm.init = nook: booted with nook's initramfs and /init */
	char *seccomp_path;       /* org.nook.seccomp: the instance's copy of the filter's JSON */
	int seccomp_notify;       /* org.nook.seccomp.notify: teach mode */
	int seccomp_learn;        /* org.nook.seccomp.learn: record and let through */
	struct nk_port ports[NK_PORTS_MAX]; /* org.nook.ports */
	size_t port_count;
	char **args, **env;
	char *cwd;
	int terminal;
	char *hostname;
	char *root_path;          /* the merged root the container pivots into */
	int root_readonly;
	char *rootfs_lower;       /* org.nook.rootfs.lower: image rootfs (overlay lower) */
	char *rootfs_upper;       /* org.nook.rootfs.upper */
	char *rootfs_work;        /* org.nook.rootfs.work */
	struct nk_mount *mounts;
	size_t mount_count;
	int clone_flags;          /* CLONE_NEW* from linux.namespaces */
	char **masked_paths, **readonly_paths;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int no_new_privs;
	struct nk_limits limits;  /* linux.resources */
	/* The rest of the OCI surface (spec-process.c, spec-linux.c); docs/oci.md lists it. */
	int has_user;             /* process.user given */
	uint32_t uid, gid;
	uint32_t *groups;         /* process.user.additionalGids */
	size_t group_count;
	int has_umask;
	uint32_t umask;
	struct nk_rlimit *rlimits;
	size_t rlimit_count;
	int has_oom_score_adj;
	int oom_score_adj;
	unsigned short console_rows, console_cols; /* process.consoleSize; 0: unset */
	char *domainname;
	struct nk_ns_path ns_paths[8];
	size_t ns_path_count;
	char **sysctl;            /* linux.sysctl as "key", "value" pairs, NULL-terminated */
	struct nk_device *devices;
	size_t device_count;
	struct nk_device_rule *device_rules;
	size_t device_rule_count;
	struct nk_hook_list hooks[NK_HOOK_KINDS];
	char *cgroups_path;       /* linux.cgroupsPath */
	char *seccomp_json;       /* linux.seccomp, re-serialised for the compiler */
	char *oci_version;
	/* Set by the OCI runtime's flags, not read from the document. */
	int no_pivot;             /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	int preserve_fds;         /* --preserve-fds N: descriptors 3..3+N-1 stay open */
	char *json;               /* the document as loaded */
};

/* Turn run options plus the image into a config.json document (malloc'd string). */
int nk_spec_build(const struct nk_run_opts *opts, const char *name, const struct nk_image *img,
		  const char *instance_dir, char **json_out, struct nk_err *err) NK_MUST_CHECK;

int nk_spec_load(const char *json, struct nk_spec *spec, struct nk_err *err) NK_MUST_CHECK;
int nk_spec_load_file(const char *path, struct nk_spec *spec, struct nk_err *err) NK_MUST_CHECK;
void nk_spec_free(struct nk_spec *spec);

#endif
