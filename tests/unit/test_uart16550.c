#include <string.h>

#include "../../devices/uart16550.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct uart16550, uart16550);

static struct uart16550 uart;
static char sent[64];
static size_t sent_len;
static bool irq_level;

static void capture(void *context, const uint8_t *bytes, size_t count)
{
        (void)context;
        memcpy(sent + sent_len, bytes, count);
        sent_len += count;
}

static void line(void *controller, unsigned irq, bool level)
{
        (void)controller;
        (void)irq;
        irq_level = level;
}

static void setup(void)
{
        sent_len = 0;
        irq_level = false;
        uart16550__init(&uart, (struct irq_line){ .set_level = line },
                        (struct output_sink){ .write = capture });
}

static void out(unsigned reg, uint8_t v)
{
        ck_assert_int_eq(uart16550__io(&uart, reg, &v, 1, true), 0);
}

static uint8_t in(unsigned reg)
{
        uint8_t v = 0;
        ck_assert_int_eq(uart16550__io(&uart, reg, &v, 1, false), 0);
        return v;
}

START_TEST(transmit_goes_to_the_sink)
{
        out(0, 'h');
        out(0, 'i');
        ck_assert_uint_eq(sent_len, 2);
        ck_assert_mem_eq(sent, "hi", 2);
        ck_assert_uint_eq(in(5) & 0x60, 0x60); /* THRE and TEMT */
}
END_TEST

START_TEST(dlab_selects_divisor)
{
        out(3, 0x80);
        out(0, 0x01);
        out(1, 0x02);
        ck_assert_uint_eq(in(0), 0x01);
        ck_assert_uint_eq(in(1), 0x02);
        out(3, 0x03);
        ck_assert_uint_eq(in(1), 0x00); /* IER again */
        ck_assert_uint_eq(sent_len, 0);
}
END_TEST

START_TEST(receive_fifo_and_overrun)
{
        uint8_t bytes[20];
        for (int i = 0; i < 20; i++)
                bytes[i] = (uint8_t)('a' + i);
        ck_assert_uint_eq(uart16550__receive(&uart, bytes, 20), 16);
        ck_assert_uint_eq(in(5) & 0x03, 0x03); /* DR and OE */
        ck_assert_uint_eq(in(5) & 0x02, 0);    /* OE clears on read */
        ck_assert_uint_eq(in(0), 'a');
        ck_assert_uint_eq(in(0), 'b');
}
END_TEST

START_TEST(interrupt_priorities_and_out2_gate)
{
        out(1, 0x03); /* RX and THRE interrupts */
        ck_assert(!irq_level); /* OUT2 low: no IRQ on a PC */
        out(4, 0x08);
        ck_assert(irq_level);
        ck_assert_uint_eq(in(2) & 0x0f, 0x02); /* THRE */
        ck_assert(!irq_level); /* reading IIR cleared it */
        uint8_t b = 'x';
        uart16550__receive(&uart, &b, 1);
        ck_assert(irq_level);
        out(0, 'y'); /* THRE pending again, but RX ranks higher */
        ck_assert_uint_eq(in(2) & 0x0f, 0x04);
        in(0);
        ck_assert_uint_eq(in(2) & 0x0f, 0x02);
}
END_TEST

START_TEST(fifo_bits_in_iir)
{
        ck_assert_uint_eq(in(2) & 0xc0, 0x00);
        out(2, 0x07);
        ck_assert_uint_eq(in(2) & 0xc0, 0xc0);
}
END_TEST

START_TEST(loopback_receives_what_is_sent)
{
        out(4, 0x10 | 0x02);
        out(0, 'L');
        ck_assert_uint_eq(sent_len, 0);
        ck_assert_uint_eq(in(0), 'L');
        ck_assert_uint_eq(in(6) & 0x10, 0x10); /* RTS loops to CTS */
}
END_TEST

START_TEST(scratch_register)
{
        out(7, 0x5a);
        ck_assert_uint_eq(in(7), 0x5a);
}
END_TEST

START_TEST(rejects_wide_access)
{
        uint8_t d[2] = { 0 };
        ck_assert_int_ne(uart16550__io(&uart, 0, d, 2, true), 0);
        ck_assert_int_ne(uart16550__io(&uart, 8, d, 1, true), 0);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        out(1, 0x01);
        out(4, 0x0b);
        out(7, 0x33);
        uint8_t bytes[] = "abc";
        uart16550__receive(&uart, bytes, 3);
        in(0);
        struct uart16550 fresh, victim;
        uart16550__init(&fresh, uart.irq, uart.out);
        check_state_round_trip(&uart16550_state_ops, &uart, &fresh);
        ck_assert_uint_eq(uart16550__io(&fresh, 0, bytes, 1, false), 0);
        ck_assert_uint_eq(bytes[0], 'b');
        uart16550__init(&victim, uart.irq, uart.out);
        check_state_rejects_damage(&uart16550_state_ops, &uart, &victim);
}
END_TEST

START_TEST(load_rejects_bad_fifo)
{
        uart.rx_count = 17;
        struct state_writer w;
        state_writer__init(&w);
        uart16550__save(&uart, &w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        struct uart16550 victim;
        uart16550__init(&victim, uart.irq, uart.out);
        ck_assert_int_ne(uart16550__load(&victim, &r), 0);
        ck_assert_ptr_nonnull(strstr(r.error, "FIFO"));
        state_writer__release(&w);
}
END_TEST

Suite *make_uart16550_suite(void)
{
        Suite *s = suite_create("uart16550");
        TCase *tc = tcase_create("registers");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, transmit_goes_to_the_sink);
        tcase_add_test(tc, dlab_selects_divisor);
        tcase_add_test(tc, receive_fifo_and_overrun);
        tcase_add_test(tc, interrupt_priorities_and_out2_gate);
        tcase_add_test(tc, fifo_bits_in_iir);
        tcase_add_test(tc, loopback_receives_what_is_sent);
        tcase_add_test(tc, scratch_register);
        tcase_add_test(tc, rejects_wide_access);
        tcase_add_test(tc, state_round_trip_and_damage);
        tcase_add_test(tc, load_rejects_bad_fifo);
        suite_add_tcase(s, tc);
        return s;
}
