#include "../../devices/debug_exit.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct debug_exit, debug_exit);

START_TEST(write_requests_exit_with_status)
{
        struct debug_exit dev;
        debug_exit__init(&dev);
        ck_assert(!dev.requested);
        uint8_t v[4] = { 0x2a, 0x01, 0, 0 };
        ck_assert_int_eq(debug_exit__io(&dev, 0, v, 4, true), 0);
        ck_assert(dev.requested);
        ck_assert_uint_eq(dev.status, 0x12a);
        ck_assert_int_eq(debug_exit__io(&dev, 0, v, 1, true), 0);
        ck_assert_uint_eq(dev.status, 0x2a);
}
END_TEST

START_TEST(reads_zero_and_rejects_bad_sizes)
{
        struct debug_exit dev;
        debug_exit__init(&dev);
        uint8_t v[8] = { 1, 1, 1, 1 };
        ck_assert_int_eq(debug_exit__io(&dev, 0, v, 4, false), 0);
        ck_assert_uint_eq(v[0] | v[1] | v[2] | v[3], 0);
        ck_assert_int_ne(debug_exit__io(&dev, 0, v, 8, true), 0);
        ck_assert_int_ne(debug_exit__io(&dev, 2, v, 4, true), 0);
        ck_assert_int_ne(debug_exit__io(&dev, 0, v, 3, true), 0);
        ck_assert(!dev.requested);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        struct debug_exit dev, fresh, victim;
        debug_exit__init(&dev);
        uint8_t v = 7;
        debug_exit__io(&dev, 0, &v, 1, true);
        debug_exit__init(&fresh);
        check_state_round_trip(&debug_exit_state_ops, &dev, &fresh);
        ck_assert_uint_eq(fresh.status, 7);
        debug_exit__init(&victim);
        check_state_rejects_damage(&debug_exit_state_ops, &dev, &victim);
}
END_TEST

Suite *make_debug_exit_suite(void)
{
        Suite *s = suite_create("debug_exit");
        TCase *tc = tcase_create("device");
        tcase_add_test(tc, write_requests_exit_with_status);
        tcase_add_test(tc, reads_zero_and_rejects_bad_sizes);
        tcase_add_test(tc, state_round_trip_and_damage);
        suite_add_tcase(s, tc);
        return s;
}
