/* Output commit: a byte leaves only once the log is safe up to the record
 * before it, bytes leave in order, and a failed log releases nothing more. */
#include <string.h>
#include <unistd.h>

#include "../../replication/output_commit.h"
#include "suites.h"

static char emitted[4096];
static size_t emitted_length;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct output_commit oc;

static void emit(void *context, const uint8_t *bytes, size_t n)
{
        (void)context;
        pthread_mutex_lock(&lock);
        memcpy(emitted + emitted_length, bytes, n);
        emitted_length += n;
        emitted[emitted_length] = '\0';
        pthread_mutex_unlock(&lock);
}

static void setup(void)
{
        emitted_length = 0;
        emitted[0] = '\0';
        ck_assert_int_eq(output_commit__start(&oc, emit, NULL, 0), 0);
}

/* Waits (a little) for the release thread, then compares. */
static void expect_emitted(const char *text)
{
        for (int i = 0; i < 200; i++) {
                pthread_mutex_lock(&lock);
                bool same = strcmp(emitted, text) == 0;
                pthread_mutex_unlock(&lock);
                if (same)
                        return;
                usleep(1000);
        }
        ck_abort_msg("emitted '%s', expected '%s'", emitted, text);
}

static void hold(const char *text, uint64_t seq)
{
        ck_assert_int_eq(output_commit__hold(&oc, (const uint8_t *)text, strlen(text), seq), 0);
}

START_TEST(nothing_leaves_before_its_records_are_safe)
{
        hold("ab", 3);
        hold("cd", 5);
        hold("ef", 9);
        usleep(20000);
        expect_emitted("");
        output_commit__safe(&oc, 4);
        expect_emitted("ab");
        output_commit__safe(&oc, 8);
        expect_emitted("abcd");
        usleep(20000);
        expect_emitted("abcd");
        ck_assert_uint_eq(output_commit__produced(&oc), 6);
        ck_assert_uint_eq(output_commit__released(&oc), 4);
        output_commit__safe(&oc, 9);
        expect_emitted("abcdef");
        output_commit__close(&oc, true);
}
END_TEST

START_TEST(bytes_held_for_safe_records_leave_at_once)
{
        output_commit__safe(&oc, 10);
        hold("now", 10);
        expect_emitted("now");
        output_commit__close(&oc, true);
}
END_TEST

START_TEST(a_failed_log_releases_nothing_more)
{
        hold("kept", 1);
        output_commit__safe(&oc, 1);
        expect_emitted("kept");
        hold("lost", 2);
        output_commit__close(&oc, false);
        ck_assert_str_eq(emitted, "kept");
}
END_TEST

START_TEST(a_clean_close_releases_the_rest)
{
        hold("x", 1);
        hold("y", 2);
        output_commit__close(&oc, true);
        ck_assert_str_eq(emitted, "xy");
}
END_TEST

START_TEST(offsets_continue_a_transcript)
{
        output_commit__close(&oc, true);
        ck_assert_int_eq(output_commit__start(&oc, emit, NULL, 1000), 0);
        hold("12345", 1);
        ck_assert_uint_eq(output_commit__produced(&oc), 1005);
        ck_assert_uint_eq(output_commit__released(&oc), 1000);
        output_commit__safe(&oc, 1);
        expect_emitted("12345");
        ck_assert_uint_eq(output_commit__released(&oc), 1005);
        output_commit__close(&oc, true);
}
END_TEST

Suite *make_output_commit_suite(void)
{
        Suite *s = suite_create("output_commit");
        TCase *tc = tcase_create("release");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, nothing_leaves_before_its_records_are_safe);
        tcase_add_test(tc, bytes_held_for_safe_records_leave_at_once);
        tcase_add_test(tc, a_failed_log_releases_nothing_more);
        tcase_add_test(tc, a_clean_close_releases_the_rest);
        tcase_add_test(tc, offsets_continue_a_transcript);
        suite_add_tcase(s, tc);
        return s;
}
