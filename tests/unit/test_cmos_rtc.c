#include <string.h>

#include "../../devices/cmos_rtc.h"
#include "fake_environment.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct cmos_rtc, cmos_rtc);

/* 2026-11-23 06:13:34 UTC, a Monday */
#define SAMPLE_NS (1795414414ll * 1000000000ll)

static struct fake_environment fake_clock;
static struct cmos_rtc rtc;

static void setup(void)
{
        fake_environment__init(&fake_clock);
        fake_clock.realtime_ns = SAMPLE_NS;
        cmos_rtc__init(&rtc, &fake_clock.env);
}

static uint8_t reg(uint8_t index)
{
        uint8_t v = index;
        ck_assert_int_eq(cmos_rtc__io(&rtc, 0, &v, 1, true), 0);
        ck_assert_int_eq(cmos_rtc__io(&rtc, 1, &v, 1, false), 0);
        return v;
}

static void set_reg(uint8_t index, uint8_t value)
{
        ck_assert_int_eq(cmos_rtc__io(&rtc, 0, &index, 1, true), 0);
        ck_assert_int_eq(cmos_rtc__io(&rtc, 1, &value, 1, true), 0);
}

START_TEST(bcd_24_hour_by_default)
{
        ck_assert_uint_eq(reg(0x00), 0x34);
        ck_assert_uint_eq(reg(0x02), 0x13);
        ck_assert_uint_eq(reg(0x04), 0x06);
        ck_assert_uint_eq(reg(0x06), 0x02); /* Monday */
        ck_assert_uint_eq(reg(0x07), 0x23);
        ck_assert_uint_eq(reg(0x08), 0x11);
        ck_assert_uint_eq(reg(0x09), 0x26);
        ck_assert_uint_eq(reg(0x32), 0x20);
        ck_assert_uint_eq(reg(0x0d), 0x80);
}
END_TEST

START_TEST(binary_mode)
{
        set_reg(0x0b, 0x06);
        ck_assert_uint_eq(reg(0x00), 34);
        ck_assert_uint_eq(reg(0x09), 26);
}
END_TEST

START_TEST(twelve_hour_mode_sets_pm_bit)
{
        fake_clock.realtime_ns += 12ll * 3600 * 1000000000ll; /* 18:13 */
        set_reg(0x0b, 0x00);
        ck_assert_uint_eq(reg(0x04), 0x86);
}
END_TEST

START_TEST(uip_in_the_last_244us_of_a_second)
{
        fake_clock.realtime_ns = SAMPLE_NS + 999800000ll;
        ck_assert_uint_eq(reg(0x0a) & 0x80, 0x80);
        fake_clock.realtime_ns = SAMPLE_NS + 500000000ll;
        ck_assert_uint_eq(reg(0x0a) & 0x80, 0);
}
END_TEST

START_TEST(set_then_write_moves_the_clock)
{
        set_reg(0x0b, 0x82); /* SET */
        set_reg(0x04, 0x23);
        set_reg(0x02, 0x59);
        set_reg(0x0b, 0x02);
        ck_assert_uint_eq(reg(0x04), 0x23);
        ck_assert_uint_eq(reg(0x02), 0x59);
        fake_clock.realtime_ns += 60ll * 1000000000ll;
        ck_assert_uint_eq(reg(0x04), 0x00);
        ck_assert_uint_eq(reg(0x07), 0x24); /* rolled over to the next day */
}
END_TEST

START_TEST(ram_and_read_only_registers)
{
        set_reg(0x40, 0xab);
        ck_assert_uint_eq(reg(0x40), 0xab);
        set_reg(0x0d, 0x00);
        ck_assert_uint_eq(reg(0x0d), 0x80);
        ck_assert_uint_eq(reg(0x0c), 0x00);
        ck_assert_uint_eq(reg(0x80 | 0x40), 0xab); /* bit 7 is the NMI mask */
}
END_TEST

START_TEST(leap_day_and_epoch)
{
        fake_clock.realtime_ns = 951782400ll * 1000000000ll; /* 2000-02-29 00:00:00 */
        ck_assert_uint_eq(reg(0x07), 0x29);
        ck_assert_uint_eq(reg(0x08), 0x02);
        ck_assert_uint_eq(reg(0x06), 0x03); /* Tuesday */
        fake_clock.realtime_ns = 0;
        ck_assert_uint_eq(reg(0x09), 0x70);
        ck_assert_uint_eq(reg(0x32), 0x19);
        ck_assert_uint_eq(reg(0x06), 0x05); /* Thursday */
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        set_reg(0x0b, 0x82);
        set_reg(0x00, 0x11);
        set_reg(0x0b, 0x02);
        set_reg(0x50, 0x77);
        struct cmos_rtc fresh, victim;
        cmos_rtc__init(&fresh, &fake_clock.env);
        check_state_round_trip(&cmos_rtc_state_ops, &rtc, &fresh);
        ck_assert_int_eq(fresh.offset_ns, rtc.offset_ns);
        cmos_rtc__init(&victim, &fake_clock.env);
        check_state_rejects_damage(&cmos_rtc_state_ops, &rtc, &victim);
}
END_TEST

START_TEST(load_rejects_missing_vrt)
{
        rtc.ram[0x0d] = 0;
        struct state_writer w;
        state_writer__init(&w);
        cmos_rtc__save(&rtc, &w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        struct cmos_rtc victim;
        cmos_rtc__init(&victim, &fake_clock.env);
        ck_assert_int_ne(cmos_rtc__load(&victim, &r), 0);
        ck_assert_ptr_nonnull(strstr(r.error, "register D"));
        state_writer__release(&w);
}
END_TEST

Suite *make_cmos_rtc_suite(void)
{
        Suite *s = suite_create("cmos_rtc");
        TCase *tc = tcase_create("registers");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, bcd_24_hour_by_default);
        tcase_add_test(tc, binary_mode);
        tcase_add_test(tc, twelve_hour_mode_sets_pm_bit);
        tcase_add_test(tc, uip_in_the_last_244us_of_a_second);
        tcase_add_test(tc, set_then_write_moves_the_clock);
        tcase_add_test(tc, ram_and_read_only_registers);
        tcase_add_test(tc, leap_day_and_epoch);
        tcase_add_test(tc, state_round_trip_and_damage);
        tcase_add_test(tc, load_rejects_missing_vrt);
        suite_add_tcase(s, tc);
        return s;
}
