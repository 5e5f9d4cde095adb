#include "../../devices/nmi_sc.h"
#include "fake_environment.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct nmi_sc, nmi_sc);

static struct fake_environment fake_clock;
static struct pit8254 pit;
static struct nmi_sc dev;

static void setup(void)
{
        fake_environment__init(&fake_clock);
        fake_clock.monotonic_ns = 5000000000ull;
        pit8254__init(&pit, &fake_clock.env, (struct irq_line){ 0 });
        nmi_sc__init(&dev, &pit);
}

static uint8_t in61(void)
{
        uint8_t v = 0;
        ck_assert_int_eq(nmi_sc__io(&dev, 0, &v, 1, false), 0);
        return v;
}

static void out61(uint8_t v)
{
        ck_assert_int_eq(nmi_sc__io(&dev, 0, &v, 1, true), 0);
}

static void out_pit(unsigned port, uint8_t v)
{
        ck_assert_int_eq(pit8254__io(&pit, port - 0x40, &v, 1, true), 0);
}

START_TEST(reset_reads_gate_and_output_low)
{
        ck_assert_uint_eq(in61() & ~NMI_SC_REFRESH, 0);
        ck_assert(!pit8254__gate(&pit, 2));
}
END_TEST

START_TEST(refresh_toggles_on_every_read)
{
        uint8_t first = in61() & NMI_SC_REFRESH;
        ck_assert_uint_eq(in61() & NMI_SC_REFRESH, first ^ NMI_SC_REFRESH);
        ck_assert_uint_eq(in61() & NMI_SC_REFRESH, first);
}
END_TEST

START_TEST(control_bits_read_back_status_bits_do_not)
{
        out61(0x0f);
        ck_assert_uint_eq(in61() & 0x0f, 0x0f);
        ck_assert(pit8254__gate(&pit, 2));
        ck_assert(dev.speaker);
        out61(0xf0); /* status bits are read-only; the errors never occur */
        ck_assert_uint_eq(in61() & 0xcf, 0);
        ck_assert(!pit8254__gate(&pit, 2));
}
END_TEST

/* Linux's pit_calibrate_tsc: gate high, speaker off, channel 2 in mode 0
 * with a 10 ms count, then poll bit 5 until OUT rises. */
START_TEST(linux_pit_calibration_sees_out2_after_the_count)
{
        out61((uint8_t)((in61() & ~NMI_SC_SPEAKER) | NMI_SC_GATE2));
        out_pit(0x43, 0xb0);
        out_pit(0x42, 11932 & 0xff);
        out_pit(0x42, 11932 >> 8);
        uint64_t start = fake_clock.monotonic_ns;
        unsigned polls = 0;
        while (!(in61() & NMI_SC_OUT2) && polls < 100000) {
                fake_clock.monotonic_ns += 1000; /* one exit every microsecond */
                polls++;
        }
        uint64_t waited = fake_clock.monotonic_ns - start;
        uint64_t count_ns = 11932ull * 1000000000 / PIT_FREQUENCY_HZ; /* 10.00015 ms */
        ck_assert_msg(waited >= count_ns && waited < count_ns + 1000, "OUT2 rose after %llu ns",
                      (unsigned long long)waited);
}
END_TEST

START_TEST(rejects_wide_access)
{
        uint8_t v[2] = { 0 };
        ck_assert_int_ne(nmi_sc__io(&dev, 0, v, 2, false), 0);
        ck_assert_int_ne(nmi_sc__io(&dev, 1, v, 1, true), 0);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        out61(0x0a); /* speaker and one check disable, gate low */
        in61();
        struct nmi_sc fresh, victim;
        nmi_sc__init(&fresh, &pit);
        check_state_round_trip(&nmi_sc_state_ops, &dev, &fresh);
        ck_assert(fresh.speaker);
        ck_assert_uint_eq(fresh.check_disables, 0x08);
        ck_assert(fresh.refresh);
        ck_assert_ptr_eq(fresh.pit, &pit);
        nmi_sc__init(&victim, &pit);
        check_state_rejects_damage(&nmi_sc_state_ops, &dev, &victim);
}
END_TEST

START_TEST(load_rejects_status_bits_in_check_disables)
{
        dev.check_disables = 0x40;
        struct state_writer w;
        state_writer__init(&w);
        ck_assert_int_eq(nmi_sc__save(&dev, &w), 0);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        struct nmi_sc victim;
        nmi_sc__init(&victim, &pit);
        ck_assert_int_ne(nmi_sc__load(&victim, &r), 0);
        ck_assert_str_eq(r.error, "NMI_SC check disables 0x40 have bits outside 0xc");
        state_writer__release(&w);
}
END_TEST

Suite *make_nmi_sc_suite(void)
{
        Suite *s = suite_create("nmi_sc");
        TCase *tc = tcase_create("device");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, reset_reads_gate_and_output_low);
        tcase_add_test(tc, refresh_toggles_on_every_read);
        tcase_add_test(tc, control_bits_read_back_status_bits_do_not);
        tcase_add_test(tc, linux_pit_calibration_sees_out2_after_the_count);
        tcase_add_test(tc, rejects_wide_access);
        tcase_add_test(tc, state_round_trip_and_damage);
        tcase_add_test(tc, load_rejects_status_bits_in_check_disables);
        suite_add_tcase(s, tc);
        return s;
}
