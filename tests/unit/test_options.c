#include <string.h>

#include "../../vmm/options.h"
#include "suites.h"

static struct run_options opts;
static char err[256];

static int parse(int argc, char **argv)
{
        return options__parse_run(argc, argv, &opts, err, sizeof(err));
}

#define PARSE(...) ({ char *argv_[] = { "run", __VA_ARGS__, NULL }; \
                      parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); })

static void expect_error(int rc, const char *fragment)
{
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err, fragment), "error '%s' lacks '%s'", err, fragment);
}

START_TEST(defaults)
{
        ck_assert_int_eq(PARSE("guest.elf"), 0);
        ck_assert_str_eq(opts.image, "guest.elf");
        ck_assert_uint_eq(opts.mem_bytes, OPTIONS_DEFAULT_MEM);
        ck_assert_str_eq(opts.cmdline, "");
        ck_assert_ptr_null(opts.console_path);
        ck_assert(opts.timeout_seconds == 0);
        ck_assert_int_eq(opts.exit_status, EXIT_STATUS_GUEST);
}
END_TEST

START_TEST(all_options)
{
        ck_assert_int_eq(PARSE("--mem", "64M", "--cmdline", "lines=3", "--console", "out.txt",
                               "--timeout", "2.5", "--exit-status=qemu", "g.elf"), 0);
        ck_assert_uint_eq(opts.mem_bytes, 64ull << 20);
        ck_assert_str_eq(opts.cmdline, "lines=3");
        ck_assert_str_eq(opts.console_path, "out.txt");
        ck_assert(opts.timeout_seconds == 2.5);
        ck_assert_int_eq(opts.exit_status, EXIT_STATUS_QEMU);
}
END_TEST

START_TEST(sizes)
{
        uint64_t b;
        ck_assert_int_eq(options__parse_size("128M", &b), 0);
        ck_assert_uint_eq(b, 128ull << 20);
        ck_assert_int_eq(options__parse_size("1G", &b), 0);
        ck_assert_uint_eq(b, 1ull << 30);
        ck_assert_int_eq(options__parse_size("64KiB", &b), 0);
        ck_assert_uint_eq(b, 64ull << 10);
        ck_assert_int_eq(options__parse_size("4096", &b), 0);
        ck_assert_uint_eq(b, 4096);
        ck_assert_int_eq(options__parse_size("", &b), -1);
        ck_assert_int_eq(options__parse_size("-1M", &b), -1);
        ck_assert_int_eq(options__parse_size("12X", &b), -1);
        ck_assert_int_eq(options__parse_size("99999999999999999999", &b), -1);
        ck_assert_int_eq(options__parse_size("17179869184G", &b), -1);
}
END_TEST

START_TEST(bad_mem)
{
        expect_error(PARSE("--mem", "1M", "g.elf"), "--mem '1M'");
        expect_error(PARSE("--mem", "lots", "g.elf"), "--mem 'lots'");
        expect_error(PARSE("--mem", "4097K", "g.elf"), "multiple of 4K");
}
END_TEST

START_TEST(bad_values)
{
        expect_error(PARSE("--timeout", "-3", "g.elf"), "--timeout '-3'");
        expect_error(PARSE("--timeout", "nan", "g.elf"), "--timeout 'nan'");
        expect_error(PARSE("--exit-status=maybe", "g.elf"), "--exit-status 'maybe'");
}
END_TEST

START_TEST(bad_usage)
{
        expect_error(PARSE("--frobnicate", "g.elf"), "unknown option '--frobnicate'");
        expect_error(PARSE("g.elf", "--mem"), "needs a value");
        expect_error(PARSE("--console", "x"), "missing IMAGE");
        expect_error(PARSE("a.elf", "b.elf"), "unexpected argument 'b.elf'");
}
END_TEST

START_TEST(help_needs_no_image)
{
        ck_assert_int_eq(PARSE("--help"), 0);
        ck_assert(opts.help);
        ck_assert_ptr_nonnull(strstr(options__run_help, "--mem"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--console"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--cmdline"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--timeout"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--exit-status"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--stats"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--until"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--snapshot"));
        ck_assert_ptr_nonnull(strstr(options__run_help, "--restore"));
}
END_TEST

START_TEST(snapshot_options)
{
        ck_assert_int_eq(PARSE("--until", "150", "--snapshot", "s.snap", "g.elf"), 0);
        ck_assert_uint_eq(opts.until_position, 150);
        ck_assert_str_eq(opts.snapshot_path, "s.snap");
        ck_assert_int_eq(PARSE("--restore", "s.snap"), 0);
        ck_assert_str_eq(opts.restore_path, "s.snap");
        expect_error(PARSE("--until", "150", "g.elf"), "--until and --snapshot go together");
        expect_error(PARSE("--snapshot", "s", "g.elf"), "--until and --snapshot go together");
        expect_error(PARSE("--until", "0", "--snapshot", "s", "g.elf"), "--until '0'");
        expect_error(PARSE("--until", "-5", "--snapshot", "s", "g.elf"), "--until '-5'");
        expect_error(PARSE("--restore", "s.snap", "g.elf"), "--restore replaces IMAGE");
        expect_error(PARSE("--restore", "s.snap", "--mem", "64M"), "drop --mem");
}
END_TEST

START_TEST(record_options)
{
        ck_assert_int_eq(PARSE("guest.elf"), 0);
        ck_assert(opts.max_stall_ms == OPTIONS_DEFAULT_MAX_STALL_MS);
        ck_assert(opts.epoch_ms == OPTIONS_DEFAULT_EPOCH_MS);
        ck_assert_int_eq(opts.sync, LOG_SYNC_WRITE);
        ck_assert_uint_eq(opts.verify_every, OPTIONS_DEFAULT_VERIFY_EVERY);
        ck_assert_ptr_null(opts.log_path);
        ck_assert(!opts.record_tuning_given);
        ck_assert_int_eq(PARSE("--log", "x.log", "--max-stall", "7.5", "--epoch", "3",
                               "--sync=fsync", "--verify-every", "0", "g.elf"), 0);
        ck_assert_str_eq(opts.log_path, "x.log");
        ck_assert(opts.max_stall_ms == 7.5);
        ck_assert(opts.epoch_ms == 3);
        ck_assert_int_eq(opts.sync, LOG_SYNC_FSYNC);
        ck_assert_uint_eq(opts.verify_every, 0);
        ck_assert(opts.record_tuning_given);
        ck_assert_int_eq(PARSE("-l", "y.log", "--sync", "write", "g.elf"), 0);
        ck_assert_str_eq(opts.log_path, "y.log");
        ck_assert_int_eq(opts.sync, LOG_SYNC_WRITE);
}
END_TEST

START_TEST(bad_record_options)
{
        expect_error(PARSE("--max-stall", "0", "g.elf"), "--max-stall '0': expected a positive number of milliseconds");
        expect_error(PARSE("--max-stall", "-3", "g.elf"), "--max-stall '-3'");
        expect_error(PARSE("--epoch", "soon", "g.elf"), "--epoch 'soon'");
        expect_error(PARSE("--epoch", "1e9", "g.elf"), "--epoch '1e9'");
        expect_error(PARSE("--sync=maybe", "g.elf"), "--sync 'maybe': expected 'write' or 'fsync'");
        expect_error(PARSE("--verify-every", "-1", "g.elf"), "--verify-every '-1'");
        expect_error(PARSE("--verify-every", "2x", "g.elf"), "--verify-every '2x'");
        expect_error(PARSE("--verify-every", "9999999", "g.elf"), "from 0 to 1000000");
        expect_error(PARSE("g.elf", "--log"), "option '--log' needs a value");
}
END_TEST

Suite *make_options_suite(void)
{
        Suite *s = suite_create("options");
        TCase *tc = tcase_create("run");
        tcase_add_test(tc, defaults);
        tcase_add_test(tc, all_options);
        tcase_add_test(tc, sizes);
        tcase_add_test(tc, bad_mem);
        tcase_add_test(tc, bad_values);
        tcase_add_test(tc, bad_usage);
        tcase_add_test(tc, help_needs_no_image);
        tcase_add_test(tc, snapshot_options);
        tcase_add_test(tc, record_options);
        tcase_add_test(tc, bad_record_options);
        suite_add_tcase(s, tc);
        return s;
}
