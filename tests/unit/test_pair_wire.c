/* The pair's control messages: round trips, and every cut or damaged
 * byte refused. */
#include <string.h>

#include "../../replication/pair_wire.h"
#include "suites.h"

static const struct pair_message samples[] = {
        { .kind = PAIR_HELLO, .wire_version = PAIR_WIRE_VERSION, .log_version = 3,
          .generation = 7, .name = "host-a:1234" },
        { .kind = PAIR_ACK, .seq = 123456789, .position = 42 },
        { .kind = PAIR_RELEASED, .released = 1ull << 40 },
        { .kind = PAIR_BEAT, .position = 99 },
};

START_TEST(round_trip)
{
        for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
                struct state_writer w;
                state_writer__init(&w);
                ck_assert_int_eq(pair_wire__encode(&samples[i], &w), 0);
                struct pair_message m;
                char err[160];
                ck_assert_msg(pair_wire__decode(w.buf, w.length, &m, err, sizeof(err)) == 0, "%s", err);
                ck_assert_mem_eq(&m, &samples[i], sizeof(m));
                ck_assert_int_eq(pair_wire__kind((const char *)w.buf), (int)samples[i].kind);
                state_writer__release(&w);
        }
}
END_TEST

START_TEST(every_cut_and_every_changed_byte_is_refused)
{
        for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
                struct state_writer w;
                state_writer__init(&w);
                pair_wire__encode(&samples[i], &w);
                struct pair_message m;
                char err[160];
                for (size_t n = 0; n < w.length; n++)
                        ck_assert_int_ne(pair_wire__decode(w.buf, n, &m, err, sizeof(err)), 0);
                for (size_t b = 0; b < w.length; b++) {
                        w.buf[b] ^= 0x81;
                        ck_assert_msg(pair_wire__decode(w.buf, w.length, &m, err, sizeof(err)) != 0,
                                      "message %zu, byte %zu changed: accepted", i, b);
                        ck_assert_ptr_null(strchr(err, '\n'));
                        w.buf[b] ^= 0x81;
                }
                state_writer__release(&w);
        }
}
END_TEST

START_TEST(log_records_are_not_control_messages)
{
        ck_assert_int_eq(pair_wire__kind("TIME"), -1);
        ck_assert_int_eq(pair_wire__kind("MSTA"), -1);
        ck_assert_int_eq(pair_wire__kind("RELS"), PAIR_RELEASED);
}
END_TEST

Suite *make_pair_wire_suite(void)
{
        Suite *s = suite_create("pair_wire");
        TCase *tc = tcase_create("messages");
        tcase_add_test(tc, round_trip);
        tcase_add_test(tc, every_cut_and_every_changed_byte_is_refused);
        tcase_add_test(tc, log_records_are_not_control_messages);
        suite_add_tcase(s, tc);
        return s;
}
