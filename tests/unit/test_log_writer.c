/* The log writer: records reach the sink in order, `written` and `safe`
 * mean what they say for each kind of sink, one sync covers everything
 * waiting, and a failing sink stops everything at once. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../replication/log_writer.h"
#include "memory_sink.h"
#include "suites.h"

static struct memory_sink mem;
static struct log_writer writer;
static unsigned failures;
static uint64_t last_progress;

static void count_failure(void *context)
{
        (void)context;
        failures++;
}

static void note_progress(void *context, uint64_t safe)
{
        (void)context;
        __atomic_store_n(&last_progress, safe, __ATOMIC_SEQ_CST);
}

static void setup(void)
{
        memory_sink__init(&mem, 1 << 20);
        mem.length = 0; /* records only, no log header: easier to check */
        memset(&writer, 0, sizeof(writer));
        writer.on_failure = count_failure;
        writer.on_progress = note_progress;
        failures = 0;
        last_progress = 0;
}

static void teardown(void)
{
        memory_sink__release(&mem);
}

static void start(enum log_safety safety)
{
        ck_assert_int_eq(log_writer__start(&writer, &mem.sink, safety), 0);
}

/* Record i: 8 bytes holding i, easy to check in order. */
static int append(uint64_t i)
{
        return log_writer__append(&writer, (const uint8_t *)&i, sizeof(i), i);
}

static void expect_records_in_sink(uint64_t first, uint64_t last)
{
        ck_assert_uint_eq(mem.length, (last - first + 1) * 8);
        for (uint64_t i = first; i <= last; i++) {
                uint64_t got;
                memcpy(&got, mem.bytes + (i - first) * 8, 8);
                ck_assert_uint_eq(got, i);
        }
}

START_TEST(records_arrive_in_order_and_close_writes_the_rest)
{
        start(LOG_SAFE_WHEN_WRITTEN);
        for (uint64_t i = 1; i <= 5000; i++)
                ck_assert_int_eq(append(i), 0);
        ck_assert_int_eq(log_writer__close(&writer), 0);
        expect_records_in_sink(1, 5000);
        ck_assert_uint_eq(writer.written, 5000);
        ck_assert_uint_eq(writer.safe, 5000);
        ck_assert_uint_eq(last_progress, 5000);
}
END_TEST

/* wait_safe returns only once the sink holds the record. */
START_TEST(written_means_handed_to_the_sink)
{
        start(LOG_SAFE_WHEN_WRITTEN);
        for (uint64_t i = 1; i <= 10; i++)
                append(i);
        ck_assert_int_eq(log_writer__wait_safe(&writer, 7), 0);
        pthread_mutex_lock(&mem.lock);
        ck_assert_uint_ge(mem.length, 7 * 8);
        pthread_mutex_unlock(&mem.lock);
        ck_assert_uint_ge(log_writer__written(&writer), 7);
        ck_assert_int_eq(mem.syncs, 0);
        log_writer__close(&writer);
}
END_TEST

/* With fsync, safe trails written until a sync covered it; while one sync
 * runs, records pile up and the next sync covers all of them. */
START_TEST(synced_means_after_a_sync_and_syncs_are_grouped)
{
        mem.sync_delay = 20000;
        start(LOG_SAFE_WHEN_SYNCED);
        for (uint64_t i = 1; i <= 200; i++) {
                append(i);
                log_writer__flush(&writer);
                usleep(500);
        }
        ck_assert_int_eq(log_writer__wait_safe(&writer, 200), 0);
        pthread_mutex_lock(&mem.lock);
        ck_assert_uint_ge(mem.synced_length, 200 * 8);
        unsigned syncs = mem.syncs;
        pthread_mutex_unlock(&mem.lock);
        ck_assert_msg(syncs >= 2 && syncs < 50, "%u syncs for 200 records", syncs);
        log_writer__close(&writer);
}
END_TEST

/* A primary's sink tells its protocol how far it is sending before the
 * send returns: a backup may acknowledge that far at once, and anything
 * beyond it is a protocol error (primary_protocol.h). */
static uint64_t carried_in_write;

static int note_carrying(struct log_sink *sink, const uint8_t *bytes, size_t n)
{
        (void)sink;
        uint64_t last;
        memcpy(&last, bytes + n - 8, 8);
        ck_assert_uint_eq(writer.carrying, last);
        __atomic_store_n(&carried_in_write, writer.carrying, __ATOMIC_SEQ_CST);
        return mem.sink.write(&mem.sink, bytes, n);
}

START_TEST(the_sink_sees_how_far_it_is_sending)
{
        static struct log_sink noting = { .write = note_carrying, .name = "noting" };
        ck_assert_int_eq(log_writer__start(&writer, &noting, LOG_SAFE_WHEN_WRITTEN), 0);
        for (uint64_t i = 1; i <= 5; i++)
                append(i);
        log_writer__flush(&writer);
        ck_assert_int_eq(log_writer__wait_safe_for(&writer, 5, 2000), 0);
        ck_assert_uint_eq(__atomic_load_n(&carried_in_write, __ATOMIC_SEQ_CST), 5);
        log_writer__close(&writer);
}
END_TEST

START_TEST(an_idle_log_is_written_anyway)
{
        start(LOG_SAFE_WHEN_WRITTEN);
        append(1);
        for (int i = 0; i < 100 && log_writer__written(&writer) < 1; i++)
                usleep(10000);
        ck_assert_uint_eq(log_writer__written(&writer), 1);
        log_writer__close(&writer);
}
END_TEST

START_TEST(a_failing_sink_stops_everything)
{
        mem.fail_after = 8 * 3;
        start(LOG_SAFE_WHEN_WRITTEN);
        append(1);
        append(2);
        ck_assert_int_eq(log_writer__wait_safe(&writer, 2), 0);
        append(3);
        append(4);
        ck_assert_int_eq(log_writer__wait_safe(&writer, 4), -ENOSPC);
        ck_assert_int_eq(append(5), -ENOSPC);
        char why[256];
        ck_assert_int_eq(log_writer__error(&writer, why, sizeof(why)), -ENOSPC);
        ck_assert_msg(strstr(why, "memory") && strstr(why, "No space left"), "%s", why);
        ck_assert_uint_eq(log_writer__safe(&writer), 2);
        ck_assert_int_eq(log_writer__close(&writer), -ENOSPC);
        ck_assert_uint_eq(failures, 1);
        expect_records_in_sink(1, 2);
}
END_TEST

Suite *make_log_writer_suite(void)
{
        Suite *s = suite_create("log_writer");
        TCase *tc = tcase_create("writer");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, records_arrive_in_order_and_close_writes_the_rest);
        tcase_add_test(tc, written_means_handed_to_the_sink);
        tcase_add_test(tc, synced_means_after_a_sync_and_syncs_are_grouped);
        tcase_add_test(tc, the_sink_sees_how_far_it_is_sending);
        tcase_add_test(tc, an_idle_log_is_written_anyway);
        tcase_add_test(tc, a_failing_sink_stops_everything);
        suite_add_tcase(s, tc);
        return s;
}
