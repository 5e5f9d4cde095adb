/* A pair pl over a socket pair: records arrive whole and in order, and
 * the peer is declared lost, once, for a damaged record, a closed
 * connection or silence. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../replication/pair_link.h"
#include "suites.h"

struct observed {
        pthread_mutex_t lock;
        unsigned records, lost, drained;
        char tags[64][5];
        char why[256];
};

static struct observed seen;
static struct pair_link pl;
static int fds[2];

static void on_record(void *context, const struct state_record_header *h, const uint8_t *r, size_t n)
{
        (void)context;
        (void)r;
        (void)n;
        pthread_mutex_lock(&seen.lock);
        if (seen.records < 64)
                memcpy(seen.tags[seen.records], h->tag, 5);
        seen.records++;
        pthread_mutex_unlock(&seen.lock);
}

static void on_drained(void *context)
{
        (void)context;
        __atomic_add_fetch(&seen.drained, 1, __ATOMIC_SEQ_CST);
}

static void on_lost(void *context, const char *why)
{
        (void)context;
        pthread_mutex_lock(&seen.lock);
        seen.lost++;
        snprintf(seen.why, sizeof(seen.why), "%s", why);
        pthread_mutex_unlock(&seen.lock);
}

/* The sessions' heartbeat: a small record every heartbeat period, sent
 * from the heartbeat thread, as the primary's beat and the backup's
 * acknowledgement are. */
static void on_tick(void *context)
{
        (void)context;
        static const uint8_t beat[24] = { 0 };
        pair_link__send_beat(&pl, beat, sizeof(beat));
}

static void start(bool armed, uint64_t failure_timeout_ms)
{
        /* The test writes as the peer; once the link has shut the socket,
         * that write must fail, not kill the test. */
        signal(SIGPIPE, SIG_IGN);
        memset(&seen, 0, sizeof(seen));
        pthread_mutex_init(&seen.lock, NULL);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        struct pair_link_callbacks cb = { .record = on_record, .drained = on_drained, .lost = on_lost,
                                          .tick = on_tick };
        ck_assert_int_eq(pair_link__start(&pl, fds[0], 10000000, failure_timeout_ms * 1000000, 4096,
                                          armed, &cb), 0);
}

/* Sends a record as the peer; false if the link has already shut the
 * connection (a write after the damage may find it so). */
static bool peer_sends(const char *tag, unsigned payload)
{
        struct state_writer w;
        state_writer__init(&w);
        state_writer__begin(&w, tag, 1);
        for (unsigned i = 0; i < payload; i++)
                state_writer__u8(&w, (uint8_t)i);
        state_writer__end(&w);
        bool sent = write(fds[1], w.buf, w.length) == (ssize_t)w.length;
        state_writer__release(&w);
        return sent;
}

static bool wait_until(unsigned *counter, unsigned at_least)
{
        for (int i = 0; i < 300; i++) {
                pthread_mutex_lock(&seen.lock);
                bool done = *counter >= at_least;
                pthread_mutex_unlock(&seen.lock);
                if (done)
                        return true;
                usleep(10000);
        }
        return false;
}

static void stop(void)
{
        pair_link__stop(&pl);
        close(fds[1]);
}

START_TEST(records_arrive_whole_and_in_order)
{
        start(true, 5000);
        ck_assert(peer_sends("AAAA", 10));
        ck_assert(peer_sends("BBBB", 3000));
        ck_assert(peer_sends("CCCC", 0));
        ck_assert(wait_until(&seen.records, 3));
        ck_assert_str_eq(seen.tags[0], "AAAA");
        ck_assert_str_eq(seen.tags[1], "BBBB");
        ck_assert_str_eq(seen.tags[2], "CCCC");
        ck_assert_uint_gt(__atomic_load_n(&seen.drained, __ATOMIC_SEQ_CST), 0);
        ck_assert_uint_eq(seen.lost, 0);
        stop();
}
END_TEST

START_TEST(a_damaged_record_loses_the_peer_and_nothing_after_it_arrives)
{
        start(true, 5000);
        ck_assert(peer_sends("AAAA", 10));
        static const uint8_t junk[32] = "not a record, not even close....";
        ck_assert_int_eq(write(fds[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
        peer_sends("BBBB", 10);
        ck_assert(wait_until(&seen.lost, 1));
        ck_assert_msg(strstr(seen.why, "corrupt record"), "%s", seen.why);
        ck_assert_uint_eq(seen.records, 1);
        ck_assert_int_eq(pair_link__send(&pl, (const uint8_t *)"x", 1), -EPIPE);
        stop();
}
END_TEST

START_TEST(a_closed_connection_loses_the_peer_once)
{
        start(true, 5000);
        close(fds[1]);
        ck_assert(wait_until(&seen.lost, 1));
        ck_assert_msg(strstr(seen.why, "closed the connection"), "%s", seen.why);
        pair_link__fail(&pl, "again");
        usleep(50000);
        ck_assert_uint_eq(seen.lost, 1);
        pair_link__stop(&pl);
}
END_TEST

/* A replica that ends its run stops its link; its receiver then reads the
 * end of the connection it shut itself. Taken for the peer's failure, it
 * made a primary whose run had failed claim the next generation on its
 * way out, so that its backup, which could have gone on, stopped. */
START_TEST(stopping_the_link_is_no_failure_of_the_peer)
{
        start(true, 5000);
        ck_assert(peer_sends("AAAA", 10));
        ck_assert(wait_until(&seen.records, 1));
        pair_link__stop(&pl);
        ck_assert_uint_eq(seen.lost, 0);
        close(fds[1]);
}
END_TEST

START_TEST(silence_loses_the_peer_only_when_armed)
{
        start(false, 100);
        usleep(400000);
        ck_assert_uint_eq(seen.lost, 0);
        pair_link__arm(&pl);
        ck_assert(wait_until(&seen.lost, 1));
        ck_assert_msg(strstr(seen.why, "nothing from the peer for"), "%s", seen.why);
        stop();
}
END_TEST

static void *send_until_lost(void *arg)
{
        (void)arg;
        static uint8_t chunk[65536];
        while (pair_link__send(&pl, chunk, sizeof(chunk)) == 0)
                ;
        return NULL;
}

/* A peer that neither reads nor writes (a cut link): the socket's buffer
 * fills and a send blocks. The heartbeat thread, which is also the one
 * that notices silence, must not block behind it (it once did, waiting for
 * the send lock to send its beat, and the peer was never declared lost). */
START_TEST(silence_is_noticed_while_a_send_is_blocked)
{
        start(true, 300);
        pthread_t sender;
        ck_assert_int_eq(pthread_create(&sender, NULL, send_until_lost, NULL), 0);
        ck_assert(wait_until(&seen.lost, 1));
        ck_assert_msg(strstr(seen.why, "nothing from the peer for"), "%s", seen.why);
        pthread_join(sender, NULL); /* the link's shutdown ends the blocked send */
        stop();
}
END_TEST

Suite *make_pair_link_suite(void)
{
        Suite *s = suite_create("pair_link");
        TCase *tc = tcase_create("pl");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, records_arrive_whole_and_in_order);
        tcase_add_test(tc, a_damaged_record_loses_the_peer_and_nothing_after_it_arrives);
        tcase_add_test(tc, a_closed_connection_loses_the_peer_once);
        tcase_add_test(tc, stopping_the_link_is_no_failure_of_the_peer);
        tcase_add_test(tc, silence_loses_the_peer_only_when_armed);
        tcase_add_test(tc, silence_is_noticed_while_a_send_is_blocked);
        suite_add_tcase(s, tc);
        return s;
}
