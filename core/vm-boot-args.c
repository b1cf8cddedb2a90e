/* Kernel command lines for VM instances: nook's /init reads its settings and its command
 * from there. */
#include "vm-boot-args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vm-initramfs.h"

/* x86's COMMAND_LINE_SIZE is 2048; the VMM adds virtio_mmio.device= entries after us. */
#define ARGS_MAX 1600
/* The kernel passes at most 32 arguments to init (CONFIG_INIT_ENV_ARG_LIMIT). */
#define INIT_WORDS_MAX 30

static int append(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len + n >= ARGS_MAX)
		return -E2BIG;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

static int append_str(char *buf, size_t *len, const char *s)
{
	return append(buf, len, s, strlen(s));
}

static int word_ok(const char *w, struct nk_err *err)
{
	if (strpbrk(w, "\"\n\r"))
		return nk_err_msg(err, EINVAL, "the VM's command word '%s' has a '\"' or a line break, which the kernel "
				  "command line cannot carry: put it in a script on the image", w);
	return 0;
}

int nk_vm_boot_args(const struct nk_spec *spec, char **out, struct nk_err *err)
{
	*out = NULL;
	char *buf = calloc(1, ARGS_MAX);
	if (!buf)
		return nk_err_set(err, ENOMEM, "building the kernel command line");
	size_t len = 0;
	int r = 0;
	if (spec->vm_nook_init) {
		r = append_str(buf, &len, NK_INITRAMFS_CMDLINE);
		/* Hostnames are checked names: no blanks, nothing to quote. */
		if (r == 0 && spec->hostname && *spec->hostname && !strpbrk(spec->hostname, " \t\"")) {
			r = append_str(buf, &len, " nook.hostname=");
			if (r == 0)
				r = append_str(buf, &len, spec->hostname);
		}
	}
	if (r == 0 && spec->vm_cmdline && *spec->vm_cmdline) {
		if (len)
			r = append_str(buf, &len, " ");
		if (r == 0)
			r = append_str(buf, &len, spec->vm_cmdline);
	}
	if (r == 0 && spec->vm_nook_init && spec->args && spec->args[0]) {
		r = append_str(buf, &len, " --");
		size_t words = 0;
		for (char **a = spec->args; r == 0 && *a; a++) {
			if (++words > INIT_WORDS_MAX) {
				free(buf);
				return nk_err_msg(err, E2BIG, "a VM's command has at most %d words (the kernel passes no "
						  "more to init)", INIT_WORDS_MAX);
			}
			if ((r = word_ok(*a, err)) < 0) {
				free(buf);
				return r;
			}
			int quote = !**a || strpbrk(*a, " \t") != NULL;
			r = append_str(buf, &len, quote ? " \"" : " ");
			if (r == 0)
				r = append_str(buf, &len, *a);
			if (r == 0 && quote)
				r = append_str(buf, &len, "\"");
		}
	}
	if (r < 0) {
		free(buf);
		return nk_err_msg(err, E2BIG, "the kernel command line would be over %d bytes: shorten --cmdline or "
				  "the command", ARGS_MAX);
	}
	*out = buf;
	return 0;
}
