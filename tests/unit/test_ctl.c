/* Unit tests for the control protocol framing: whole, split, bad and oversized messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ctl.h"

static void send_and_receive(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(nk_ctl_send(sv[0], NK_CTL_STDIN, "hello", 5), 0);
	int32_t sig = 15;
	assert_int_equal(nk_ctl_send(sv[0], NK_CTL_SIGNAL, &sig, sizeof(sig)), 0);
	struct nk_ctl_hdr h;
	char buf[64];
	assert_int_equal(nk_ctl_recv(sv[1], &h, buf, sizeof(buf)), 5);
	assert_int_equal(h.type, NK_CTL_STDIN);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(nk_ctl_recv(sv[1], &h, buf, sizeof(buf)), 4);
	assert_int_equal(h.type, NK_CTL_SIGNAL);
	close(sv[0]);
	assert_int_equal(nk_ctl_recv(sv[1], &h, buf, sizeof(buf)), -EPIPE);
	close(sv[1]);
}

static void too_big_for_buffer_is_a_protocol_error(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	char big[100] = {0};
	assert_int_equal(nk_ctl_send(sv[0], NK_CTL_STDIN, big, sizeof(big)), 0);
	struct nk_ctl_hdr h;
	char small[10];
	assert_int_equal(nk_ctl_recv(sv[1], &h, small, sizeof(small)), -EPROTO);
	static char huge[NK_CTL_MAX_PAYLOAD + 1];
	assert_int_equal(nk_ctl_send(sv[0], NK_CTL_STDIN, huge, sizeof(huge)), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

static void parse_incremental(void **state)
{
	(void)state;
	char buf[64];
	struct nk_ctl_hdr h = {.version = NK_CTL_VERSION, .type = NK_CTL_STDOUT, .len = 3};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "abc", 3);
	struct nk_ctl_hdr out;
	const void *payload;
	for (size_t n = 0; n < sizeof(h) + 3; n++)
		assert_int_equal(nk_ctl_parse(buf, n, &out, &payload), 0);
	assert_int_equal(nk_ctl_parse(buf, sizeof(h) + 3, &out, &payload), (ssize_t)(sizeof(h) + 3));
	assert_memory_equal(payload, "abc", 3);
}

static void parse_rejects_bad_headers(void **state)
{
	(void)state;
	struct nk_ctl_hdr out;
	const void *payload;
	struct nk_ctl_hdr bad[] = {
	    {.version = 2, .type = NK_CTL_STDIN, .len = 0},
	    {.version = NK_CTL_VERSION, .type = 0, .len = 0},
	    {.version = NK_CTL_VERSION, .type = NK_CTL_TYPE_MAX, .len = 0},
	    {.version = NK_CTL_VERSION, .type = NK_CTL_STDIN, .len = NK_CTL_MAX_PAYLOAD + 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nk_ctl_parse(&bad[i], sizeof(bad[i]), &out, &payload), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(send_and_receive), cmocka_unit_test(too_big_for_buffer_is_a_protocol_error),
	    cmocka_unit_test(parse_incremental), cmocka_unit_test(parse_rejects_bad_headers),
	};
	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
