#include "../../devices/pit8254.h"
#include "fake_environment.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct pit8254, pit8254);

static struct fake_environment fake_clock;
static struct pit8254 pit;
static unsigned edges;

static void count_edges(void *controller, unsigned irq, bool level)
{
        (void)controller;
        (void)irq;
        edges += level;
}

static void setup(void)
{
        fake_environment__init(&fake_clock);
        fake_clock.monotonic_ns = 1000000000ull;
        edges = 0;
        pit8254__init(&pit, &fake_clock.env, (struct irq_line){ .set_level = count_edges });
}

static void out(unsigned port, uint8_t v)
{
        ck_assert_int_eq(pit8254__io(&pit, port - 0x40, &v, 1, true), 0);
}

static uint8_t in(unsigned port)
{
        uint8_t v = 0;
        ck_assert_int_eq(pit8254__io(&pit, port - 0x40, &v, 1, false), 0);
        return v;
}

static uint16_t latched_count(void)
{
        out(0x43, 0x00);
        uint16_t lo = in(0x40);
        return (uint16_t)(lo | in(0x40) << 8);
}

/* Channel 0, mode 2, lsb then msb, like every PC kernel's tick. */
static void start_rate(uint16_t reload)
{
        out(0x43, 0x34);
        out(0x40, (uint8_t)reload);
        out(0x40, (uint8_t)(reload >> 8));
}

static void advance_ns(uint64_t ns)
{
        fake_clock.monotonic_ns += ns;
}

START_TEST(count_follows_the_clock)
{
        start_rate(11932); /* 100 Hz */
        ck_assert_uint_eq(latched_count(), 11932);
        advance_ns(5000000); /* half a period: 5966 clocks */
        uint16_t c = latched_count();
        ck_assert_msg(c >= 5965 && c <= 5967, "count %u", c);
}
END_TEST

START_TEST(irq_deadline_is_one_period_away)
{
        start_rate(11932);
        uint64_t d = pit8254__next_deadline_ns(&pit);
        uint64_t period = d - 1000000000ull;
        ck_assert_msg(period >= 9999000 && period <= 10001000, "period %llu",
                      (unsigned long long)period);
        pit8254__advance(&pit, d - 1);
        ck_assert_uint_eq(edges, 0);
        pit8254__advance(&pit, d);
        ck_assert_uint_eq(edges, 1);
        ck_assert_uint_gt(pit8254__next_deadline_ns(&pit), d);
}
END_TEST

START_TEST(missed_periods_are_coalesced)
{
        start_rate(1193); /* 1 kHz */
        pit8254__advance(&pit, 1000000000ull + 50000000ull); /* 50 periods late */
        ck_assert_uint_eq(edges, 1);
        ck_assert_uint_gt(pit8254__next_deadline_ns(&pit), 1050000000ull);
        ck_assert_uint_le(pit8254__next_deadline_ns(&pit), 1051000000ull);
}
END_TEST

START_TEST(reading_after_reload_raises_irq_first)
{
        start_rate(11932);
        fake_clock.monotonic_ns = pit8254__next_deadline_ns(&pit) + 1000;
        ck_assert_uint_eq(edges, 0);
        uint16_t c = latched_count();
        ck_assert_uint_eq(edges, 1); /* raised before the reloaded count is seen */
        ck_assert_uint_gt(c, 11900);
}
END_TEST

START_TEST(latch_freezes_until_read)
{
        start_rate(50000);
        out(0x43, 0x00);
        advance_ns(10000000);
        uint16_t lo = in(0x40);
        uint16_t v = (uint16_t)(lo | in(0x40) << 8);
        ck_assert_uint_eq(v, 50000);
}
END_TEST

START_TEST(read_back_latches_status_and_count)
{
        start_rate(1000);
        out(0x43, 0xc2); /* read back count and status of channel 0 */
        uint8_t status = in(0x40);
        ck_assert_uint_eq(status & 0x3f, 0x34); /* lsb/msb, mode 2, binary */
        ck_assert_uint_eq(status & 0x40, 0);    /* count loaded */
        uint16_t lo = in(0x40);
        ck_assert_uint_eq(lo | in(0x40) << 8, 1000);
}
END_TEST

START_TEST(lsb_only_and_msb_only_access)
{
        out(0x43, 0x54); /* channel 1, lsb only, mode 2 */
        out(0x41, 200);
        ck_assert_uint_eq(in(0x41), 200);
        out(0x43, 0x64); /* channel 1, msb only */
        out(0x41, 0x10);
        ck_assert_uint_eq(in(0x41), 0x10);
}
END_TEST

START_TEST(bcd_counting)
{
        out(0x43, 0x35); /* channel 0, lsb/msb, mode 2, BCD */
        out(0x40, 0x00);
        out(0x40, 0x10); /* 1000 in BCD */
        uint16_t c = latched_count();
        ck_assert_uint_eq(c, 0x1000);
        advance_ns(838 * 10 + 100); /* 10 clocks */
        ck_assert_uint_eq(latched_count(), 0x0990);
}
END_TEST

START_TEST(mode0_fires_once)
{
        out(0x43, 0x30);
        out(0x40, 100);
        out(0x40, 0);
        uint64_t d = pit8254__next_deadline_ns(&pit);
        pit8254__advance(&pit, d);
        ck_assert_uint_eq(edges, 1);
        ck_assert_uint_eq(pit8254__next_deadline_ns(&pit), UINT64_MAX);
}
END_TEST

START_TEST(control_word_stops_irq_until_count)
{
        start_rate(1000);
        out(0x43, 0x34);
        ck_assert_uint_eq(pit8254__next_deadline_ns(&pit), UINT64_MAX);
}
END_TEST

START_TEST(rejects_wide_access)
{
        uint8_t d[2] = { 0 };
        ck_assert_int_ne(pit8254__io(&pit, 0, d, 2, false), 0);
        ck_assert_int_ne(pit8254__io(&pit, 4, d, 1, false), 0);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        start_rate(11932);
        out(0x43, 0x00); /* a pending latch is part of the state */
        struct pit8254 fresh, victim;
        pit8254__init(&fresh, &fake_clock.env, pit.irq0);
        check_state_round_trip(&pit8254_state_ops, &pit, &fresh);
        ck_assert_uint_eq(pit8254__next_deadline_ns(&fresh), pit8254__next_deadline_ns(&pit));
        pit8254__init(&victim, &fake_clock.env, pit.irq0);
        check_state_rejects_damage(&pit8254_state_ops, &pit, &victim);
}
END_TEST

START_TEST(load_rejects_bad_fields)
{
        pit.channel[2].mode = 7;
        struct state_writer w;
        state_writer__init(&w);
        pit8254__save(&pit, &w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        struct pit8254 victim;
        pit8254__init(&victim, &fake_clock.env, pit.irq0);
        ck_assert_int_ne(pit8254__load(&victim, &r), 0);
        ck_assert_str_eq(r.error, "PIT channel 2 mode 7 out of range");
        state_writer__release(&w);
}
END_TEST

/* Nanoseconds for n PIT clocks, rounded up, as the device counts them. */
static uint64_t clocks_ns(uint64_t n)
{
        return (n * 1000000000ull + PIT_FREQUENCY_HZ - 1) / PIT_FREQUENCY_HZ;
}

static bool out2(void)
{
        return pit8254__output(&pit, 2);
}

static uint16_t latched_count2(void)
{
        out(0x43, 0x80); /* latch channel 2 */
        uint16_t lo = in(0x42);
        return (uint16_t)(lo | in(0x42) << 8);
}

/* Channel 2, mode 0, lsb then msb: what Linux's PIT calibration writes. */
static void start_one_shot2(uint16_t count)
{
        out(0x43, 0xb0);
        out(0x42, (uint8_t)count);
        out(0x42, (uint8_t)(count >> 8));
}

START_TEST(reset_gates_only_channel_2_low)
{
        ck_assert(pit8254__gate(&pit, 0));
        ck_assert(pit8254__gate(&pit, 1));
        ck_assert(!pit8254__gate(&pit, 2));
        ck_assert(!pit8254__gate(&pit, 3));
}
END_TEST

START_TEST(channel2_one_shot_output_rises_at_terminal_count)
{
        pit8254__set_gate(&pit, 2, true);
        start_one_shot2(11932); /* Linux's 10 ms calibration latch */
        ck_assert(!out2());
        advance_ns(clocks_ns(11931));
        ck_assert(!out2());
        ck_assert_uint_eq(latched_count2(), 1);
        advance_ns(clocks_ns(1));
        ck_assert(out2());
        ck_assert_uint_eq(edges, 0); /* channel 2 raises no interrupt */
}
END_TEST

START_TEST(channel2_msb_counts_down_when_read_directly)
{
        /* Linux's fast calibration reads lsb then msb without a latch and
         * expects the msb to step down once per 256 clocks. */
        pit8254__set_gate(&pit, 2, true);
        start_one_shot2(0xffff);
        in(0x42);
        ck_assert_uint_eq(in(0x42), 0xff);
        advance_ns(clocks_ns(256));
        in(0x42);
        ck_assert_uint_eq(in(0x42), 0xfe);
        advance_ns(clocks_ns(256 * 10));
        in(0x42);
        ck_assert_uint_eq(in(0x42), 0xf4);
}
END_TEST

START_TEST(low_gate_suspends_one_shot)
{
        pit8254__set_gate(&pit, 2, true);
        start_one_shot2(1000);
        advance_ns(clocks_ns(400));
        pit8254__set_gate(&pit, 2, false);
        advance_ns(clocks_ns(5000));
        ck_assert_uint_eq(latched_count2(), 600);
        ck_assert(!out2());
        pit8254__set_gate(&pit, 2, true);
        advance_ns(clocks_ns(599));
        ck_assert(!out2());
        advance_ns(clocks_ns(1));
        ck_assert(out2());
}
END_TEST

START_TEST(count_written_with_gate_low_waits_for_it)
{
        start_one_shot2(100); /* the gate is low after reset */
        advance_ns(clocks_ns(1000));
        ck_assert_uint_eq(latched_count2(), 100);
        ck_assert(!out2());
        pit8254__set_gate(&pit, 2, true);
        advance_ns(clocks_ns(100));
        ck_assert(out2());
}
END_TEST

START_TEST(square_wave_gate_forces_output_high_and_edge_reloads)
{
        out(0x43, 0xb6); /* channel 2, mode 3: the PC speaker's tone */
        out(0x42, 0xe8);
        out(0x42, 0x03); /* 1000 */
        pit8254__set_gate(&pit, 2, true);
        advance_ns(clocks_ns(700)); /* second half-period: OUT low */
        ck_assert(!out2());
        pit8254__set_gate(&pit, 2, false);
        ck_assert(out2());
        advance_ns(clocks_ns(300));
        ck_assert(out2());
        pit8254__set_gate(&pit, 2, true);
        ck_assert_uint_eq(latched_count2(), 1000); /* reloaded by the edge */
        ck_assert(out2());
}
END_TEST

START_TEST(gate_edges_without_a_count_change_nothing)
{
        pit8254__set_gate(&pit, 2, true);
        pit8254__set_gate(&pit, 2, false);
        ck_assert(!pit.channel[2].paused);
        ck_assert(!pit.channel[2].counting);
        pit8254__set_gate(&pit, 2, true);
        ck_assert(!pit.channel[2].counting);
}
END_TEST

START_TEST(paused_state_round_trip_and_damage)
{
        pit8254__set_gate(&pit, 2, true);
        start_one_shot2(1000);
        advance_ns(clocks_ns(250));
        pit8254__set_gate(&pit, 2, false);
        struct pit8254 fresh, victim;
        pit8254__init(&fresh, &fake_clock.env, pit.irq0);
        check_state_round_trip(&pit8254_state_ops, &pit, &fresh);
        ck_assert(fresh.channel[2].paused);
        ck_assert_uint_eq(fresh.channel[2].paused_ticks, 250);
        pit8254__init(&victim, &fake_clock.env, pit.irq0);
        check_state_rejects_damage(&pit8254_state_ops, &pit, &victim);
}
END_TEST

START_TEST(load_rejects_pause_with_gate_high)
{
        pit8254__set_gate(&pit, 2, true);
        start_one_shot2(1000);
        pit.channel[2].paused = true;
        struct state_writer w;
        state_writer__init(&w);
        pit8254__save(&pit, &w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        struct pit8254 victim;
        pit8254__init(&victim, &fake_clock.env, pit.irq0);
        ck_assert_int_ne(pit8254__load(&victim, &r), 0);
        ck_assert_str_eq(r.error, "PIT channel 2 paused without a count or with its gate high");
        state_writer__release(&w);
}
END_TEST

Suite *make_pit8254_suite(void)
{
        Suite *s = suite_create("pit8254");
        TCase *tc = tcase_create("counting");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, count_follows_the_clock);
        tcase_add_test(tc, irq_deadline_is_one_period_away);
        tcase_add_test(tc, missed_periods_are_coalesced);
        tcase_add_test(tc, reading_after_reload_raises_irq_first);
        tcase_add_test(tc, latch_freezes_until_read);
        tcase_add_test(tc, read_back_latches_status_and_count);
        tcase_add_test(tc, lsb_only_and_msb_only_access);
        tcase_add_test(tc, bcd_counting);
        tcase_add_test(tc, mode0_fires_once);
        tcase_add_test(tc, control_word_stops_irq_until_count);
        tcase_add_test(tc, rejects_wide_access);
        tcase_add_test(tc, state_round_trip_and_damage);
        tcase_add_test(tc, load_rejects_bad_fields);
        suite_add_tcase(s, tc);
        TCase *gate = tcase_create("channel 2 gate");
        tcase_add_checked_fixture(gate, setup, NULL);
        tcase_add_test(gate, reset_gates_only_channel_2_low);
        tcase_add_test(gate, channel2_one_shot_output_rises_at_terminal_count);
        tcase_add_test(gate, channel2_msb_counts_down_when_read_directly);
        tcase_add_test(gate, low_gate_suspends_one_shot);
        tcase_add_test(gate, count_written_with_gate_low_waits_for_it);
        tcase_add_test(gate, square_wave_gate_forces_output_high_and_edge_reloads);
        tcase_add_test(gate, gate_edges_without_a_count_change_nothing);
        tcase_add_test(gate, paused_state_round_trip_and_damage);
        tcase_add_test(gate, load_rejects_pause_with_gate_high);
        suite_add_tcase(s, gate);
        return s;
}
