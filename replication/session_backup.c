#include "session_backup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/exit_status.h"
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

/* What has arrived, where the guest is, and the primary's latest
 * heartbeat: the primary releases outputs on the first, bounds its lead on
 * the second, and keeps its write lease on the third. Every tick sends it
 * (force) as the backup's heartbeat. */
static void acknowledge(struct backup *b, bool force)
{
        uint64_t seq, echo;
        if (!backup_protocol__ack_due(&b->protocol, force, &seq, &echo))
                return;
        uint64_t position = __atomic_load_n(&b->executed_position, __ATOMIC_RELAXED);
        send_message(b, &(struct pair_message){ .kind = PAIR_ACK, .seq = seq, .position = position,
                                               .echo_ns = echo },
                     force);
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
                if (backup_protocol__record(&b->protocol, e.seq, session__host_ns()))
                        pair_link__arm(&b->link);
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
        backup_protocol__heard(&b->protocol, session__host_ns());
        if (pair_wire__kind(h->tag) < 0) {
                take_log_record(b, record, length);
                return;
        }
        if (pair_wire__decode(record, length, &m, why, sizeof(why))) {
                pair_link__fail(&b->link, "a bad message from the primary: %s", why);
                return;
        }
        switch (m.kind) {
        case PAIR_RELEASED: backup_protocol__released(&b->protocol, m.released); break;
        case PAIR_BEAT: backup_protocol__beat(&b->protocol, m.sent_ns); break;
        case PAIR_HELLO: pair_link__fail(&b->link, "protocol error: a second HELO from the primary"); break;
        case PAIR_ACK: pair_link__fail(&b->link, "protocol error: an ACK from the primary"); break;
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
        backup_protocol__primary_lost(&b->protocol, why, session__host_ns());
        pthread_mutex_lock(&b->lock);
        pthread_cond_broadcast(&b->arrived);
        pthread_mutex_unlock(&b->lock);
}

static void note_position(struct backup *b)
{
        __atomic_store_n(&b->executed_position, b->replay.base.m->position, __ATOMIC_RELAXED);
}

/* Blocks until a record has arrived or the primary is lost. */
static void wait_for_record(struct backup *b)
{
        while (log_queue__empty(&b->incoming) && !backup_protocol__primary_is_lost(&b->protocol))
                pthread_cond_wait(&b->arrived, &b->lock);
}

/* The replayer's source: records the receiver checked, waiting for the
 * next one; none once the primary is lost and they are used up. */
static enum replay_source_state network_next(struct replay_source *src, struct log_entry *e)
{
        struct backup *b = (struct backup *)((char *)src - offsetof(struct backup, source));
        free(b->current_blob);
        b->current_blob = NULL;
        pthread_mutex_lock(&b->lock);
        bool waiting = log_queue__empty(&b->incoming);
        pthread_mutex_unlock(&b->lock);
        if (waiting) {
                /* All it has is executed (a checkpoint may have moved it
                 * far): the primary must know, or --max-lag would hold the
                 * guest for an epoch end that never comes. */
                note_position(b);
                acknowledge(b, true);
        }
        pthread_mutex_lock(&b->lock);
        wait_for_record(b);
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
        pthread_mutex_lock(&b->protocol.lock);
        snprintf(out, size, "the primary is lost (%s)", b->protocol.lost_why);
        pthread_mutex_unlock(&b->protocol.lock);
}

/* What the primary produced and may never have released: out first. */
static void emit_to_console(struct backup *b, const uint8_t *bytes, size_t n)
{
        event_log(ROLE, "first output as primary of generation %llu (%zu bytes past the release mark)",
                  (unsigned long long)b->protocol.generation, n);
        machine__console_emit(b->replay.base.m, bytes, n);
}

/* Drops what the release mark says the outside world has seen. */
static void trim_shadow(struct backup *b)
{
        uint64_t mark = backup_protocol__release_mark(&b->protocol);
        uint64_t end = b->shadow_start + b->shadow.length;
        if (mark <= b->shadow_start)
                return;
        size_t drop = (size_t)((mark < end ? mark : end) - b->shadow_start);
        memmove(b->shadow.buf, b->shadow.buf + drop, b->shadow.length - drop);
        b->shadow.length -= drop;
        b->shadow_start += drop;
}

/* Before going live, the backup prints nothing; it keeps what the primary
 * may not have released yet (everything past the release mark). */
static void shadow_output(void *context, const uint8_t *bytes, size_t n)
{
        struct backup *b = context;
        trim_shadow(b);
        state_writer__bytes(&b->shadow, bytes, n);
}

static const char *claim_refusal(struct backup *b, uint64_t next, int rc, char *out, size_t size)
{
        char holder[128] = "";
        b->arbiter->holder(b->arbiter, next, holder, sizeof(holder));
        snprintf(out, size, "generation %llu is held by %s; this backup stops", (unsigned long long)next,
                 rc < 0 ? "no one this replica can see (the arbiter is unreachable)" :
                 holder[0] ? holder : "another replica");
        return out;
}

/* P6: the log is used up and the primary is gone: the replica wins the
 * next generation or stops, and returns the environment the first value
 * the log does not cover comes from. */
static struct environment *take_over(struct replayer *p, void *context)
{
        struct backup *b = context;
        struct machine *m = p->base.m;
        uint64_t next;
        if (!backup_protocol__begin_claim(&b->protocol, &next))
                return NULL;
        event_log(ROLE, "the primary is lost (%s); every record it sent is executed, up to position %llu "
                  "(%llu ms later); asking the arbiter for generation %llu", b->protocol.lost_why,
                  (unsigned long long)m->position,
                  (unsigned long long)((session__host_ns() - b->protocol.lost_at_ns) / 1000000),
                  (unsigned long long)next);
        int rc = b->arbiter->claim(b->arbiter, next, b->opts.name);
        char why[320] = "";
        if (rc)
                claim_refusal(b, next, rc, why, sizeof(why));
        backup_protocol__claimed(&b->protocol, rc, why, &b->writes_not_before_ns);
        if (rc) {
                event_log(ROLE, "%s", why);
                replayer__stop(p, RUN_LOST_ARBITER, why);
                return NULL;
        }
        /* P7, for a guest that reissues itself: errors need no disk. */
        if (b->uncertain == UNCERTAIN_ERROR)
                event_log(ROLE, "won generation %llu; P7: %u outstanding I/O operation(s) completed as uncertain",
                          (unsigned long long)next, machine__settle_outstanding_io(m, UNCERTAIN_ERROR));
        /* The shared disk is the new primary's from here: requests
         * reissued, and every later one, go to the file. */
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

/* P7 by default: the new primary performs what was outstanding again, as
 * held outputs of its own, after the old primary's lease. */
static void reissue_outstanding(struct backup *b)
{
        if (b->uncertain != UNCERTAIN_REISSUE)
                return;
        uint64_t now = session__host_ns();
        unsigned n = machine__settle_outstanding_io(b->replay.base.m, UNCERTAIN_REISSUE);
        event_log(ROLE, "won generation %llu; P7: %u outstanding I/O operation(s) reissued by the VMM; "
                  "writes wait %.0f ms more (the old primary's lease)",
                  (unsigned long long)b->protocol.generation, n,
                  b->writes_not_before_ns > now ? (double)(b->writes_not_before_ns - now) / 1e6 : 0.0);
}

/* After the call in which the replay took over: the console first gets
 * what the outside world never saw, then the guest runs as a primary. */
static void go_live(struct backup *b)
{
        struct machine *m = b->replay.base.m;
        b->promoted_at_ns = session__host_ns();
        trim_shadow(b);
        m->console.divert = NULL;
        if (b->shadow.length)
                emit_to_console(b, b->shadow.buf, b->shadow.length);
        char err[320];
        int status = primary__start_holding(&b->promoted, m, b->replay.base.control, &b->live.env,
                                            &b->opts, b->arbiter, b->listen_fd, b->protocol.generation,
                                            b->writes_not_before_ns, err, sizeof(err));
        if (status) {
                replayer__stop(&b->replay, RUN_HOST_ERROR, err);
                return;
        }
        b->promoted.announce_first_output = !b->shadow.length;
        __atomic_store_n(&b->promoted_flag, true, __ATOMIC_RELEASE);
        reissue_outstanding(b);
        event_log(ROLE, "promoted: primary of generation %llu at position %llu, unprotected; "
                  "re-emitted %zu bytes from transcript offset %llu (release mark %llu)",
                  (unsigned long long)b->protocol.generation, (unsigned long long)m->position,
                  b->shadow.length, (unsigned long long)b->shadow_start,
                  (unsigned long long)backup_protocol__release_mark(&b->protocol));
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

static int refuse(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *err, size_t err_size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return EXIT_REFUSED;
}

/* The disk: the same size, and the id the first primary recorded in the
 * arbiter directory this replica sees. */
static int check_disk(struct backup *b, const struct pair_identity *theirs, char *err, size_t err_size)
{
        uint64_t mine = b->expected.disk_sectors;
        if (theirs->disk_sectors != mine)
                return !mine ? refuse(err, err_size, "the primary has a disk of %llu sectors and this replica none "
                                      "(give it the same disk with --disk)",
                                      (unsigned long long)theirs->disk_sectors)
                       : !theirs->disk_sectors ? refuse(err, err_size, "this replica has a disk (--disk) and the "
                                                        "primary none")
                       : refuse(err, err_size, "the primary's disk has %llu sectors, this replica's %llu: not the same disk",
                                (unsigned long long)theirs->disk_sectors, (unsigned long long)mine);
        if (!mine)
                return 0;
        char id[PAIR_ID_MAX + 1];
        if (b->arbiter->fact(b->arbiter, "disk-id", false, NULL, id, sizeof(id)) != 0)
                return refuse(err, err_size, "%s holds no disk-id: the primary recorded its disk in another "
                              "arbiter directory", b->arbiter->name);
        if (strcmp(id, theirs->disk_id) != 0)
                return refuse(err, err_size, "the primary's disk is another one (disk id %s, %s records %s)",
                              theirs->disk_id, b->arbiter->name, id);
        return 0;
}

/* A pair is a pair: the same arbiter directory (its id), the primary's
 * generation recorded there, the same disk, and the guest and RAM this
 * replica was given, if it was. */
static int check_identity(struct backup *b, const struct pair_message *hello, char *err, size_t err_size)
{
        const struct pair_identity *theirs = &hello->identity;
        char id[PAIR_ID_MAX + 1];
        int rc = b->arbiter->fact(b->arbiter, "arbiter-id", false, NULL, id, sizeof(id));
        if (rc)
                return refuse(err, err_size, "%s holds no arbiter-id (%s): the primary claimed in another "
                              "directory; both replicas must name the same arbiter", b->arbiter->name,
                              strerror(-rc));
        if (strcmp(id, theirs->arbiter_id) != 0)
                return refuse(err, err_size, "the primary's arbiter is another directory (its id %s, %s has %s); "
                              "both replicas must name the same arbiter", theirs->arbiter_id,
                              b->arbiter->name, id);
        if (!b->arbiter->taken(b->arbiter, hello->generation))
                return refuse(err, err_size, "the primary says it holds generation %llu, which %s does not record",
                              (unsigned long long)hello->generation, b->arbiter->name);
        rc = check_disk(b, theirs, err, err_size);
        static const uint8_t none[16];
        if (!rc && memcmp(b->expected.image_digest, none, sizeof(none)) &&
            memcmp(b->expected.image_digest, theirs->image_digest, sizeof(none)))
                rc = refuse(err, err_size, "the primary runs another guest (its image differs from the one this "
                            "replica was given)");
        if (!rc && b->expected.ram_size && b->expected.ram_size != theirs->ram_size)
                rc = refuse(err, err_size, "the primary's guest has %llu MiB of RAM, this replica was given %llu MiB",
                            (unsigned long long)(theirs->ram_size >> 20),
                            (unsigned long long)(b->expected.ram_size >> 20));
        return rc;
}

static int exchange_greetings(struct backup *b, int fd, struct pair_message *theirs, char *err,
                              size_t err_size)
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
        if (n > 0 && pair_wire__decode(record, (size_t)n, theirs, why, sizeof(why)) == 0 &&
            theirs->kind != PAIR_HELLO)
                snprintf(why, sizeof(why), "it did not answer with HELO");
        free(record);
        if (n <= 0 || why[0]) {
                snprintf(err, err_size, "the primary's greeting: %s", why[0] ? why : "none");
                return EXIT_HOST_ERROR;
        }
        if (theirs->wire_version != PAIR_WIRE_VERSION || theirs->log_version != LOG_FORMAT_VERSION) {
                snprintf(err, err_size, "the primary speaks wire %u, log %u; this is wire %u, log %u",
                         theirs->wire_version, theirs->log_version, PAIR_WIRE_VERSION, LOG_FORMAT_VERSION);
                return EXIT_REFUSED;
        }
        return check_identity(b, theirs, err, err_size);
}

int backup__connect(struct backup *b, int fd, const struct primary_options *opts,
                    const struct pair_identity *expected, enum uncertain_policy uncertain,
                    struct arbiter *arbiter, char *err, size_t err_size)
{
        memset(b, 0, sizeof(*b));
        b->opts = *opts;
        b->expected = *expected;
        b->uncertain = uncertain;
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
        struct pair_message theirs;
        int status = exchange_greetings(b, fd, &theirs, err, err_size);
        if (status) {
                close(fd);
                return status;
        }
        snprintf(b->primary_name, sizeof(b->primary_name), "%s", theirs.name);
        /* Once live, this replica is the pair's primary: the same pair. */
        b->opts.identity = theirs.identity;
        backup_protocol__init(&b->protocol, theirs.generation, opts->failure_timeout_ns,
                              session__host_ns());
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
                  (unsigned long long)theirs.generation);
        return 0;
}

int backup__first_record(struct backup *b, int timeout_ms, struct log_entry *e,
                         char *err, size_t err_size)
{
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_ms / 1000;
        pthread_mutex_lock(&b->lock);
        while (log_queue__empty(&b->incoming) && !backup_protocol__primary_is_lost(&b->protocol))
                if (pthread_cond_timedwait(&b->arrived, &b->lock, &until) == ETIMEDOUT)
                        break;
        bool got = log_queue__take(&b->incoming, &b->current, &b->current_blob);
        pthread_mutex_unlock(&b->lock);
        if (!got) {
                char why[300];
                network_describe_end(&b->source, why, sizeof(why));
                snprintf(err, err_size, "no machine state from the primary: %s",
                         backup_protocol__primary_is_lost(&b->protocol) ? why : "timed out");
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
                  struct environment *host, int listen_fd, char *err, size_t err_size)
{
        b->host = host;
        b->listen_fd = listen_fd;
        /* The output the primary had not released when this replica
         * joined: this replica's transcript starts with it. */
        b->shadow_start = b->current.output_start;
        state_writer__bytes(&b->shadow, b->current.output.data, (size_t)b->current.output.length);
        if (b->shadow.failed || b->shadow_start + b->shadow.length != m->console.produced) {
                snprintf(err, err_size, "the primary's machine state holds console output [%llu, +%llu), "
                         "its guest had produced %llu bytes", (unsigned long long)b->shadow_start,
                         (unsigned long long)b->current.output.length,
                         (unsigned long long)m->console.produced);
                return EXIT_BAD_IMAGE;
        }
        int rc = replayer__init(&b->replay, m, control, &b->source);
        if (rc) {
                snprintf(err, err_size, "dirty-page tracking (KVM_MEM_LOG_DIRTY_PAGES): %s", strerror(-rc));
                return EXIT_KVM_UNAVAILABLE;
        }
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

void backup__status(struct backup *b, struct backup_status *out)
{
        struct backup_protocol *bp = &b->protocol;
        pthread_mutex_lock(&bp->lock);
        bool lost = bp->state >= BACKUP_TAKING_OVER;
        *out = (struct backup_status){
                .protection = lost ? "taking over" :
                              __atomic_load_n(&b->executing, __ATOMIC_ACQUIRE) ? "following" : "joining",
                .generation = bp->generation, .acked_seq = bp->acked_seq,
                .release_mark = bp->release_mark,
                .position = __atomic_load_n(&b->executed_position, __ATOMIC_RELAXED),
        };
        pthread_mutex_unlock(&bp->lock);
}
