#include <string.h>

#include "../../replication/state_record.h"
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
        ck_assert_uint_eq(w.length, STATE_RECORD_HEADER_SIZE + 19 + STATE_RECORD_TRAILER_SIZE);
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
        for (size_t i = 0; i < w.length; i++) {
                w.buf[i] ^= 0x10;
                state_reader__init(&r, w.buf, w.length);
                ck_assert_msg(state_reader__begin(&r, "TEST", 3) != 0, "byte %zu changed, accepted", i);
                ck_assert_msg(!r.truncated, "byte %zu changed, reported as truncated: %s", i, r.error);
                w.buf[i] ^= 0x10;
        }
        for (size_t n = 0; n < w.length; n++) {
                state_reader__init(&r, w.buf, n);
                ck_assert_int_ne(state_reader__begin(&r, "TEST", 3), 0);
                ck_assert(r.truncated);
                ck_assert_ptr_nonnull(strstr(r.error, "truncated"));
        }
        state_writer__release(&w);
}
END_TEST

/* The header's own checksum: a damaged length is corruption at once, not a
 * record that seems to need more bytes than the stream has yet. */
START_TEST(a_damaged_length_is_corruption_before_the_body_arrives)
{
        struct state_writer w;
        state_writer__init(&w);
        write_sample(&w);
        w.buf[9] ^= 0x01; /* payload length, second byte: claims 256 more */
        struct state_record_header h;
        char why[160];
        ck_assert_int_eq(state_record__check(w.buf, STATE_RECORD_HEADER_SIZE, &h, why, sizeof(why)),
                         STATE_RECORD_CORRUPT);
        ck_assert_ptr_nonnull(strstr(why, "header"));
        w.buf[9] ^= 0x01;
        ck_assert_int_eq(state_record__check(w.buf, STATE_RECORD_HEADER_SIZE, &h, why, sizeof(why)),
                         STATE_RECORD_INCOMPLETE);
        ck_assert_uint_eq(h.payload_length, 19);
        ck_assert_int_eq(state_record__check(w.buf, w.length, &h, why, sizeof(why)),
                         STATE_RECORD_COMPLETE);
        state_writer__release(&w);
}
END_TEST

/* The framing byte for byte, so that a change to it is a conscious one
 * (every format built on it must bump its version). */
START_TEST(header_layout_is_pinned)
{
        struct state_writer w;
        state_writer__init(&w);
        state_writer__begin(&w, "ABCD", 0x0102);
        state_writer__u8(&w, 0xee);
        ck_assert_int_eq(state_writer__end(&w), 0);
        static const uint8_t expected[] = {
                'A', 'B', 'C', 'D', 0x02, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                0xda, 0x18, 0x2a, 0xf4, /* crc32 of the 12 bytes before */
                0xee,
                0x62, 0x38, 0x90, 0x81, /* crc32 of the 17 bytes before */
        };
        ck_assert_uint_eq(w.length, sizeof(expected));
        for (size_t i = 0; i < sizeof(expected); i++)
                ck_assert_msg(w.buf[i] == expected[i], "byte %zu is 0x%02x, pinned 0x%02x", i,
                              w.buf[i], expected[i]);
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

Suite *make_state_record_suite(void)
{
        Suite *s = suite_create("state_record");
        TCase *tc = tcase_create("records");
        tcase_add_test(tc, round_trip_every_type);
        tcase_add_test(tc, wrong_tag_and_version);
        tcase_add_test(tc, corruption_and_truncation);
        tcase_add_test(tc, a_damaged_length_is_corruption_before_the_body_arrives);
        tcase_add_test(tc, header_layout_is_pinned);
        tcase_add_test(tc, short_reads_and_leftovers);
        tcase_add_test(tc, bool_must_be_zero_or_one);
        tcase_add_test(tc, records_follow_one_another);
        suite_add_tcase(s, tc);
        return s;
}
