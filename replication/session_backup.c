#include "session_backup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/exit_status.h"
#include "../vmm/machine.h"
#include "event_log.h"
#include "log_format.h"
#include "pair_wire.h"
#include "service_notify.h"
#include "tcp.h"

#define ROLE "backup"
#define HELLO_TIMEOUT_MS 5000
#define MAX_RECORD_BYTES (3ull << 30)

/* As a beat (from the tick: pair_link.h) the message is skipped rather
 * than waited for; the next tick sends it again. */
static void send_message(struct backup *b, const struct pair_message *m, bool as_beat)
{
        struct state_writer w;
        state_writer__init(&w);
        if (pair_wire__encode(m, &w) == 0) {
                if (as_beat)
                        pair_link__send_beat(&b->link, w.buf, w.length);
                else
                        pair_link__send(&b->link, w.buf, w.length);
        }
        state_writer__release(&w);
}

/* What has arrived, and where the guest is: the primary releases output
 * on the first, and bounds its lead on the second. Every tick sends it
 * (even_if_unchanged) as the backup's heartbeat. */
static void acknowledge(struct backup *b, bool even_if_unchanged)
{
        pthread_mutex_lock(&b->lock);
        uint64_t seq = b->received_seq;
        bool send = even_if_unchanged || seq > b->acked_seq;
        b->acked_seq = seq;
        pthread_mutex_unlock(&b->lock);
        uint64_t position = __atomic_load_n(&b->executed_position, __ATOMIC_RELAXED);
        if (send)
                send_message(b, &(struct pair_message){ .kind = PAIR_ACK, .seq = seq,
                                                       .position = position },
                             even_if_unchanged);
}

/* A log record is acknowledged only once the reader has checked it, so the
 * primary never releases output on the strength of a damaged record. */
static void take_log_record(struct backup *b, const uint8_t *record, size_t length)
{
        struct log_entry e;
        pthread_mutex_lock(&b->lock);
        int rc = log_reader__feed(&b->reader, record, length);
        enum log_read got = rc ? LOG_READ_CORRUPT : log_reader__next(&b->reader, &e);
        if (got == LOG_READ_RECORD && log_queue__push(&b->incoming, &e) == 0) {
                if (!b->received_seq)
                        pair_link__arm(&b->link);
                b->received_seq = e.seq;
                pthread_cond_broadcast(&b->arrived);
                pthread_mutex_unlock(&b->lock);
                return;
        }
        char why[300];
        snprintf(why, sizeof(why), "%s", got == LOG_READ_CORRUPT ? b->reader.problem : "out of memory");
        pthread_mutex_unlock(&b->lock);
        pair_link__fail(&b->link, "the primary's log is damaged: %s", why);
}

static void on_record(void *context, const struct state_record_header *h, const uint8_t *record,
                      size_t length)
{
        struct backup *b = context;
        struct pair_message m;
        char why[160];
        if (pair_wire__kind(h->tag) < 0) {
                take_log_record(b, record, length);
                return;
        }
        if (pair_wire__decode(record, length, &m, why, sizeof(why))) {
                pair_link__fail(&b->link, "a bad message from the primary: %s", why);
                return;
        }
        if (m.kind == PAIR_RELEASED) {
                pthread_mutex_lock(&b->lock);
                if (m.released > b->release_mark)
                        b->release_mark = m.released;
                pthread_mutex_unlock(&b->lock);
        }
}

static void on_drained(void *context)
{
        acknowledge(context, false);
}

static void on_tick(void *context)
{
        acknowledge(context, true);
}

/* Noted here; acted on when the replay runs out of records (P6). */
static void primary_lost(void *context, const char *why)
{
        struct backup *b = context;
        pthread_mutex_lock(&b->lock);
        b->primary_lost = true;
        b->lost_at_ns = session__host_ns();
        snprintf(b->lost_why, sizeof(b->lost_why), "%s", why);
        pthread_cond_broadcast(&b->arrived);
        pthread_mutex_unlock(&b->lock);
}

/* The replayer's source: records the receiver checked, waiting for the
 * next one; none once the primary is lost and they are used up. */
static void note_position(struct backup *b);

static enum replay_source_state network_next(struct replay_source *src, struct log_entry *e)
{
        struct backup *b = (struct backup *)((char *)src - offsetof(struct backup, source));
        free(b->current_blob);
        b->current_blob = NULL;
        pthread_mutex_lock(&b->lock);
        bool waiting = log_queue__empty(&b->incoming) && !b->primary_lost;
        pthread_mutex_unlock(&b->lock);
        if (waiting) {
                /* All it has is executed (a checkpoint may have moved it
                 * far): the primary must know, or --max-lag would hold the
                 * guest for an epoch end that never comes. */
                note_position(b);
                acknowledge(b, true);
        }
        pthread_mutex_lock(&b->lock);
        while (log_queue__empty(&b->incoming) && !b->primary_lost)
                pthread_cond_wait(&b->arrived, &b->lock);
        bool got = log_queue__take(&b->incoming, &b->current, &b->current_blob);
        pthread_mutex_unlock(&b->lock);
        if (!got)
                return REPLAY_SOURCE_DONE;
        *e = b->current;
        return REPLAY_SOURCE_OPEN;
}

static void network_describe_end(struct replay_source *src, char *out, size_t size)
{
        struct backup *b = (struct backup *)((char *)src - offsetof(struct backup, source));
        pthread_mutex_lock(&b->lock);
        snprintf(out, size, "the primary is lost (%s)", b->lost_why);
        pthread_mutex_unlock(&b->lock);
}

/* What the primary produced and may never have released: out first. */
static void emit_to_console(struct backup *b, const uint8_t *bytes, size_t n)
{
        event_log(ROLE, "first output as primary of generation %llu (%zu bytes past the release mark)",
                  (unsigned long long)b->generation, n);
        machine__console_emit(b->replay.base.m, bytes, n);
}

/* Before going live, the backup prints nothing; it keeps what the primary
 * may not have released yet (everything past the release mark). */
static void shadow_output(void *context, const uint8_t *bytes, size_t n)
{
        struct backup *b = context;
        pthread_mutex_lock(&b->lock);
        uint64_t mark = b->release_mark;
        pthread_mutex_unlock(&b->lock);
        uint64_t end = b->shadow_start + b->shadow.length;
        if (mark > b->shadow_start) {
                size_t drop = (size_t)((mark < end ? mark : end) - b->shadow_start);
                memmove(b->shadow.buf, b->shadow.buf + drop, b->shadow.length - drop);
                b->shadow.length -= drop;
                b->shadow_start += drop;
        }
        state_writer__bytes(&b->shadow, bytes, n);
}

/* P6: the log is used up and the primary is gone: the replica wins the
 * next generation or stops, and returns the environment the first value
 * the log does not cover comes from. */
static struct environment *take_over(struct replayer *p, void *context)
{
        struct backup *b = context;
        struct machine *m = p->base.m;
        pthread_mutex_lock(&b->lock);
        bool lost = b->primary_lost;
        uint64_t silent_ms = (session__host_ns() - b->lost_at_ns) / 1000000;
        pthread_mutex_unlock(&b->lock);
        if (!lost)
                return NULL;
        uint64_t next = b->generation + 1;
        event_log(ROLE, "the primary is lost (%s); every record it sent is executed, up to position %llu "
                  "(%llu ms later); asking the arbiter for generation %llu", b->lost_why,
                  (unsigned long long)m->position, (unsigned long long)silent_ms,
                  (unsigned long long)next);
        int rc = b->arbiter->claim(b->arbiter, next, b->opts.name);
        if (rc) {
                char holder[128] = "", why[320];
                b->arbiter->holder(b->arbiter, next, holder, sizeof(holder));
                snprintf(why, sizeof(why), "generation %llu is held by %s; this backup stops",
                         (unsigned long long)next,
                         rc < 0 ? "no one this replica can see (the arbiter is unreachable)" :
                         holder[0] ? holder : "another replica");
                event_log(ROLE, "%s", why);
                replayer__stop(p, RUN_LOST_ARBITER, why);
                return NULL;
        }
        b->generation = next;
        /* P7 */
        unsigned uncertain = machine__raise_uncertain_interrupts(m);
        event_log(ROLE, "won generation %llu; P7: %u outstanding I/O operation(s) completed as uncertain",
                  (unsigned long long)next, uncertain);
        /* The shared disk is the new primary's from here: requests the
         * guest reissues, and every later one, go to the file. */
        char err[320];
        if (machine__connect_disk(m, err, sizeof(err))) {
                event_log(ROLE, "%s; this replica cannot go live", err);
                replayer__stop(p, RUN_HOST_ERROR, err);
                return NULL;
        }
        /* Guest time continues from the last logged values, never back. */
        environment_continued__init(&b->live, p->last_time, p->last_wall);
        return &b->live.env;
}

/* After the call in which the replay took over: the console first gets
 * what the outside world never saw, then the guest runs as a primary. */
static void go_live(struct backup *b)
{
        struct machine *m = b->replay.base.m;
        b->promoted_at_ns = session__host_ns();
        pthread_mutex_lock(&b->lock);
        uint64_t mark = b->release_mark;
        pthread_mutex_unlock(&b->lock);
        uint64_t end = b->shadow_start + b->shadow.length;
        uint64_t from = mark > b->shadow_start ? mark : b->shadow_start;
        m->console.divert = NULL;
        if (end > from)
                emit_to_console(b, b->shadow.buf + (from - b->shadow_start), (size_t)(end - from));
        char err[320];
        int status = primary__start_holding(&b->promoted, m, b->replay.base.control, &b->live.env,
                                            &b->opts, b->arbiter, b->listen_fd, b->generation,
                                            err, sizeof(err));
        if (status) {
                replayer__stop(&b->replay, RUN_HOST_ERROR, err);
                return;
        }
        b->promoted.announce_first_output = end <= from;
        b->promoted_flag = true;
        event_log(ROLE, "promoted: primary of generation %llu at position %llu, unprotected; "
                  "re-emitted %llu bytes from transcript offset %llu (release mark %llu)",
                  (unsigned long long)b->generation, (unsigned long long)m->position,
                  (unsigned long long)(end > from ? end - from : 0), (unsigned long long)from,
                  (unsigned long long)mark);
}

static void note_position(struct backup *b)
{
        __atomic_store_n(&b->executed_position, b->replay.base.m->position, __ATOMIC_RELAXED);
}

static void backup_at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
{
        struct backup *b = (struct backup *)s;
        if (b->promoted_flag) {
                struct session *promoted = &b->promoted.rec.base;
                promoted->ops->at_deterministic_exit(promoted, halted, a);
                return;
        }
        note_position(b);
        replayer__at_deterministic_exit(s, halted, a);
        if (b->replay.live && !a->stop)
                go_live(b);
}

static void backup_at_kick(struct session *s, struct session_answer *a)
{
        struct backup *b = (struct backup *)s;
        if (b->promoted_flag) {
                struct session *promoted = &b->promoted.rec.base;
                promoted->ops->at_kick(promoted, a);
                return;
        }
        replayer__at_kick(s, a);
}

static const struct session_ops backup_ops = {
        .at_deterministic_exit = backup_at_deterministic_exit,
        .at_kick = backup_at_kick,
};

static int exchange_greetings(struct backup *b, int fd, char *err, size_t err_size)
{
        struct pair_message hello = { .kind = PAIR_HELLO, .wire_version = PAIR_WIRE_VERSION,
                                      .log_version = LOG_FORMAT_VERSION };
        snprintf(hello.name, sizeof(hello.name), "%s", b->opts.name);
        struct state_writer w;
        state_writer__init(&w);
        int rc = pair_wire__encode(&hello, &w);
        if (!rc)
                rc = tcp__send_all(fd, w.buf, w.length);
        state_writer__release(&w);
        if (rc) {
                snprintf(err, err_size, "greeting the primary: %s", strerror(-rc));
                return EXIT_HOST_ERROR;
        }
        uint8_t *record = NULL;
        char why[200] = "";
        long n = pair_link__read_record(fd, HELLO_TIMEOUT_MS, &record, why, sizeof(why));
        struct pair_message theirs;
        if (n > 0 && pair_wire__decode(record, (size_t)n, &theirs, why, sizeof(why)) == 0 &&
            theirs.kind != PAIR_HELLO)
                snprintf(why, sizeof(why), "it did not answer with HELO");
        free(record);
        if (n <= 0 || why[0]) {
                snprintf(err, err_size, "the primary's greeting: %s", why[0] ? why : "none");
                return EXIT_HOST_ERROR;
        }
        if (theirs.wire_version != PAIR_WIRE_VERSION || theirs.log_version != LOG_FORMAT_VERSION) {
                snprintf(err, err_size, "the primary speaks wire %u, log %u; this is wire %u, log %u",
                         theirs.wire_version, theirs.log_version, PAIR_WIRE_VERSION, LOG_FORMAT_VERSION);
                return EXIT_REFUSED;
        }
        b->generation = theirs.generation;
        snprintf(b->primary_name, sizeof(b->primary_name), "%s", theirs.name);
        return 0;
}

int backup__connect(struct backup *b, int fd, const struct primary_options *opts,
                    struct arbiter *arbiter, char *err, size_t err_size)
{
        memset(b, 0, sizeof(*b));
        b->opts = *opts;
        b->arbiter = arbiter;
        b->listen_fd = -1;
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->arrived, NULL);
        log_queue__init(&b->incoming);
        state_writer__init(&b->shadow);
        log_reader__init(&b->reader, MAX_RECORD_BYTES);
        uint8_t header[LOG_HEADER_SIZE];
        log_format__header(header);
        log_reader__feed(&b->reader, header, sizeof(header));
        b->source = (struct replay_source){ .next = network_next,
                                            .describe_end = network_describe_end,
                                            .name = "the primary" };
        int status = exchange_greetings(b, fd, err, err_size);
        if (status) {
                close(fd);
                return status;
        }
        struct pair_link_callbacks cb = { .record = on_record, .drained = on_drained, .tick = on_tick,
                                          .lost = primary_lost, .context = b };
        int rc = pair_link__start(&b->link, fd, opts->heartbeat_ns, opts->failure_timeout_ns,
                                  MAX_RECORD_BYTES, false, &cb);
        if (rc) {
                snprintf(err, err_size, "starting the link: %s", strerror(-rc));
                close(fd);
                return EXIT_HOST_ERROR;
        }
        b->link_started = true;
        event_log(ROLE, "connected to primary %s, generation %llu", b->primary_name,
                  (unsigned long long)b->generation);
        return 0;
}

int backup__first_record(struct backup *b, int timeout_ms, struct log_entry *e,
                         char *err, size_t err_size)
{
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_ms / 1000;
        pthread_mutex_lock(&b->lock);
        while (log_queue__empty(&b->incoming) && !b->primary_lost)
                if (pthread_cond_timedwait(&b->arrived, &b->lock, &until) == ETIMEDOUT)
                        break;
        bool got = log_queue__take(&b->incoming, &b->current, &b->current_blob);
        pthread_mutex_unlock(&b->lock);
        if (!got) {
                snprintf(err, err_size, "no machine state from the primary: %s",
                         b->primary_lost ? b->lost_why : "timed out");
                return EXIT_HOST_ERROR;
        }
        if (b->current.kind != LOG_MACHINE_STATE) {
                snprintf(err, err_size, "the primary's log begins with %s, not its machine state",
                         log_kind__tag(b->current.kind));
                return EXIT_BAD_IMAGE;
        }
        *e = b->current;
        return 0;
}

int backup__start(struct backup *b, struct machine *m, const struct machine_control *control,
                  struct environment *host, int listen_fd)
{
        b->host = host;
        b->listen_fd = listen_fd;
        b->shadow_start = m->console.produced;
        int rc = replayer__init(&b->replay, m, control, &b->source);
        if (rc)
                return rc;
        b->replay.take_over = take_over;
        b->replay.take_over_context = b;
        b->replay.base.ops = &backup_ops;
        /* P4: no environment of its own until it goes live. */
        m->console.divert = shadow_output;
        m->console.divert_context = b;
        note_position(b);
        __atomic_store_n(&b->executing, true, __ATOMIC_RELEASE);
        event_log(ROLE, "executing the primary's log from position %llu", (unsigned long long)m->position);
        service_notify__ready("backup: in sync with the primary");
        return 0;
}

struct session *backup__session(struct backup *b)
{
        return &b->replay.base;
}

void backup__finish(struct backup *b)
{
        if (b->promoted_flag)
                primary__finish(&b->promoted, false);
        if (b->link_started)
                pair_link__stop(&b->link);
        replayer__release(&b->replay);
        log_queue__release(&b->incoming);
        log_reader__release(&b->reader);
        state_writer__release(&b->shadow);
        free(b->current_blob);
        b->current_blob = NULL;
}
