/* Unit tests for a VM instance's kernel command line: nook's /init settings, the user's
 * --cmdline, the command after "--" (quoted where it has blanks), and what cannot go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec.h"
#include "core/vm-boot-args.h"
#include "core/vm-initramfs.h"

/* -Wwrite-strings: writable copies of the words a spec holds. */
static char sh[] = "/bin/sh", dash_c[] = "-c", echo_hi[] = "echo hi there", empty[] = "", web[] = "web",
	    quiet[] = "quiet", virtio_blk[] = "virtio=blk", echo_quoted[] = "echo \"x\"", w[] = "w";

static void nook_init_gets_root_hostname_and_command(void **state)
{
	(void)state;
	char *args[] = {sh, dash_c, echo_hi, empty, NULL};
	struct nk_spec spec = {.vm_nook_init = 1, .hostname = web, .vm_cmdline = quiet, .args = args};
	struct nk_err err = {0};
	char *line;
	assert_int_equal(nk_vm_boot_args(&spec, &line, &err), 0);
	assert_string_equal(line, NK_INITRAMFS_CMDLINE " nook.hostname=web quiet -- /bin/sh -c \"echo hi there\" \"\"");
	assert_non_null(strstr(line, "root=/dev/vda"));
	free(line);
}

static void own_kernel_gets_only_the_users_cmdline(void **state)
{
	(void)state;
	char *args[] = {sh, NULL};
	struct nk_spec spec = {.hostname = web, .vm_cmdline = virtio_blk, .args = args};
	struct nk_err err = {0};
	char *line;
	assert_int_equal(nk_vm_boot_args(&spec, &line, &err), 0);
	assert_string_equal(line, "virtio=blk");
	free(line);
	spec.vm_cmdline = NULL;
	assert_int_equal(nk_vm_boot_args(&spec, &line, &err), 0);
	assert_string_equal(line, "");
	free(line);
}

static void commands_the_kernel_cannot_carry_are_refused(void **state)
{
	(void)state;
	struct nk_err err = {0};
	char *line = NULL;
	char *quote[] = {sh, dash_c, echo_quoted, NULL};
	struct nk_spec spec = {.vm_nook_init = 1, .args = quote};
	assert_int_equal(nk_vm_boot_args(&spec, &line, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "script"));
	assert_null(line);
	char *many[40];
	for (int i = 0; i < 39; i++)
		many[i] = w;
	many[39] = NULL;
	spec.args = many;
	assert_int_equal(nk_vm_boot_args(&spec, &line, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "words"));
	static char huge[3000];
	memset(huge, 'a', sizeof(huge) - 1);
	char *big[] = {huge, NULL};
	spec.args = big;
	assert_int_equal(nk_vm_boot_args(&spec, &line, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(nook_init_gets_root_hostname_and_command),
					   cmocka_unit_test(own_kernel_gets_only_the_users_cmdline),
					   cmocka_unit_test(commands_the_kernel_cannot_carry_are_refused)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
