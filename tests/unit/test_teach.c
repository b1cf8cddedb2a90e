/* Unit tests for the teaching pieces that need no system: a VM's phases through the state
 * and the timeline, and the drill classifier's lines for attempts not run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/drill.h"
#include "core/state.h"
#include "core/timeline.h"

static void vm_phases_keep_their_order_through_the_state(void **unused)
{
	(void)unused;
	static const char *const names[] = {"kvm", "kernel", "first-instruction", "guest-init", "first-console"};
	struct nk_state st;
	memset(&st, 0, sizeof(st));
	st.status = NK_RUNNING;
	st.timeline.start_ns = 1;
	for (unsigned i = 0; i < 5; i++) {
		snprintf(st.timeline.vm[i].name, sizeof(st.timeline.vm[i].name), "%s", names[i]);
		st.timeline.vm[i].us = 100 * (i + 1);
	}
	st.timeline.vm_count = 5;
	char *json = nk_state_to_json(&st);
	assert_non_null(json);
	struct nk_state back;
	struct nk_err err = {0};
	assert_int_equal(nk_state_from_json(json, &back, &err), 0);
	free(json);
	assert_int_equal(back.timeline.vm_count, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_string_equal(back.timeline.vm[i].name, names[i]);
		assert_int_equal(back.timeline.vm[i].us, 100 * (i + 1));
	}
	assert_int_equal(nk_timeline_vm_phase_us(&back.timeline, "guest-init"), 400);
	assert_int_equal(nk_timeline_vm_phase_us(&back.timeline, "nothing"), -1);
	char text[512];
	nk_timeline_format(&back.timeline, text, sizeof(text));
	/* The guest has been heard from: the total no longer stops at the VMM's part. */
	assert_non_null(strstr(text, "first-instruction 0.30 ms"));
	assert_non_null(strstr(text, "total 1.50 ms"));
	assert_null(strstr(text, "then the guest boots"));
}

static void vmm_only_phases_say_the_guest_is_still_to_boot(void **unused)
{
	(void)unused;
	struct nk_timeline t;
	memset(&t, 0, sizeof(t));
	snprintf(t.vm[0].name, sizeof(t.vm[0].name), "kernel");
	t.vm[0].us = 2000;
	t.vm_count = 1;
	char text[256];
	nk_timeline_format(&t, text, sizeof(text));
	assert_string_equal(text, "kernel 2.00 ms, total 2.00 ms (then the guest boots)");
}

static void attempts_not_run_are_classified_as_unstopped(void **unused)
{
	(void)unused;
	const char *agent = "15\tfork-bomb\t-\tskip\tnot run: no limit would stop it short of the host's own\n"
			    "16\tmemory-hog\t-\tskip\tnot run: no limit would stop it short of the host's own\n";
	struct nk_drill_ctx ctx = {.host_i386 = 1};
	struct nk_drill_report *rep = calloc(1, sizeof(*rep));
	struct nk_err err = {0};
	assert_non_null(rep);
	assert_int_equal(nk_drill_classify(agent, NULL, &ctx, rep, &err), 0);
	assert_int_equal(rep->count, 2);
	assert_string_equal(rep->rows[0].outcome, "not run");
	assert_int_equal(rep->rows[0].layer, NK_LAYER_THROUGH);
	assert_non_null(strstr(rep->rows[0].why, "no pids limit"));
	assert_non_null(strstr(rep->rows[1].why, "no memory limit"));
	free(rep);
}

static void the_feed_is_named_where_it_went(void **unused)
{
	(void)unused;
	const char *agent = "1\tmount\tmount\te1\t/tmp\n";
	const char *events = "{\"kind\":\"seccomp\",\"syscall\":\"mount\",\"nr\":165}\n";
	struct nk_drill_ctx ctx = {.seccomp = 1, .seccomp_feed = 1, .feed_to_drill = 1};
	struct nk_drill_report *rep = calloc(1, sizeof(*rep));
	struct nk_err err = {0};
	assert_non_null(rep);
	assert_int_equal(nk_drill_classify(agent, events, &ctx, rep, &err), 0);
	assert_int_equal(rep->rows[0].layer, NK_LAYER_SECCOMP);
	assert_non_null(strstr(rep->rows[0].why, "reported live to the drill"));
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vm_phases_keep_their_order_through_the_state),
	    cmocka_unit_test(vmm_only_phases_say_the_guest_is_still_to_boot),
	    cmocka_unit_test(attempts_not_run_are_classified_as_unstopped),
	    cmocka_unit_test(the_feed_is_named_where_it_went),
	};
	return cmocka_run_group_tests_name("teach", tests, NULL, NULL);
}
