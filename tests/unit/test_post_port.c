#include "../../devices/post_port.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct post_port, post_port);

START_TEST(writes_discarded_reads_ff)
{
        struct post_port dev;
        post_port__init(&dev);
        uint8_t v = 0x42;
        ck_assert_int_eq(post_port__io(&dev, 0, &v, 1, true), 0);
        ck_assert_uint_eq(dev.last_code, 0x42);
        ck_assert_int_eq(post_port__io(&dev, 0, &v, 1, false), 0);
        ck_assert_uint_eq(v, 0xff);
        uint8_t w[2];
        ck_assert_int_ne(post_port__io(&dev, 0, w, 2, true), 0);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        struct post_port dev, fresh, victim;
        post_port__init(&dev);
        dev.last_code = 0x99;
        post_port__init(&fresh);
        check_state_round_trip(&post_port_state_ops, &dev, &fresh);
        ck_assert_uint_eq(fresh.last_code, 0x99);
        post_port__init(&victim);
        check_state_rejects_damage(&post_port_state_ops, &dev, &victim);
}
END_TEST

Suite *make_post_port_suite(void)
{
        Suite *s = suite_create("post_port");
        TCase *tc = tcase_create("device");
        tcase_add_test(tc, writes_discarded_reads_ff);
        tcase_add_test(tc, state_round_trip_and_damage);
        suite_add_tcase(s, tc);
        return s;
}
