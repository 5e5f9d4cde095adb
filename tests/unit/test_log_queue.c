/* The queue of an epoch's records: each record's bytes are copied, so they
 * outlive the reader's buffer, which is reused as soon as the record has
 * been handed out. */
#include <string.h>

#include "../../replication/log_queue.h"
#include "suites.h"

static struct log_entry pushed_from_scratch(struct log_queue *q, enum log_kind kind)
{
        uint8_t scratch[64];
        memset(scratch, 0xab, sizeof(scratch));
        struct log_entry e = { .kind = kind, .position = 5 };
        struct log_bytes bytes = { scratch, sizeof(scratch) };
        if (kind == LOG_IO_COMPLETION)
                e.io_data = bytes;
        else
                e.state = bytes;
        ck_assert_int_eq(log_queue__push(q, &e), 0);
        memset(scratch, 0, sizeof(scratch)); /* the reader's buffer, reused */
        return e;
}

static void expect_copied(const struct log_bytes *b)
{
        ck_assert_uint_eq(b->length, 64);
        for (unsigned i = 0; i < 64; i++)
                ck_assert_uint_eq(b->data[i], 0xab);
}

START_TEST(a_completions_data_outlives_the_readers_buffer)
{
        struct log_queue q;
        log_queue__init(&q);
        pushed_from_scratch(&q, LOG_IO_COMPLETION);
        pushed_from_scratch(&q, LOG_CHECKPOINT);
        expect_copied(&log_queue__front(&q)->io_data);
        expect_copied(&log_queue__back(&q)->state);
        log_queue__pop(&q);
        ck_assert_int_eq(log_queue__front(&q)->kind, LOG_CHECKPOINT);
        log_queue__release(&q);
}
END_TEST

Suite *make_log_queue_suite(void)
{
        Suite *s = suite_create("log_queue");
        TCase *tc = tcase_create("copies");
        tcase_add_test(tc, a_completions_data_outlives_the_readers_buffer);
        suite_add_tcase(s, tc);
        return s;
}
