/* Output commit: a byte leaves only once the log is safe up to the record
 * before it, bytes leave in order, and a failed log releases nothing more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replication/output_commit.h"
#include "suites.h"

static char emitted[4096];
static size_t emitted_length;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct output_commit oc;

static size_t console_room = SIZE_MAX; /* a console that fails after this many bytes */

static size_t emit(void *context, const uint8_t *bytes, size_t n)
{
        (void)context;
        pthread_mutex_lock(&lock);
        size_t left = n < console_room ? n : console_room;
        console_room -= left;
        memcpy(emitted + emitted_length, bytes, left);
        emitted_length += left;
        emitted[emitted_length] = '\0';
        pthread_mutex_unlock(&lock);
        return left;
}

static void setup(void)
{
        console_room = SIZE_MAX;
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

/* Held outputs of another kind: a note of what became of each. */
struct test_output {
        struct held_output h;
        char name;
};
static char fate[64];
static pthread_mutex_t fate_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_fate(struct held_output *h, char how)
{
        struct test_output *t = (struct test_output *)h;
        pthread_mutex_lock(&fate_lock);
        size_t n = strlen(fate);
        fate[n] = how;
        fate[n + 1] = t->name;
        fate[n + 2] = '\0';
        pthread_mutex_unlock(&fate_lock);
}

static void test_release(struct held_output *h) { note_fate(h, '+'); }
static void test_discard(struct held_output *h) { note_fate(h, '-'); }

static struct test_output outputs[4];

static void hold_output(unsigned i, char name, uint64_t seq)
{
        outputs[i] = (struct test_output){ .h = { .release = test_release, .discard = test_discard },
                                           .name = name };
        output_commit__hold_output(&oc, &outputs[i].h, seq);
}

static void expect_fate(const char *expected)
{
        for (int i = 0; i < 200; i++) {
                pthread_mutex_lock(&fate_lock);
                bool same = strcmp(fate, expected) == 0;
                pthread_mutex_unlock(&fate_lock);
                if (same)
                        return;
                usleep(1000);
        }
        ck_abort_msg("outputs '%s', expected '%s'", fate, expected);
}

START_TEST(other_outputs_leave_in_order_once_safe)
{
        fate[0] = '\0';
        hold_output(0, 'a', 2);
        hold("x", 3);
        hold_output(1, 'b', 4);
        usleep(20000);
        expect_fate("");
        output_commit__safe(&oc, 3);
        expect_fate("+a");
        expect_emitted("x");
        output_commit__safe(&oc, 4);
        expect_fate("+a+b");
        output_commit__close(&oc, true);
}
END_TEST

static _Atomic enum permit gate_answer;
static _Atomic unsigned permits_begun, permits_ended;

static enum permit gate_begin(void *context)
{
        (void)context;
        enum permit p = gate_answer;
        if (p == PERMIT_GO)
                permits_begun++;
        return p;
}

static void gate_end(void *context)
{
        (void)context;
        permits_ended++;
}

/* Every batch leaves under one permit of the gate: a wait holds
 * everything, a never discards everything, now and later. */
START_TEST(the_gate_decides_every_batch)
{
        static const struct permit_gate gate = { .begin = gate_begin, .end = gate_end };
        fate[0] = '\0';
        permits_begun = permits_ended = 0;
        gate_answer = PERMIT_WAIT;
        output_commit__set_gate(&oc, &gate, NULL, NULL);
        hold("held", 1);
        hold_output(0, 'a', 1);
        output_commit__safe(&oc, 1);
        usleep(30000);
        expect_emitted("");
        expect_fate("");
        gate_answer = PERMIT_GO;
        expect_emitted("held");
        expect_fate("+a");
        ck_assert_uint_eq(permits_begun, permits_ended);
        ck_assert_uint_ge(permits_begun, 1);
        gate_answer = PERMIT_NEVER;
        hold("never", 2);
        hold_output(1, 'b', 2);
        output_commit__safe(&oc, 2);
        expect_fate("+a-b");
        hold_output(2, 'c', 3); /* after the gate said never: discarded at once */
        expect_fate("+a-b-c");
        output_commit__close(&oc, true);
        ck_assert_str_eq(emitted, "held");
        ck_assert_uint_eq(output_commit__released(&oc), 4);
}
END_TEST

/* Bytes a failing console did not take are not released: the mark stays
 * where the console failed, so a backup re-emits them. */
START_TEST(bytes_the_console_refused_are_not_released)
{
        console_room = 3;
        hold("abcdef", 1);
        output_commit__safe(&oc, 1);
        expect_emitted("abc");
        for (int i = 0; i < 200 && output_commit__stats(&oc).batches < 1; i++)
                usleep(1000);
        ck_assert_uint_eq(output_commit__released(&oc), 3);
        hold("gh", 2);
        output_commit__safe(&oc, 2);
        usleep(20000);
        ck_assert_uint_eq(output_commit__released(&oc), 3);
        output_commit__close(&oc, true);
}
END_TEST

/* What a joining backup is given: every byte from the release mark on. */
START_TEST(unreleased_bytes_start_at_the_release_mark)
{
        hold("out", 1);
        output_commit__safe(&oc, 1);
        expect_emitted("out");
        for (int i = 0; i < 200 && output_commit__released(&oc) < 3; i++)
                usleep(1000);
        hold("held", 2);
        uint64_t from;
        uint8_t *bytes;
        size_t n;
        ck_assert_int_eq(output_commit__unreleased(&oc, &from, &bytes, &n), 0);
        ck_assert_uint_eq(from, 3);
        ck_assert_uint_eq(n, 4);
        ck_assert_mem_eq(bytes, "held", 4);
        free(bytes);
        output_commit__close(&oc, false);
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
        tcase_add_test(tc, other_outputs_leave_in_order_once_safe);
        tcase_add_test(tc, the_gate_decides_every_batch);
        tcase_add_test(tc, bytes_the_console_refused_are_not_released);
        tcase_add_test(tc, unreleased_bytes_start_at_the_release_mark);
        suite_add_tcase(s, tc);
        return s;
}
