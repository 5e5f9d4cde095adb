/* The disk file backend: requests performed by its threads and handed
 * back as completions; host failures (a short file, a failed write, a
 * read-only disk) become I/O error completions, never a crash; --disk's
 * syntax. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/block_file.h"
#include "../../vmm/exit_status.h"
#include "suites.h"

static char path[64];
static struct block_file file;
static unsigned wakes;

static void count_wake(void *context)
{
        (void)context;
        __atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST);
}

static void make_file(size_t size)
{
        strcpy(path, "/tmp/ftvmm-block-file-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
        close(fd);
}

static void open_file(bool readonly)
{
        char err[256];
        struct block_file_options o = { .readonly = readonly, .cache = BLOCK_CACHE_DIRECT };
        ck_assert_int_eq(block_file__open(&file, path, &o, err, sizeof(err)), 0);
        file.wake = count_wake;
}

static void setup(void)
{
        wakes = 0;
        make_file(64 << 10);
        open_file(false);
}

static void teardown(void)
{
        block_file__close(&file);
        unlink(path);
}

static void submit(enum block_op op, uint64_t id, uint64_t sector, uint32_t sectors,
                   const uint8_t *data)
{
        struct block_request r = { .id = id, .op = op, .sector = sector, .sectors = sectors,
                                   .data = data };
        ck_assert_int_eq(file.backend.submit(&file.backend, &r), 0);
}

/* Waits (on the eventfd, as a halted vCPU would) for one completion. */
static struct block_completion take_one(void)
{
        struct block_completion c;
        for (int tries = 0; tries < 500; tries++) {
                if (block_file__take_completions(&file, &c, 1) == 1)
                        return c;
                struct pollfd p = { .fd = file.event_fd, .events = POLLIN };
                poll(&p, 1, 10);
        }
        ck_abort_msg("no completion within 5 s");
        return c;
}

START_TEST(write_read_flush_round_trip)
{
        uint8_t data[1024];
        memset(data, 'A', 512);
        memset(data + 512, 'B', 512);
        ck_assert_uint_eq(block_file__sectors(&file), 128);
        submit(BLOCK_OP_WRITE, 7, 3, 2, data);
        memset(data, 0, sizeof(data)); /* the backend copied it */
        struct block_completion c = take_one();
        ck_assert_uint_eq(c.id, 7);
        ck_assert_uint_eq(c.status, BLOCK_STATUS_OK);
        submit(BLOCK_OP_FLUSH, 8, 0, 0, NULL);
        c = take_one();
        ck_assert_uint_eq(c.status, BLOCK_STATUS_OK);
        submit(BLOCK_OP_READ, 9, 3, 2, NULL);
        c = take_one();
        ck_assert_uint_eq(c.id, 9);
        ck_assert_uint_eq(c.status, BLOCK_STATUS_OK);
        ck_assert_uint_eq(c.length, 1024);
        ck_assert_uint_eq(c.data[0], 'A');
        ck_assert_uint_eq(c.data[1023], 'B');
        block_completion__release(&c);
        ck_assert_uint_eq(block_file__in_flight(&file), 0);
        /* the kick follows the queueing, so it may come just after */
        for (int tries = 0; tries < 500 && __atomic_load_n(&wakes, __ATOMIC_SEQ_CST) < 3; tries++)
                usleep(10000);
        ck_assert_uint_eq(__atomic_load_n(&wakes, __ATOMIC_SEQ_CST), 3);
}
END_TEST

START_TEST(several_in_flight)
{
        uint8_t data[512] = { 1 };
        for (uint64_t id = 1; id <= 20; id++)
                submit(BLOCK_OP_WRITE, id, id, 1, data);
        uint64_t seen = 0;
        for (int i = 0; i < 20; i++) {
                struct block_completion c = take_one();
                ck_assert_uint_eq(c.status, BLOCK_STATUS_OK);
                seen |= 1ull << c.id;
        }
        ck_assert_uint_eq(seen, ((1ull << 21) - 1) & ~1ull);
}
END_TEST

START_TEST(read_past_a_shrunk_file_is_an_io_error)
{
        ck_assert_int_eq(truncate(path, 512), 0);
        submit(BLOCK_OP_READ, 1, 10, 1, NULL);
        struct block_completion c = take_one();
        ck_assert_uint_eq(c.status, BLOCK_STATUS_IOERR);
        ck_assert_ptr_null(c.data);
}
END_TEST

START_TEST(a_failing_write_is_an_io_error)
{
        int full = open("/dev/full", O_WRONLY);
        ck_assert_int_ge(full, 0);
        ck_assert_int_ge(dup2(full, file.fd), 0); /* every write now fails with ENOSPC */
        close(full);
        uint8_t data[512] = { 0 };
        submit(BLOCK_OP_WRITE, 1, 0, 1, data);
        struct block_completion c = take_one();
        ck_assert_uint_eq(c.status, BLOCK_STATUS_IOERR);
}
END_TEST

START_TEST(read_only_disk_refuses_writes)
{
        block_file__close(&file);
        open_file(true);
        uint8_t data[512] = { 0 };
        submit(BLOCK_OP_WRITE, 1, 0, 1, data);
        ck_assert_uint_eq(take_one().status, BLOCK_STATUS_IOERR);
        submit(BLOCK_OP_READ, 2, 0, 1, NULL);
        struct block_completion c = take_one();
        ck_assert_uint_eq(c.status, BLOCK_STATUS_OK);
        block_completion__release(&c);
}
END_TEST

START_TEST(discard_reads_back_as_zeros)
{
        uint8_t data[4096];
        memset(data, 0x77, sizeof(data));
        submit(BLOCK_OP_WRITE, 1, 8, 8, data);
        ck_assert_uint_eq(take_one().status, BLOCK_STATUS_OK);
        submit(BLOCK_OP_DISCARD, 2, 8, 8, NULL);
        ck_assert_uint_eq(take_one().status, BLOCK_STATUS_OK);
        submit(BLOCK_OP_READ, 3, 8, 8, NULL);
        struct block_completion c = take_one();
        ck_assert_uint_eq(c.status, BLOCK_STATUS_OK);
        /* punched where the file system can; left as it was where not */
        ck_assert(c.data[0] == 0 || c.data[0] == 0x77);
        block_completion__release(&c);
}
END_TEST

START_TEST(close_with_requests_pending)
{
        uint8_t data[512] = { 0 };
        for (uint64_t id = 1; id <= 10; id++)
                submit(BLOCK_OP_READ, id, 0, 1, data);
        /* teardown closes with completions untaken: nothing leaks or hangs */
}
END_TEST

static _Atomic enum permit answer;
static _Atomic unsigned permits_ended;

static enum permit ask(void *context)
{
        (void)context;
        return answer;
}

static void end(void *context)
{
        (void)context;
        permits_ended++;
}

static char byte_at(uint64_t sector)
{
        char c = 0;
        int fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, &c, 1, (off_t)(sector * 512)), 1);
        close(fd);
        return c;
}

/* A write leaves only under the gate's permit: it waits while the gate
 * says wait, is dropped (never performed) once it says never. */
START_TEST(writes_wait_for_the_permit_and_a_refusal_drops_them)
{
        static const struct permit_gate gate = { .begin = ask, .end = end };
        answer = PERMIT_WAIT;
        permits_ended = 0;
        block_file__set_gate(&file, &gate);
        uint8_t data[512];
        memset(data, 'w', sizeof(data));
        submit(BLOCK_OP_WRITE, 1, 4, 1, data);
        submit(BLOCK_OP_READ, 2, 0, 1, NULL); /* reads need no permit */
        struct block_completion c = take_one();
        ck_assert_uint_eq(c.id, 2);
        block_completion__release(&c);
        usleep(50000);
        ck_assert_int_eq(byte_at(4), 0);
        ck_assert_uint_eq(block_file__take_completions(&file, &c, 1), 0);
        answer = PERMIT_NEVER;
        c = take_one();
        ck_assert_uint_eq(c.id, 1);
        ck_assert_uint_eq(c.status, BLOCK_STATUS_IOERR);
        ck_assert_int_eq(byte_at(4), 0);
        ck_assert_uint_eq(block_file__stats(&file).dropped, 1);
        answer = PERMIT_GO;
        submit(BLOCK_OP_WRITE, 3, 4, 1, data);
        ck_assert_uint_eq(take_one().status, BLOCK_STATUS_OK);
        ck_assert_int_eq(byte_at(4), 'w');
        ck_assert_uint_eq(permits_ended, 1);
        block_file__set_gate(&file, NULL);
}
END_TEST

/* Writes to the same sectors land in the order queued, whichever of the
 * workers takes them: the last one is what the disk holds. Each round the
 * gate holds the workers back and then lets them all go at once. */
START_TEST(overlapping_writes_land_in_the_order_queued)
{
        static const struct permit_gate gate = { .begin = ask, .end = end };
        block_file__set_gate(&file, &gate);
        uint8_t data[1024];
        uint64_t id = 0;
        for (int round = 1; round <= 20; round++) {
                answer = PERMIT_WAIT;
                for (int k = 1; k <= BLOCK_FILE_WORKERS; k++) {
                        memset(data, round * 8 + k, sizeof(data));
                        /* one and two sectors, so the ranges overlap in part */
                        submit(BLOCK_OP_WRITE, ++id, 10 + (uint64_t)(k % 2), 1 + (uint32_t)(k % 2), data);
                }
                usleep(20000); /* every worker holds one, waiting */
                answer = PERMIT_GO;
                for (int k = 1; k <= BLOCK_FILE_WORKERS; k++)
                        ck_assert_uint_eq(take_one().status, BLOCK_STATUS_OK);
                ck_assert_int_eq((unsigned char)byte_at(10), round * 8 + BLOCK_FILE_WORKERS);
                ck_assert_int_eq((unsigned char)byte_at(11), round * 8 + BLOCK_FILE_WORKERS - 1);
        }
        block_file__set_gate(&file, NULL);
}
END_TEST

/* A held write is performed only once released; discarded, never. */
START_TEST(held_requests_wait_for_their_release)
{
        uint8_t data[512];
        memset(data, 'h', sizeof(data));
        struct block_request r = { .id = 1, .op = BLOCK_OP_WRITE, .sector = 6, .sectors = 1, .data = data };
        struct held_output *h = block_file__hold(&file, &r);
        r.id = 2;
        r.sector = 7;
        struct held_output *dropped = block_file__hold(&file, &r);
        ck_assert_uint_eq(block_file__in_flight(&file), 2);
        usleep(20000);
        ck_assert_int_eq(byte_at(6), 0);
        dropped->discard(dropped);
        h->release(h);
        ck_assert_uint_eq(take_one().id, 1);
        ck_assert_int_eq(byte_at(6), 'h');
        ck_assert_int_eq(byte_at(7), 0);
        ck_assert_uint_eq(block_file__in_flight(&file), 0);
}
END_TEST

START_TEST(open_refuses_bad_files)
{
        char err[256];
        struct block_file f;
        struct block_file_options rw = { .readonly = false }, ro = { .readonly = true };
        ck_assert_int_eq(block_file__open(&f, "/nonexistent/disk.img", &rw, err, sizeof(err)),
                         EXIT_NO_INPUT);
        ck_assert_ptr_nonnull(strstr(err, "No such file"));
        block_file__close(&f);
        ck_assert_int_eq(truncate(path, 100), 0);
        ck_assert_int_eq(block_file__open(&f, path, &rw, err, sizeof(err)), EXIT_NO_INPUT);
        ck_assert_ptr_nonnull(strstr(err, "less than one 512-byte sector"));
        block_file__close(&f);
        ck_assert_int_eq(block_file__open(&f, "/dev/null", &ro, err, sizeof(err)), EXIT_NO_INPUT);
        ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
        block_file__close(&f);
}
END_TEST

START_TEST(disk_spec_syntax)
{
        char err[256], *p;
        struct block_file_options o;
        ck_assert_int_eq(block_file__parse_spec("a.img", &p, &o, err, sizeof(err)), 0);
        ck_assert_str_eq(p, "a.img");
        ck_assert(!o.readonly);
        ck_assert_int_eq(o.cache, BLOCK_CACHE_DIRECT);
        free(p);
        ck_assert_int_eq(block_file__parse_spec("dir,x/a.img,readonly", &p, &o, err, sizeof(err)), 0);
        ck_assert_str_eq(p, "dir,x/a.img");
        ck_assert(o.readonly);
        free(p);
        ck_assert_int_eq(block_file__parse_spec("a.img,cache=dsync,readonly", &p, &o, err, sizeof(err)), 0);
        ck_assert_str_eq(p, "a.img");
        ck_assert(o.readonly);
        ck_assert_int_eq(o.cache, BLOCK_CACHE_DSYNC);
        free(p);
        ck_assert_int_ne(block_file__parse_spec("a.img,rw", &p, &o, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(err, "unknown option 'rw'"));
        ck_assert_int_ne(block_file__parse_spec("a.img,cache=none", &p, &o, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(err, "expected cache=direct or cache=dsync"));
        ck_assert_int_ne(block_file__parse_spec(",readonly", &p, &o, err, sizeof(err)), 0);
        ck_assert_int_ne(block_file__parse_spec("", &p, &o, err, sizeof(err)), 0);
}
END_TEST

Suite *make_block_file_suite(void)
{
        Suite *s = suite_create("block_file");
        TCase *tc = tcase_create("backend");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, write_read_flush_round_trip);
        tcase_add_test(tc, several_in_flight);
        tcase_add_test(tc, read_past_a_shrunk_file_is_an_io_error);
        tcase_add_test(tc, a_failing_write_is_an_io_error);
        tcase_add_test(tc, read_only_disk_refuses_writes);
        tcase_add_test(tc, discard_reads_back_as_zeros);
        tcase_add_test(tc, close_with_requests_pending);
        tcase_add_test(tc, writes_wait_for_the_permit_and_a_refusal_drops_them);
        tcase_add_test(tc, overlapping_writes_land_in_the_order_queued);
        tcase_add_test(tc, held_requests_wait_for_their_release);
        tcase_add_test(tc, open_refuses_bad_files);
        tcase_add_test(tc, disk_spec_syntax);
        suite_add_tcase(s, tc);
        return s;
}
