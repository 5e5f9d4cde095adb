#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replication/replay_log.h"
#include "suites.h"

static char path[] = "/tmp/ftvmm-log-test.XXXXXX";
static const uint8_t image[] = { 0x7f, 'E', 'L', 'F', 1, 2, 3 };

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
                struct replay_entry e = { .tag = "TIME", .position = i, .value = 1000 + i };
                if (i % 3 == 2)
                        e = (struct replay_entry){ .tag = "EPOC", .position = i, .value = 0xabcd,
                                                   .vector = 0x20 };
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
                ck_assert_uint_eq(e.position, i);
                if (i % 3 == 2) {
                        ck_assert_str_eq(e.tag, "EPOC");
                        ck_assert_uint_eq(e.vector, 0x20);
                } else {
                        ck_assert_str_eq(e.tag, "TIME");
                        ck_assert_uint_eq(e.value, 1000 + i);
                }
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
        for (long cut = size - 1; cut > size - 6 * 28; cut--) {
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
        tcase_add_test(tc, bad_magic_and_boot);
        suite_add_tcase(s, tc);
        return s;
}
