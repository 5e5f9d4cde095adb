#include "../../devices/pic8259.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct pic8259, pic8259);

static struct pic8259 pic;

static void out(unsigned port, uint8_t v)
{
        uint8_t d = v;
        int rc = port < 0xa0 ? pic8259__io_master(&pic, port & 1, &d, 1, true)
                             : pic8259__io_slave(&pic, port & 1, &d, 1, true);
        ck_assert_int_eq(rc, 0);
}

static uint8_t in(unsigned port)
{
        uint8_t d = 0;
        int rc = port < 0xa0 ? pic8259__io_master(&pic, port & 1, &d, 1, false)
                             : pic8259__io_slave(&pic, port & 1, &d, 1, false);
        ck_assert_int_eq(rc, 0);
        return d;
}

/* The sequence every PC kernel uses: vectors 0x20/0x28, slave on IRQ 2. */
static void program(uint8_t master_mask, uint8_t slave_mask)
{
        pic8259__init(&pic);
        out(0x20, 0x11); out(0xa0, 0x11);
        out(0x21, 0x20); out(0xa1, 0x28);
        out(0x21, 0x04); out(0xa1, 0x02);
        out(0x21, 0x01); out(0xa1, 0x01);
        out(0x21, master_mask); out(0xa1, slave_mask);
}

static void raise(unsigned irq)
{
        pic8259__set_irq(&pic, irq, true);
        pic8259__set_irq(&pic, irq, false);
}

START_TEST(reset_masks_everything)
{
        pic8259__init(&pic);
        raise(0);
        ck_assert(!pic8259__interrupt_pending(&pic));
        ck_assert_uint_eq(in(0x21), 0xff);
}
END_TEST

START_TEST(init_sequence_sets_vectors_and_mask)
{
        program(0xfe, 0xff);
        ck_assert_uint_eq(in(0x21), 0xfe);
        ck_assert_uint_eq(in(0xa1), 0xff);
        raise(0);
        ck_assert(pic8259__interrupt_pending(&pic));
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x20);
        ck_assert(!pic8259__interrupt_pending(&pic));
}
END_TEST

START_TEST(masked_irq_waits_in_irr)
{
        program(0xff, 0xff);
        raise(1);
        ck_assert(!pic8259__interrupt_pending(&pic));
        out(0x20, 0x0a); /* OCW3: read IRR */
        ck_assert_uint_eq(in(0x20), 0x02);
        out(0x21, 0x00);
        ck_assert(pic8259__interrupt_pending(&pic));
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x21);
}
END_TEST

START_TEST(in_service_blocks_lower_priority_until_eoi)
{
        program(0x00, 0xff);
        raise(3);
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x23);
        raise(5);
        ck_assert(!pic8259__interrupt_pending(&pic)); /* 5 is below 3 */
        raise(1);
        ck_assert(pic8259__interrupt_pending(&pic));  /* 1 is above 3 */
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x21);
        out(0x20, 0x0b); /* OCW3: read ISR */
        ck_assert_uint_eq(in(0x20), 0x0a);
        out(0x20, 0x20); /* non-specific EOI ends IRQ 1, the highest */
        ck_assert_uint_eq(in(0x20), 0x08);
        out(0x20, 0x63); /* specific EOI for IRQ 3 */
        ck_assert(pic8259__interrupt_pending(&pic));
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x25);
}
END_TEST

START_TEST(edge_is_latched_once)
{
        program(0x00, 0xff);
        pic8259__set_irq(&pic, 0, true);
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x20);
        out(0x20, 0x20);
        pic8259__set_irq(&pic, 0, true); /* still high: no new edge */
        ck_assert(!pic8259__interrupt_pending(&pic));
}
END_TEST

START_TEST(slave_cascades_through_irq2)
{
        program(0x00, 0x00);
        raise(12);
        ck_assert(pic8259__interrupt_pending(&pic));
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x2c);
        out(0x20, 0x0b);
        ck_assert_uint_eq(in(0x20), 0x04);
        out(0xa0, 0x0b);
        ck_assert_uint_eq(in(0xa0), 0x10);
        out(0xa0, 0x20);
        out(0x20, 0x20);
        ck_assert_uint_eq(in(0x20), 0x00);
}
END_TEST

START_TEST(nothing_pending_gives_spurious_irq7)
{
        program(0x00, 0xff);
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x27);
        out(0x20, 0x0b);
        ck_assert_uint_eq(in(0x20), 0x00); /* spurious sets no ISR bit */
}
END_TEST

START_TEST(rotation_makes_serviced_irq_lowest)
{
        program(0x00, 0xff);
        raise(0);
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x20);
        out(0x20, 0xa0); /* rotate on non-specific EOI */
        raise(0);
        raise(4);
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x24);
}
END_TEST

START_TEST(auto_eoi_leaves_isr_clear)
{
        pic8259__init(&pic);
        out(0x20, 0x11); out(0x21, 0x20); out(0x21, 0x04); out(0x21, 0x03);
        out(0x21, 0x00);
        raise(0);
        ck_assert_uint_eq(pic8259__acknowledge(&pic), 0x20);
        out(0x20, 0x0b);
        ck_assert_uint_eq(in(0x20), 0x00);
}
END_TEST

START_TEST(poll_command_acknowledges)
{
        program(0x00, 0xff);
        raise(6);
        out(0x20, 0x0c); /* OCW3: poll */
        ck_assert_uint_eq(in(0x20), 0x86);
        ck_assert(!pic8259__interrupt_pending(&pic));
}
END_TEST

START_TEST(rejects_wide_access)
{
        uint8_t d[2] = { 0 };
        ck_assert_int_ne(pic8259__io_master(&pic, 0, d, 2, true), 0);
        ck_assert_int_ne(pic8259__io_master(&pic, 2, d, 1, true), 0);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        program(0xf0, 0x0f);
        raise(3);
        raise(1);
        pic8259__acknowledge(&pic);
        out(0x20, 0x0b);
        struct pic8259 fresh, victim;
        pic8259__init(&fresh);
        check_state_round_trip(&pic8259_state_ops, &pic, &fresh);
        ck_assert(pic8259__interrupt_pending(&fresh) == pic8259__interrupt_pending(&pic));
        ck_assert_uint_eq(pic8259__acknowledge(&fresh), pic8259__acknowledge(&pic));
        pic8259__init(&victim);
        check_state_rejects_damage(&pic8259_state_ops, &pic, &victim);
}
END_TEST

START_TEST(load_rejects_bad_fields)
{
        pic8259__init(&pic);
        pic.chip[1].init_step = 9;
        struct state_writer w;
        state_writer__init(&w);
        pic8259__save(&pic, &w);
        struct pic8259 victim, before;
        pic8259__init(&victim);
        before = victim;
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        ck_assert_int_ne(pic8259__load(&victim, &r), 0);
        ck_assert_str_eq(r.error, "PIC slave init_step 9 out of range");
        ck_assert_mem_eq(&victim, &before, sizeof(victim));
        state_writer__release(&w);
}
END_TEST

Suite *make_pic8259_suite(void)
{
        Suite *s = suite_create("pic8259");
        TCase *tc = tcase_create("registers");
        tcase_add_test(tc, reset_masks_everything);
        tcase_add_test(tc, init_sequence_sets_vectors_and_mask);
        tcase_add_test(tc, masked_irq_waits_in_irr);
        tcase_add_test(tc, in_service_blocks_lower_priority_until_eoi);
        tcase_add_test(tc, edge_is_latched_once);
        tcase_add_test(tc, slave_cascades_through_irq2);
        tcase_add_test(tc, nothing_pending_gives_spurious_irq7);
        tcase_add_test(tc, rotation_makes_serviced_irq_lowest);
        tcase_add_test(tc, auto_eoi_leaves_isr_clear);
        tcase_add_test(tc, poll_command_acknowledges);
        tcase_add_test(tc, rejects_wide_access);
        suite_add_tcase(s, tc);
        TCase *st = tcase_create("state");
        tcase_add_test(st, state_round_trip_and_damage);
        tcase_add_test(st, load_rejects_bad_fields);
        suite_add_tcase(s, st);
        return s;
}
