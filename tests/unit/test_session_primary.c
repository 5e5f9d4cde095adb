/* The primary role without KVM: a fake machine, a fake arbiter whose claim
 * can be held at a barrier and whose next generation the test can take,
 * and backups played by the test over TCP. What it shows: a backup that
 * greets while the primary decides is refused and never told a stale
 * generation; a release that the fence check let through finishes before
 * the fence is acted on, and nothing leaves after; console output is
 * released only once the backup acknowledges it. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replication/log_format.h"
#include "../../replication/pair_link.h"
#include "../../replication/pair_wire.h"
#include "../../replication/session_primary.h"
#include "../../replication/tcp.h"
#include "fake_environment.h"
#include "fake_machine.h"
#include "suites.h"

struct fake_arbiter {
        struct arbiter a;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        uint64_t latest;          /* generations 1..latest are held */
        bool claims_wait;         /* a claim waits for claims_may_go */
        bool claims_may_go, claiming;
};

static struct fake_arbiter arbiter;

static int fake_claim(struct arbiter *a, uint64_t generation, const char *who)
{
        struct fake_arbiter *f = (struct fake_arbiter *)a;
        (void)who;
        pthread_mutex_lock(&f->lock);
        f->claiming = true;
        pthread_cond_broadcast(&f->changed);
        while (f->claims_wait && !f->claims_may_go)
                pthread_cond_wait(&f->changed, &f->lock);
        int rc = generation <= f->latest ? 1 : 0;
        if (!rc)
                f->latest = generation;
        f->claiming = false;
        pthread_mutex_unlock(&f->lock);
        return rc;
}

static bool fake_taken(struct arbiter *a, uint64_t generation)
{
        struct fake_arbiter *f = (struct fake_arbiter *)a;
        pthread_mutex_lock(&f->lock);
        bool taken = generation <= f->latest;
        pthread_mutex_unlock(&f->lock);
        return taken;
}

static uint64_t fake_latest(struct arbiter *a)
{
        struct fake_arbiter *f = (struct fake_arbiter *)a;
        pthread_mutex_lock(&f->lock);
        uint64_t latest = f->latest;
        pthread_mutex_unlock(&f->lock);
        return latest;
}

static void fake_holder(struct arbiter *a, uint64_t generation, char *out, size_t size)
{
        (void)a;
        snprintf(out, size, "replica-%llu", (unsigned long long)generation);
}

static int fake_fact(struct arbiter *a, const char *name, bool create, const char *suffix,
                     char *out, size_t size)
{
        (void)a;
        (void)create;
        snprintf(out, size, "%s-0123%s%s", name, suffix ? " " : "", suffix ? suffix : "");
        return 0;
}

static void wait_until(bool *flag)
{
        pthread_mutex_lock(&arbiter.lock);
        while (!*flag)
                pthread_cond_wait(&arbiter.changed, &arbiter.lock);
        pthread_mutex_unlock(&arbiter.lock);
}

static void set(bool *flag)
{
        pthread_mutex_lock(&arbiter.lock);
        *flag = true;
        pthread_cond_broadcast(&arbiter.changed);
        pthread_mutex_unlock(&arbiter.lock);
}

static struct fake_environment host;
static struct machine *m;
static struct primary primary;
static int console[2];
static int port;

static void start_primary(void)
{
        memset(&arbiter, 0, sizeof(arbiter));
        arbiter.a = (struct arbiter){ .claim = fake_claim, .taken = fake_taken, .latest = fake_latest,
                                      .holder = fake_holder, .fact = fake_fact, .name = "fake" };
        pthread_mutex_init(&arbiter.lock, NULL);
        pthread_cond_init(&arbiter.changed, NULL);
        fake_environment__init(&host);
        host.monotonic_ns = 1000000000;
        ck_assert_int_eq(pipe(console), 0);
        m = fake_machine__new(&host.env, console[1]);
        char err[256];
        int listen_fd = tcp__listen("127.0.0.1:0", err, sizeof(err));
        ck_assert_msg(listen_fd >= 0, "%s", err);
        port = tcp__local_port(listen_fd);
        struct primary_options opts = {
                .record = { .epoch_ns = 5000000, .max_stall_ns = 20000000 },
                .heartbeat_ns = 20000000, .failure_timeout_ns = 5000000000ull, .name = "p",
        };
        ck_assert_msg(primary__start(&primary, m, &fake_machine_control, &host.env, &opts,
                                     &arbiter.a, listen_fd, err, sizeof(err)) == 0, "%s", err);
}

/* The guest's next exit: a byte to the console, or a read of nothing. */
static void exit_with(struct session_answer *a, int byte)
{
        m->position++;
        host.monotonic_ns += 100000;
        uint8_t v = (uint8_t)byte;
        ck_assert_int_eq(io_bus__access(&m->pio, byte >= 0 ? 0x3f8 : 0x21, &v, 1, byte >= 0), 0);
        session__at_deterministic_exit(&primary.rec.base, false, a);
}

static void print(const char *text)
{
        struct session_answer a;
        for (const char *c = text; *c; c++)
                exit_with(&a, (unsigned char)*c);
        ck_assert(!a.stop);
}

/* A backup's side of the greeting: HELO out, the primary's HELO back.
 * Returns the connected socket, and the primary's answer in *hello (or
 * kind 99 if it closed the connection instead). */
static int greet_as_backup(struct pair_message *hello)
{
        char err[160], address[32];
        snprintf(address, sizeof(address), "127.0.0.1:%d", port);
        int fd = tcp__connect(address, 2000, err, sizeof(err));
        ck_assert_msg(fd >= 0, "%s", err);
        struct pair_message mine = { .kind = PAIR_HELLO, .wire_version = PAIR_WIRE_VERSION,
                                     .log_version = LOG_FORMAT_VERSION, .name = "b" };
        struct state_writer w;
        state_writer__init(&w);
        ck_assert_int_eq(pair_wire__encode(&mine, &w), 0);
        ck_assert_int_eq(tcp__send_all(fd, w.buf, w.length), 0);
        state_writer__release(&w);
        uint8_t *record = NULL;
        long n = pair_link__read_record(fd, 5000, &record, err, sizeof(err));
        hello->kind = 99;
        if (n > 0)
                ck_assert_int_eq(pair_wire__decode(record, (size_t)n, hello, err, sizeof(err)), 0);
        free(record);
        return fd;
}

static void finish_primary(void)
{
        primary__finish(&primary, false);
        fake_machine__free(m);
        close(console[0]);
        close(console[1]);
}

/* The backup is lost, the arbiter's answer is held back: a backup that
 * greets meanwhile is refused, and one that greets after the primary won
 * is told the new generation, never the old one. */
START_TEST(a_backup_that_greets_while_the_primary_decides_is_refused)
{
        start_primary();
        struct pair_message hello;
        int first = greet_as_backup(&hello);
        ck_assert_int_eq(hello.kind, PAIR_HELLO);
        ck_assert_uint_eq(hello.generation, 1);
        ck_assert_str_eq(hello.identity.arbiter_id, "arbiter-id-0123");
        ck_assert_int_eq(primary__wait_for_backup(&primary, 2000), 0);
        print("x"); /* a shared point: the backup joins */
        ck_assert_int_eq(primary_protocol__state(&primary.protocol), PRIMARY_PROTECTED);
        arbiter.claims_wait = true;
        close(first);
        wait_until(&arbiter.claiming);
        ck_assert_int_eq(primary_protocol__state(&primary.protocol), PRIMARY_DECIDING);
        int second = greet_as_backup(&hello);
        ck_assert_int_eq(hello.kind, 99);
        close(second);
        set(&arbiter.claims_may_go);
        for (int i = 0; i < 500 && primary_protocol__state(&primary.protocol) != PRIMARY_ALONE; i++)
                usleep(2000);
        ck_assert_int_eq(primary_protocol__state(&primary.protocol), PRIMARY_ALONE);
        int third = greet_as_backup(&hello);
        ck_assert_int_eq(hello.kind, PAIR_HELLO);
        ck_assert_uint_eq(hello.generation, 2);
        close(third);
        finish_primary();
}
END_TEST

static size_t console_bytes(char *buf, size_t size)
{
        size_t n = 0;
        for (int i = 0; i < 20; i++) {
                struct pollfd p = { .fd = console[0], .events = POLLIN };
                if (poll(&p, 1, 10) <= 0)
                        continue;
                ssize_t r = read(console[0], buf + n, size - n - 1);
                if (r > 0)
                        n += (size_t)r;
        }
        buf[n] = '\0';
        return n;
}

struct fence_call {
        pthread_t thread;
        _Atomic bool returned;
};

static void *fence_from_another_thread(void *arg)
{
        struct fence_call *call = arg;
        primary_protocol__fence(&primary.protocol, "generation 2 was taken by replica-2");
        call->returned = true;
        return NULL;
}

/* The console is full: a released batch blocks in its write. */
static size_t fill_console(void)
{
        int flags = fcntl(console[1], F_GETFL);
        fcntl(console[1], F_SETFL, flags | O_NONBLOCK);
        static const char filler[4096];
        size_t n = 0;
        for (ssize_t w; (w = write(console[1], filler, sizeof(filler))) > 0;)
                n += (size_t)w;
        fcntl(console[1], F_SETFL, flags);
        return n;
}

static void drain_console(size_t n)
{
        char buf[4096];
        while (n) {
                ssize_t r = read(console[0], buf, n < sizeof(buf) ? n : sizeof(buf));
                ck_assert_int_gt(r, 0);
                n -= (size_t)r;
        }
}

/* A gate that flips right after saying yes: the fence check let a batch
 * through, and before it has left another replica takes the next
 * generation and this replica learns it. The batch decided before leaves;
 * the fence returns only once it has; nothing leaves after. */
START_TEST(a_release_the_fence_check_let_through_finishes_first_and_nothing_follows)
{
        start_primary();
        size_t filler = fill_console();
        print("a");
        usleep(50000); /* the batch is through the check, blocked writing */
        pthread_mutex_lock(&arbiter.lock);
        arbiter.latest = 2;
        pthread_mutex_unlock(&arbiter.lock);
        struct fence_call call = { .returned = false };
        pthread_create(&call.thread, NULL, fence_from_another_thread, &call);
        usleep(50000);
        ck_assert(!call.returned); /* a batch decided before the fence is still leaving */
        struct session_answer a;
        exit_with(&a, 'b'); /* produced after the fence: it never leaves */
        ck_assert(a.stop);
        ck_assert_int_eq(a.outcome, RUN_LOST_ARBITER);
        drain_console(filler);
        pthread_join(call.thread, NULL);
        char out[64];
        console_bytes(out, sizeof(out));
        ck_assert_str_eq(out, "a");
        ck_assert(primary__finish(&primary, false));
        console_bytes(out, sizeof(out));
        ck_assert_str_eq(out, "");
        fake_machine__free(m);
        close(console[0]);
        close(console[1]);
}
END_TEST

/* Alone, output leaves once written; protected, once acknowledged. */
START_TEST(protected_output_waits_for_the_acknowledgement)
{
        start_primary();
        print("a");
        char out[64];
        console_bytes(out, sizeof(out));
        ck_assert_str_eq(out, "a");
        struct pair_message hello;
        int backup = greet_as_backup(&hello);
        ck_assert_int_eq(primary__wait_for_backup(&primary, 2000), 0);
        /* Produced before the join: it travels in the machine state, and
         * may leave at once. */
        print("b");
        ck_assert_int_eq(primary_protocol__state(&primary.protocol), PRIMARY_PROTECTED);
        console_bytes(out, sizeof(out));
        ck_assert_str_eq(out, "b");
        print("cd\n");
        console_bytes(out, sizeof(out));
        ck_assert_str_eq(out, ""); /* nothing acknowledged yet */
        uint64_t sent;
        pthread_mutex_lock(&primary.protocol.lock);
        sent = primary.protocol.sending;
        pthread_mutex_unlock(&primary.protocol.lock);
        struct pair_message ack = { .kind = PAIR_ACK, .seq = sent, .position = m->position };
        struct state_writer w;
        state_writer__init(&w);
        ck_assert_int_eq(pair_wire__encode(&ack, &w), 0);
        ck_assert_int_eq(tcp__send_all(backup, w.buf, w.length), 0);
        state_writer__release(&w);
        console_bytes(out, sizeof(out));
        ck_assert_str_eq(out, "cd\n");
        close(backup);
        finish_primary();
}
END_TEST

Suite *make_session_primary_suite(void)
{
        Suite *s = suite_create("session_primary");
        TCase *tc = tcase_create("role");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, a_backup_that_greets_while_the_primary_decides_is_refused);
        tcase_add_test(tc, a_release_the_fence_check_let_through_finishes_first_and_nothing_follows);
        tcase_add_test(tc, protected_output_waits_for_the_acknowledgement);
        suite_add_tcase(s, tc);
        return s;
}
