/* Compression of large state: round trips (across chunks too), and every
 * cut or damaged framing byte refused with a reason. */
#include <stdlib.h>
#include <string.h>

#include "../../replication/compression.h"
#include "suites.h"

static char err[256];

static void pack(const uint8_t *in, size_t n, struct state_writer *w)
{
        state_writer__init(w);
        ck_assert_int_eq(compression__pack(in, n, w), 0);
}

START_TEST(round_trip)
{
        uint8_t in[10000];
        for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (uint8_t)(i * 7 / 13);
        struct state_writer w;
        pack(in, sizeof(in), &w);
        ck_assert_uint_lt(w.length, sizeof(in));
        uint8_t out[sizeof(in)];
        ck_assert_msg(compression__unpack(w.buf, w.length, out, sizeof(out), err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert_mem_eq(out, in, sizeof(in));
        state_writer__release(&w);
}
END_TEST

START_TEST(more_than_one_chunk)
{
        size_t n = COMPRESSION_CHUNK + 4096 + 17;
        uint8_t *in = calloc(1, n), *out = malloc(n);
        in[0] = 1;
        in[COMPRESSION_CHUNK - 1] = 2;
        in[COMPRESSION_CHUNK] = 3;
        in[n - 1] = 4;
        struct state_writer w;
        pack(in, n, &w);
        ck_assert_msg(compression__unpack(w.buf, w.length, out, n, err, sizeof(err)) == 0, "%s", err);
        ck_assert(memcmp(out, in, n) == 0);
        state_writer__release(&w);
        free(in);
        free(out);
}
END_TEST

START_TEST(empty)
{
        struct state_writer w;
        pack(NULL, 0, &w);
        ck_assert_uint_eq(w.length, 8);
        ck_assert_int_eq(compression__unpack(w.buf, w.length, NULL, 0, err, sizeof(err)), 0);
        state_writer__release(&w);
}
END_TEST

START_TEST(every_cut_is_refused)
{
        uint8_t in[3000], out[3000];
        memset(in, 'a', sizeof(in));
        memcpy(in + 1000, "some text that is not all the same letter", 41);
        struct state_writer w;
        pack(in, sizeof(in), &w);
        for (size_t n = 0; n < w.length; n++)
                ck_assert_msg(compression__unpack(w.buf, n, out, sizeof(out), err, sizeof(err)) != 0,
                              "cut to %zu of %zu bytes, accepted", n, w.length);
        state_writer__release(&w);
}
END_TEST

/* The framing (sizes) is checked; damage inside an LZ4 block may decode to
 * other bytes, which the state records inside carry CRCs for. */
START_TEST(damaged_framing_is_refused)
{
        uint8_t in[3000], out[3000];
        memset(in, 'b', sizeof(in));
        struct state_writer w;
        pack(in, sizeof(in), &w);
        for (size_t i = 0; i < 12; i++) {
                w.buf[i] ^= 0x40;
                ck_assert_msg(compression__unpack(w.buf, w.length, out, sizeof(out), err, sizeof(err)) != 0,
                              "framing byte %zu changed, accepted", i);
                ck_assert_ptr_null(strchr(err, '\n'));
                w.buf[i] ^= 0x40;
        }
        ck_assert_int_ne(compression__unpack(w.buf, w.length, out, sizeof(out) - 1, err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, "3000 bytes, 2999 expected"), "%s", err);
        state_writer__release(&w);
}
END_TEST

Suite *make_compression_suite(void)
{
        Suite *s = suite_create("compression");
        TCase *tc = tcase_create("lz4");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, round_trip);
        tcase_add_test(tc, more_than_one_chunk);
        tcase_add_test(tc, empty);
        tcase_add_test(tc, every_cut_is_refused);
        tcase_add_test(tc, damaged_framing_is_refused);
        suite_add_tcase(s, tc);
        return s;
}
