#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replication/replay_log.h"
#include "suites.h"

static char path[] = "/tmp/ftvmm-log-test.XXXXXX";
static const uint8_t image[] = { 0x7f, 'E', 'L', 'F', 1, 2, 3 };
static const uint8_t output[] = "epoch output\n";
static const uint8_t state[] = { 0x78, 0x01, 9, 8, 7 };

/* Entry i of the test log: TIME, TIME, EPOC, TIME, TIME, CHKP, ... */
static struct replay_entry test_entry(unsigned i)
{
        if (i % 6 == 2)
                return (struct replay_entry){ .tag = "EPOC", .position = i, .value = 0xabcd,
                                              .cause = EPOCH_INTERRUPT, .vector = 0x20 };
        if (i % 6 == 5)
                return (struct replay_entry){ .tag = "CHKP", .position = i, .value = i - 2,
                                              .output = output, .output_length = sizeof(output),
                                              .state = state, .state_length = sizeof(state) };
        return (struct replay_entry){ .tag = "TIME", .position = i, .value = 1000 + i };
}

static void write_log(unsigned entries)
{
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        struct replay_writer w;
        struct replay_boot boot = { .ram_size = 64 << 20, .cmdline = "lines=3",
                                    .image = image, .image_size = sizeof(image) };
        char err[256];
        ck_assert_int_eq(replay_writer__open(&w, path, &boot, err, sizeof(err)), 0);
        for (unsigned i = 0; i < entries; i++) {
                struct replay_entry e = test_entry(i);
                replay_writer__entry(&w, &e);
        }
        ck_assert_int_eq(replay_writer__close(&w, err, sizeof(err)), 0);
}

static void teardown(void)
{
        unlink(path);
        strcpy(path, "/tmp/ftvmm-log-test.XXXXXX");
}

START_TEST(round_trip)
{
        write_log(10);
        struct replay_reader rd;
        struct replay_boot boot;
        char err[256];
        ck_assert_int_eq(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
        ck_assert_uint_eq(boot.ram_size, 64 << 20);
        ck_assert_str_eq(boot.cmdline, "lines=3");
        ck_assert_mem_eq(boot.image, image, sizeof(image));
        struct replay_entry e;
        for (unsigned i = 0; i < 10; i++) {
                ck_assert(replay_reader__next(&rd, &e));
                struct replay_entry want = test_entry(i);
                ck_assert_str_eq(e.tag, want.tag);
                ck_assert_uint_eq(e.position, i);
                ck_assert_uint_eq(e.value, want.value);
                ck_assert_uint_eq(e.cause, want.cause);
                ck_assert_uint_eq(e.vector, want.vector);
                ck_assert_uint_eq(e.output_length, want.output_length);
                ck_assert_uint_eq(e.state_length, want.state_length);
                if (want.output_length)
                        ck_assert_mem_eq(e.output, output, sizeof(output));
                if (want.state_length)
                        ck_assert_mem_eq(e.state, state, sizeof(state));
        }
        ck_assert(!replay_reader__next(&rd, &e));
        ck_assert(!rd.cut_short);
        replay_reader__close(&rd);
}
END_TEST

START_TEST(every_cut_is_detected)
{
        write_log(6);
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        char err[256];
        for (long cut = size - 1; cut > size - 120; cut--) {
                ck_assert_int_eq(truncate(path, cut), 0);
                struct replay_reader rd;
                struct replay_boot boot;
                ck_assert_int_eq(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
                struct replay_entry e;
                while (replay_reader__next(&rd, &e))
                        ;
                ck_assert_uint_lt(rd.entries, 6);
                ck_assert_msg(rd.cut_short || rd.problem[0] == '\0',
                              "cut at %ld: %s", cut, rd.problem);
                replay_reader__close(&rd);
        }
}
END_TEST

/* Every one-byte change after the BOOT record stops the reader with a
 * reason at or before the record it hit, never a wrong entry. */
START_TEST(every_corruption_is_detected)
{
        write_log(6);
        FILE *f = fopen(path, "rb");
        uint8_t clean[4096];
        size_t size = fread(clean, 1, sizeof(clean), f);
        fclose(f);
        char err[256];
        struct replay_reader rd;
        struct replay_boot boot;
        ck_assert_int_eq(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
        size_t first_entry = rd.r.pos;
        replay_reader__close(&rd);
        for (size_t at = first_entry; at < size; at++) {
                uint8_t bad[4096];
                memcpy(bad, clean, size);
                bad[at] ^= 0x55;
                f = fopen(path, "wb");
                fwrite(bad, 1, size, f);
                fclose(f);
                ck_assert_int_eq(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
                struct replay_entry e;
                unsigned good = 0;
                while (replay_reader__next(&rd, &e)) {
                        struct replay_entry want = test_entry(good++);
                        ck_assert_str_eq(e.tag, want.tag);
                        ck_assert_uint_eq(e.value, want.value);
                }
                ck_assert_msg(good < 6, "byte %zu changed, all entries read", at);
                ck_assert_msg(rd.problem[0] || rd.cut_short, "byte %zu: no reason given", at);
                replay_reader__close(&rd);
        }
}
END_TEST

/* A replay looks ahead to how an epoch ends and can skip a checkpoint
 * epoch's records. */
START_TEST(epoch_end_lookahead)
{
        write_log(12);
        struct replay_reader rd;
        struct replay_boot boot;
        char err[256];
        ck_assert_int_eq(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
        struct replay_entry e;
        ck_assert(replay_reader__peek_epoch_end(&rd, &e));
        ck_assert_str_eq(e.tag, "EPOC");
        ck_assert_uint_eq(e.position, 2);
        ck_assert(replay_reader__next(&rd, &e));
        ck_assert_str_eq(e.tag, "TIME"); /* the peek consumed nothing */
        ck_assert_uint_eq(e.position, 0);
        ck_assert(replay_reader__next(&rd, &e));
        ck_assert(replay_reader__next(&rd, &e));
        ck_assert(replay_reader__peek_epoch_end(&rd, &e));
        ck_assert_str_eq(e.tag, "CHKP");
        ck_assert_uint_eq(e.position, 5);
        replay_reader__skip_to_epoch_end(&rd);
        ck_assert(replay_reader__next(&rd, &e));
        ck_assert_str_eq(e.tag, "CHKP");
        ck_assert_uint_eq(rd.entries, 6);
        replay_reader__close(&rd);
        /* A log that ends inside an epoch has no end to find. */
        teardown();
        write_log(4);
        ck_assert_int_eq(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
        for (int i = 0; i < 3; i++)
                ck_assert(replay_reader__next(&rd, &e));
        ck_assert(!replay_reader__peek_epoch_end(&rd, &e));
        ck_assert(replay_reader__next(&rd, &e));
        ck_assert_str_eq(e.tag, "TIME");
        replay_reader__close(&rd);
}
END_TEST

START_TEST(bad_magic_and_boot)
{
        write_log(1);
        FILE *f = fopen(path, "r+b");
        fputc('X', f);
        fclose(f);
        struct replay_reader rd;
        struct replay_boot boot;
        char err[256];
        ck_assert_int_ne(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(err, "not an ftvmm log"));
        replay_reader__close(&rd);
        ck_assert_int_eq(truncate(path, 20), 0);
        f = fopen(path, "r+b");
        fputc('F', f);
        fclose(f);
        ck_assert_int_ne(replay_reader__open(&rd, path, &boot, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(err, "BOOT"));
        replay_reader__close(&rd);
}
END_TEST

Suite *make_replay_log_suite(void)
{
        Suite *s = suite_create("replay_log");
        TCase *tc = tcase_create("format");
        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, round_trip);
        tcase_add_test(tc, every_cut_is_detected);
        tcase_add_test(tc, every_corruption_is_detected);
        tcase_add_test(tc, epoch_end_lookahead);
        tcase_add_test(tc, bad_magic_and_boot);
        suite_add_tcase(s, tc);
        return s;
}
