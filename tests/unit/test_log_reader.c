/* The log read as a stream: complete records, "need more", a log cut short
 * and corruption are told apart at every byte, and the log's grammar
 * (sequence numbers, order, positions) is enforced. */
#include <stdlib.h>
#include <string.h>

#include "../../replication/log_reader.h"
#include "sample_log.h"
#include "suites.h"

#define MAX_RECORD (1u << 20)

static struct state_writer log_bytes;
static size_t record_end[SAMPLE_LOG_RECORDS];
static struct log_reader rd;

static void setup(void)
{
        state_writer__init(&log_bytes);
        sample_log__write(&log_bytes, SAMPLE_LOG_RECORDS, record_end);
        log_reader__init(&rd, MAX_RECORD);
}

static void teardown(void)
{
        log_reader__release(&rd);
        state_writer__release(&log_bytes);
}

static void expect_same(const struct log_entry *got, const struct log_entry *want)
{
        ck_assert_int_eq(got->kind, want->kind);
        ck_assert_uint_eq(got->seq, want->seq);
        ck_assert_uint_eq(got->position, want->position);
        ck_assert_uint_eq(got->value, want->value);
        ck_assert_uint_eq(got->digest, want->digest);
        ck_assert_uint_eq(got->cause, want->cause);
        ck_assert_uint_eq(got->vector, want->vector);
        ck_assert_uint_eq(got->has_memory_hash, want->has_memory_hash);
        ck_assert_uint_eq(got->memory_hash, want->memory_hash);
        ck_assert_uint_eq(got->start_position, want->start_position);
        ck_assert_uint_eq(got->epochs, want->epochs);
        ck_assert_uint_eq(got->ram_size, want->ram_size);
        ck_assert_uint_eq(got->disk_sectors, want->disk_sectors);
        ck_assert_uint_eq(got->disk_readonly, want->disk_readonly);
        ck_assert_uint_eq(got->io_device, want->io_device);
        ck_assert_uint_eq(got->io_id, want->io_id);
        ck_assert_uint_eq(got->io_status, want->io_status);
        ck_assert_uint_eq(got->output_start, want->output_start);
        const struct log_bytes *g[] = { &got->output, &got->state, &got->description,
                                        &got->cmdline, &got->image, &got->initrd, &got->io_data,
                                        &got->digest_parts, &got->memory_ranges };
        const struct log_bytes *w[] = { &want->output, &want->state, &want->description,
                                        &want->cmdline, &want->image, &want->initrd, &want->io_data,
                                        &want->digest_parts, &want->memory_ranges };
        for (int i = 0; i < 9; i++) {
                ck_assert_uint_eq(g[i]->length, w[i]->length);
                if (w[i]->length)
                        ck_assert_mem_eq(g[i]->data, w[i]->data, (size_t)w[i]->length);
        }
}

/* Reads records until the reader says something else; returns that. */
static enum log_read read_all(unsigned *records)
{
        struct log_entry e;
        enum log_read got;
        while ((got = log_reader__next(&rd, &e)) == LOG_READ_RECORD) {
                struct log_entry want = sample_log__entry(*records);
                expect_same(&e, &want);
                (*records)++;
        }
        return got;
}

START_TEST(every_record_reads_back)
{
        unsigned records = 0;
        ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, log_bytes.length), 0);
        ck_assert_int_eq(read_all(&records), LOG_READ_NEED_MORE);
        ck_assert_uint_eq(records, SAMPLE_LOG_RECORDS);
        ck_assert_uint_eq(log_reader__pending(&rd), 0);
        ck_assert(log_reader__ended(&rd));
}
END_TEST

/* Bytes arriving one at a time: each record appears once it is whole, and
 * never is anything reported but "need more" before that. */
START_TEST(a_byte_at_a_time)
{
        unsigned records = 0;
        for (size_t i = 0; i < log_bytes.length; i++) {
                ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf + i, 1), 0);
                ck_assert_int_eq(read_all(&records), LOG_READ_NEED_MORE);
                unsigned whole = 0;
                while (whole < SAMPLE_LOG_RECORDS && record_end[whole] <= i + 1)
                        whole++;
                ck_assert_uint_eq(records, whole);
        }
}
END_TEST

/* A log cut at any byte is never corruption: the records before the cut
 * read back, and bytes are pending exactly when the cut is inside one. */
START_TEST(every_cut_is_need_more)
{
        for (size_t cut = 0; cut < log_bytes.length; cut++) {
                log_reader__release(&rd);
                log_reader__init(&rd, MAX_RECORD);
                ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, cut), 0);
                unsigned records = 0;
                ck_assert_msg(read_all(&records) == LOG_READ_NEED_MORE, "cut at %zu: %s", cut,
                              rd.problem);
                unsigned whole = 0;
                while (whole < SAMPLE_LOG_RECORDS && record_end[whole] <= cut)
                        whole++;
                ck_assert_uint_eq(records, whole);
                bool at_boundary = cut == 0 || cut == (whole ? record_end[whole - 1] : LOG_HEADER_SIZE);
                ck_assert_msg((log_reader__pending(&rd) == 0) == at_boundary,
                              "cut at %zu: %zu bytes pending", cut, log_reader__pending(&rd));
        }
}
END_TEST

/* Any one byte changed: the records before it read back, and the reader
 * reports corruption at the record holding it, never "need more". */
START_TEST(every_corruption_is_corruption)
{
        for (size_t at = 0; at < log_bytes.length; at++) {
                log_reader__release(&rd);
                log_reader__init(&rd, MAX_RECORD);
                log_bytes.buf[at] ^= 0x55;
                ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, log_bytes.length), 0);
                log_bytes.buf[at] ^= 0x55;
                unsigned records = 0;
                enum log_read got = read_all(&records);
                ck_assert_msg(got == LOG_READ_CORRUPT, "byte %zu changed: reader says %d", at, got);
                ck_assert(rd.problem[0]);
                ck_assert_ptr_null(strchr(rd.problem, '\n'));
                unsigned holding = 0;
                while (holding < SAMPLE_LOG_RECORDS && record_end[holding] <= at)
                        holding++;
                ck_assert_msg(records == (at < LOG_HEADER_SIZE ? 0 : holding),
                              "byte %zu changed: %u records read", at, records);
                ck_assert_int_eq(log_reader__next(&rd, &(struct log_entry){ 0 }), LOG_READ_CORRUPT);
        }
}
END_TEST

/* The length of a record in the middle, damaged so that it claims more
 * bytes than follow: corruption at once, not a wait for bytes. */
START_TEST(a_damaged_length_is_corruption_not_a_cut)
{
        size_t chkp = record_end[4];
        log_bytes.buf[chkp + 10] ^= 0x01;
        ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, chkp + STATE_RECORD_HEADER_SIZE), 0);
        unsigned records = 0;
        ck_assert_int_eq(read_all(&records), LOG_READ_CORRUPT);
        ck_assert_uint_eq(records, 5);
        ck_assert_msg(strstr(rd.problem, "header"), "%s", rd.problem);
}
END_TEST

/* A log built from entries as given (sequence numbers included). */
static void feed_entries(const struct log_entry *entries, size_t n)
{
        struct state_writer w;
        state_writer__init(&w);
        uint8_t header[LOG_HEADER_SIZE];
        log_format__header(header);
        state_writer__bytes(&w, header, sizeof(header));
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(log_entry__encode(&entries[i], &w), 0);
        ck_assert_int_eq(log_reader__feed(&rd, w.buf, w.length), 0);
        state_writer__release(&w);
}

static void expect_refused_after(unsigned good, const char *fragment)
{
        struct log_entry e;
        for (unsigned i = 0; i < good; i++)
                ck_assert_msg(log_reader__next(&rd, &e) == LOG_READ_RECORD, "record %u: %s", i,
                              rd.problem);
        ck_assert_int_eq(log_reader__next(&rd, &e), LOG_READ_CORRUPT);
        ck_assert_msg(strstr(rd.problem, fragment), "'%s' lacks '%s'", rd.problem, fragment);
}

static struct log_entry numbered(unsigned i, uint64_t seq)
{
        struct log_entry e = sample_log__entry(i);
        e.seq = seq;
        return e;
}

START_TEST(a_gap_in_the_sequence)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(1, 2), numbered(2, 4) };
        feed_entries(entries, 3);
        expect_refused_after(2, "sequence number 4, expected 3");
}
END_TEST

START_TEST(a_duplicate)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(1, 2), numbered(1, 2) };
        feed_entries(entries, 3);
        expect_refused_after(2, "sequence number 2, expected 3");
}
END_TEST

START_TEST(a_reordering)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(2, 3), numbered(1, 2) };
        feed_entries(entries, 3);
        expect_refused_after(1, "sequence number 3, expected 2");
}
END_TEST

START_TEST(a_log_may_begin_at_any_sequence_number)
{
        struct log_entry entries[] = { numbered(0, 41), numbered(1, 42), numbered(2, 44) };
        feed_entries(entries, 3);
        expect_refused_after(2, "sequence number 44, expected 43");
}
END_TEST

START_TEST(a_log_must_begin_with_boot_or_a_machine_state)
{
        struct log_entry entries[] = { numbered(1, 1) };
        feed_entries(entries, 1);
        expect_refused_after(0, "begins with TIME");
}
END_TEST

START_TEST(boot_only_at_the_start)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(0, 2) };
        feed_entries(entries, 2);
        expect_refused_after(1, "BOOT record inside the log");
}
END_TEST

START_TEST(nothing_after_end)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(10, 2), numbered(9, 3) };
        entries[2].position = 20;
        feed_entries(entries, 3);
        expect_refused_after(2, "after the END record");
}
END_TEST

START_TEST(an_impossible_io_status)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(7, 2) };
        ck_assert_int_eq(entries[1].kind, LOG_IO_COMPLETION);
        entries[1].io_status = 7;
        feed_entries(entries, 2);
        expect_refused_after(1, "IOCP status 7");
}
END_TEST

START_TEST(positions_never_decrease)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(2, 2), numbered(1, 3) };
        feed_entries(entries, 3);
        expect_refused_after(2, "position 0, after a record at 3");
}
END_TEST

START_TEST(a_checkpoint_names_where_its_epoch_began)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(3, 2), numbered(5, 3) };
        entries[2].start_position = 5;
        entries[2].position = 10;
        feed_entries(entries, 3);
        expect_refused_after(2, "the epoch began at 9");
}
END_TEST

START_TEST(impossible_fields)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(3, 2) };
        entries[1].cause = 7;
        feed_entries(entries, 2);
        expect_refused_after(1, "EPOC cause 7");
}
END_TEST

/* How a backup joins: the machine, and the console bytes that had not left
 * yet, from the release mark. */
START_TEST(a_machine_state_carries_unreleased_output)
{
        static const uint8_t state[] = "a snapshot", held[] = "not yet out";
        struct log_entry entries[] = { { .kind = LOG_MACHINE_STATE, .seq = 41, .position = 100,
                                         .output_start = 1234, .output = { held, sizeof(held) },
                                         .state = { state, sizeof(state) } } };
        feed_entries(entries, 1);
        struct log_entry e;
        ck_assert_int_eq(log_reader__next(&rd, &e), LOG_READ_RECORD);
        expect_same(&e, &entries[0]);
}
END_TEST

START_TEST(memory_ranges_need_a_memory_hash)
{
        struct log_entry entries[] = { numbered(0, 1), numbered(3, 2) };
        static const uint8_t range[8] = { 1 };
        entries[1].memory_ranges = (struct log_bytes){ range, sizeof(range) };
        feed_entries(entries, 2);
        expect_refused_after(1, "memory ranges without a memory hash");
}
END_TEST

START_TEST(a_record_over_the_limit)
{
        log_reader__release(&rd);
        log_reader__init(&rd, 16); /* BOOT's payload is larger */
        ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, LOG_HEADER_SIZE + STATE_RECORD_HEADER_SIZE), 0);
        expect_refused_after(0, "exceeds the 16-byte limit");
}
END_TEST

START_TEST(magic_and_version)
{
        log_bytes.buf[0] = 'X';
        ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, log_bytes.length), 0);
        expect_refused_after(0, "not an ftvmm log");
        log_reader__release(&rd);
        log_reader__init(&rd, MAX_RECORD);
        log_bytes.buf[0] = 'F';
        log_bytes.buf[8] = 2;
        ck_assert_int_eq(log_reader__feed(&rd, log_bytes.buf, log_bytes.length), 0);
        expect_refused_after(0, "log format version 2, this build reads 6");
}
END_TEST

Suite *make_log_reader_suite(void)
{
        Suite *s = suite_create("log_reader");
        TCase *tc = tcase_create("stream");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, every_record_reads_back);
        tcase_add_test(tc, a_byte_at_a_time);
        tcase_add_test(tc, every_cut_is_need_more);
        tcase_add_test(tc, every_corruption_is_corruption);
        tcase_add_test(tc, a_damaged_length_is_corruption_not_a_cut);
        suite_add_tcase(s, tc);
        TCase *order = tcase_create("grammar");
        tcase_add_checked_fixture(order, setup, teardown);
        tcase_add_test(order, a_gap_in_the_sequence);
        tcase_add_test(order, a_duplicate);
        tcase_add_test(order, a_reordering);
        tcase_add_test(order, a_log_may_begin_at_any_sequence_number);
        tcase_add_test(order, a_log_must_begin_with_boot_or_a_machine_state);
        tcase_add_test(order, boot_only_at_the_start);
        tcase_add_test(order, nothing_after_end);
        tcase_add_test(order, positions_never_decrease);
        tcase_add_test(order, an_impossible_io_status);
        tcase_add_test(order, a_checkpoint_names_where_its_epoch_began);
        tcase_add_test(order, impossible_fields);
        tcase_add_test(order, a_record_over_the_limit);
        tcase_add_test(order, a_machine_state_carries_unreleased_output);
        tcase_add_test(order, memory_ranges_need_a_memory_hash);
        tcase_add_test(order, magic_and_version);
        suite_add_tcase(s, order);
        return s;
}
