#include <string.h>

#include "../../devices/device_state.h"
#include "suites.h"

static void write_sample(struct state_writer *w)
{
        state_writer__begin(w, "TEST", 3);
        state_writer__u8(w, 0x12);
        state_writer__u16(w, 0x3456);
        state_writer__u32(w, 0x789abcde);
        state_writer__u64(w, 0x0123456789abcdefull);
        state_writer__bool(w, true);
        state_writer__bytes(w, "xyz", 3);
        ck_assert_int_eq(state_writer__end(w), 0);
}

static int read_sample(const void *buf, size_t len, struct state_reader *r)
{
        state_reader__init(r, buf, len);
        if (state_reader__begin(r, "TEST", 3))
                return -1;
        ck_assert_uint_eq(state_reader__u8(r), 0x12);
        ck_assert_uint_eq(state_reader__u16(r), 0x3456);
        ck_assert_uint_eq(state_reader__u32(r), 0x789abcde);
        ck_assert_uint_eq(state_reader__u64(r), 0x0123456789abcdefull);
        ck_assert(state_reader__bool(r));
        char b[3];
        state_reader__bytes(r, b, 3);
        ck_assert_mem_eq(b, "xyz", 3);
        return state_reader__end(r);
}

START_TEST(round_trip_every_type)
{
        struct state_writer w;
        state_writer__init(&w);
        write_sample(&w);
        ck_assert_uint_eq(w.length, DEVICE_STATE_HEADER_SIZE + 19 + DEVICE_STATE_TRAILER_SIZE);
        struct state_reader r;
        ck_assert_int_eq(read_sample(w.buf, w.length, &r), 0);
        ck_assert_str_eq(r.error, "");
        state_writer__release(&w);
}
END_TEST

START_TEST(wrong_tag_and_version)
{
        struct state_writer w;
        state_writer__init(&w);
        write_sample(&w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        ck_assert_int_ne(state_reader__begin(&r, "PIT ", 3), 0);
        ck_assert_str_eq(r.error, "expected PIT  state, found tag 'TEST'");
        state_reader__init(&r, w.buf, w.length);
        ck_assert_int_ne(state_reader__begin(&r, "TEST", 4), 0);
        ck_assert_str_eq(r.error, "TEST state version 3, this build reads 4");
        state_writer__release(&w);
}
END_TEST

START_TEST(corruption_and_truncation)
{
        struct state_writer w;
        state_writer__init(&w);
        write_sample(&w);
        struct state_reader r;
        w.buf[DEVICE_STATE_HEADER_SIZE + 2] ^= 1;
        state_reader__init(&r, w.buf, w.length);
        ck_assert_int_ne(state_reader__begin(&r, "TEST", 3), 0);
        ck_assert_ptr_nonnull(strstr(r.error, "corrupt"));
        w.buf[DEVICE_STATE_HEADER_SIZE + 2] ^= 1;
        for (size_t n = 0; n < w.length; n++) {
                state_reader__init(&r, w.buf, n);
                ck_assert_int_ne(state_reader__begin(&r, "TEST", 3), 0);
                ck_assert_ptr_nonnull(strstr(r.error, "truncated"));
        }
        state_writer__release(&w);
}
END_TEST

START_TEST(short_reads_and_leftovers)
{
        struct state_writer w;
        state_writer__init(&w);
        state_writer__begin(&w, "TEST", 1);
        state_writer__u16(&w, 7);
        state_writer__end(&w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        ck_assert_int_eq(state_reader__begin(&r, "TEST", 1), 0);
        ck_assert_uint_eq(state_reader__u8(&r), 7);
        ck_assert_int_ne(state_reader__end(&r), 0);
        ck_assert_str_eq(r.error, "state payload has 1 unread bytes");
        state_reader__init(&r, w.buf, w.length);
        state_reader__begin(&r, "TEST", 1);
        ck_assert_uint_eq(state_reader__u64(&r), 0);
        ck_assert_ptr_nonnull(strstr(r.error, "too short"));
        state_writer__release(&w);
}
END_TEST

START_TEST(bool_must_be_zero_or_one)
{
        struct state_writer w;
        state_writer__init(&w);
        state_writer__begin(&w, "TEST", 1);
        state_writer__u8(&w, 2);
        state_writer__end(&w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        state_reader__begin(&r, "TEST", 1);
        state_reader__bool(&r);
        ck_assert_int_ne(state_reader__end(&r), 0);
        ck_assert_str_eq(r.error, "boolean field holds 2");
        state_writer__release(&w);
}
END_TEST

START_TEST(records_follow_one_another)
{
        struct state_writer w;
        state_writer__init(&w);
        write_sample(&w);
        write_sample(&w);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(state_reader__begin(&r, "TEST", 3), 0);
                r.pos = r.payload_end; /* skip the payload */
                ck_assert_int_eq(state_reader__end(&r), 0);
        }
        ck_assert_uint_eq(r.pos, w.length);
        state_writer__release(&w);
}
END_TEST

Suite *make_device_state_suite(void)
{
        Suite *s = suite_create("device_state");
        TCase *tc = tcase_create("records");
        tcase_add_test(tc, round_trip_every_type);
        tcase_add_test(tc, wrong_tag_and_version);
        tcase_add_test(tc, corruption_and_truncation);
        tcase_add_test(tc, short_reads_and_leftovers);
        tcase_add_test(tc, bool_must_be_zero_or_one);
        tcase_add_test(tc, records_follow_one_another);
        suite_add_tcase(s, tc);
        return s;
}
