#include "session_primary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/exit_status.h"
#include "../vmm/machine.h"
#include "../vmm/machine_control.h"
#include "event_log.h"
#include "log_format.h"
#include "pair_wire.h"
#include "service_notify.h"
#include "tcp.h"

#define ROLE "primary"
#define HELLO_TIMEOUT_MS 5000
#define MAX_RECORD_BYTES (3ull << 30)

static struct primary *of_session(struct session *s)
{
        return (struct primary *)s; /* the recorder, and its session, come first */
}

const char *primary__state_name(enum primary_protection state)
{
        static const char *const names[] = {
                [PRIMARY_ALONE] = "unprotected", [PRIMARY_PROTECTED] = "protected",
                [PRIMARY_DECIDING] = "deciding", [PRIMARY_FENCED] = "fenced",
        };
        return names[state];
}

static enum primary_protection state_of(struct primary *p)
{
        pthread_mutex_lock(&p->lock);
        enum primary_protection state = p->state;
        pthread_mutex_unlock(&p->lock);
        return state;
}

/* Another replica went live: nothing more leaves, the run stops. */
static void fence(struct primary *p, const char *why)
{
        pthread_mutex_lock(&p->lock);
        bool first = !p->stop;
        p->state = PRIMARY_FENCED;
        p->stop = true;
        if (first)
                snprintf(p->stop_message, sizeof(p->stop_message), "%s", why);
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        if (first) {
                event_log(ROLE, "%s; stopping, releasing nothing more", why);
                machine__kick(p->rec.base.m);
        }
}

/* The backup is lost: this replica may go on alone only if it wins the
 * next generation; until the arbiter answers, no output leaves. */
static void backup_lost(void *context, const char *why)
{
        struct primary *p = context;
        pthread_mutex_lock(&p->lock);
        if (p->state != PRIMARY_PROTECTED) {
                pthread_mutex_unlock(&p->lock);
                return;
        }
        if (p->end_seq && p->acked_seq >= p->end_seq) {
                /* It holds the guest's end and has ended its run too:
                 * everything written is as safe as it will ever be. */
                p->state = PRIMARY_ALONE;
                pthread_mutex_unlock(&p->lock);
                log_writer__set_safety(&p->writer, LOG_SAFE_WHEN_WRITTEN);
                event_log(ROLE, "the backup finished with the guest");
                return;
        }
        p->state = PRIMARY_DECIDING;
        p->backups_lost++;
        snprintf(p->lost_why, sizeof(p->lost_why), "%s", why);
        uint64_t next = p->generation + 1;
        pthread_mutex_unlock(&p->lock);
        event_log(ROLE, "lost the backup (%s); asking the arbiter for generation %llu", why,
                  (unsigned long long)next);
        int rc = p->arbiter->claim(p->arbiter, next, p->opts.name);
        if (rc != 0) {
                char holder[128] = "", message[320];
                p->arbiter->holder(p->arbiter, next, holder, sizeof(holder));
                snprintf(message, sizeof(message), "generation %llu is held by %s",
                         (unsigned long long)next,
                         rc < 0 ? "no one this replica can see (the arbiter is unreachable)" :
                         holder[0] ? holder : "another replica");
                fence(p, message);
                return;
        }
        pthread_mutex_lock(&p->lock);
        p->generation = next;
        p->state = PRIMARY_ALONE;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        log_writer__set_safety(&p->writer, LOG_SAFE_WHEN_WRITTEN);
        event_log(ROLE, "won generation %llu: running unprotected until a backup joins",
                  (unsigned long long)next);
}

/* The log goes to the backup, or nowhere when there is none. */
static int sink_write(struct log_sink *sink, const uint8_t *bytes, size_t n)
{
        struct primary *p = (struct primary *)((char *)sink - offsetof(struct primary, sink));
        if (state_of(p) != PRIMARY_PROTECTED)
                return 0;
        if (pair_link__send(&p->link, bytes, n) == 0)
                return 0;
        /* The link called backup_lost, which has decided by now. */
        return state_of(p) == PRIMARY_FENCED ? -EPIPE : 0;
}

static int sink_sync(struct log_sink *sink)
{
        (void)sink;
        return 0;
}

/* The fence: output leaves only while no other replica holds a later
 * generation, and never while the arbiter is deciding. */
static bool may_release(void *context)
{
        struct primary *p = context;
        pthread_mutex_lock(&p->lock);
        enum primary_protection state = p->state;
        uint64_t next = p->generation + 1;
        pthread_mutex_unlock(&p->lock);
        if (state == PRIMARY_DECIDING || state == PRIMARY_FENCED)
                return false;
        if (p->arbiter->taken(p->arbiter, next)) {
                char holder[128] = "", message[320];
                p->arbiter->holder(p->arbiter, next, holder, sizeof(holder));
                snprintf(message, sizeof(message), "generation %llu was taken by %s",
                         (unsigned long long)next, holder[0] ? holder : "another replica");
                fence(p, message);
                return false;
        }
        return true;
}

/* A beat goes out only if it need not wait: it is sent from the thread
 * that watches for silence (pair_link.h). */
static void send_message(struct primary *p, const struct pair_message *m)
{
        struct state_writer w;
        state_writer__init(&w);
        if (pair_wire__encode(m, &w) == 0) {
                if (m->kind == PAIR_BEAT)
                        pair_link__send_beat(&p->link, w.buf, w.length);
                else
                        pair_link__send(&p->link, w.buf, w.length);
        }
        state_writer__release(&w);
}

/* Tells the backup how far the outside world has seen the transcript, so
 * that after a failover it re-emits only what lies past that mark. */
static void released(void *context, uint64_t mark)
{
        struct primary *p = context;
        pthread_mutex_lock(&p->lock);
        bool send = p->state == PRIMARY_PROTECTED && mark > p->released_sent;
        if (send)
                p->released_sent = mark;
        pthread_mutex_unlock(&p->lock);
        if (send)
                send_message(p, &(struct pair_message){ .kind = PAIR_RELEASED, .released = mark });
}

static void on_record(void *context, const struct state_record_header *h, const uint8_t *record,
                      size_t length)
{
        struct primary *p = context;
        struct pair_message m;
        char why[160];
        if (pair_wire__kind(h->tag) < 0) {
                pair_link__fail(&p->link, "the backup sent a %s record", h->tag);
                return;
        }
        if (pair_wire__decode(record, length, &m, why, sizeof(why))) {
                pair_link__fail(&p->link, "a bad message from the backup: %s", why);
                return;
        }
        if (m.kind != PAIR_ACK)
                return;
        pthread_mutex_lock(&p->lock);
        if (m.seq > p->acked_seq)
                p->acked_seq = m.seq;
        p->backup_position = m.position;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        log_writer__acknowledge(&p->writer, m.seq);
}

/* Something goes to the backup at least every heartbeat. */
static void on_tick(void *context)
{
        struct primary *p = context;
        uint64_t sent = __atomic_load_n(&p->link.last_sent_ns, __ATOMIC_RELAXED);
        uint64_t now = session__host_ns();
        if (now > sent && now - sent >= p->opts.heartbeat_ns)
                send_message(p, &(struct pair_message){ .kind = PAIR_BEAT,
                                                       .position = p->rec.base.m->position });
}

static int send_hello(int fd, const struct primary *p, uint64_t generation)
{
        struct pair_message hello = { .kind = PAIR_HELLO, .wire_version = PAIR_WIRE_VERSION,
                                      .log_version = LOG_FORMAT_VERSION, .generation = generation };
        snprintf(hello.name, sizeof(hello.name), "%s", p->opts.name);
        struct state_writer w;
        state_writer__init(&w);
        int rc = pair_wire__encode(&hello, &w);
        if (!rc)
                rc = tcp__send_all(fd, w.buf, w.length);
        state_writer__release(&w);
        return rc;
}

/* A backup introduces itself; it joins at the guest's next shared point. */
static void greet(struct primary *p, int fd)
{
        uint8_t *record = NULL;
        char why[200] = "";
        struct pair_message hello;
        long n = pair_link__read_record(fd, HELLO_TIMEOUT_MS, &record, why, sizeof(why));
        if (n > 0 && pair_wire__decode(record, (size_t)n, &hello, why, sizeof(why)) == 0 &&
            hello.kind != PAIR_HELLO)
                snprintf(why, sizeof(why), "it did not begin with HELO");
        else if (n > 0 && !why[0] && (hello.wire_version != PAIR_WIRE_VERSION ||
                                      hello.log_version != LOG_FORMAT_VERSION))
                snprintf(why, sizeof(why), "it speaks wire %u, log %u; this is wire %u, log %u",
                         hello.wire_version, hello.log_version, PAIR_WIRE_VERSION, LOG_FORMAT_VERSION);
        free(record);
        pthread_mutex_lock(&p->lock);
        bool busy = p->joining_fd >= 0 || p->state == PRIMARY_PROTECTED || p->closing;
        uint64_t generation = p->generation;
        pthread_mutex_unlock(&p->lock);
        if (!why[0] && busy)
                snprintf(why, sizeof(why), "this primary already has a backup");
        if (!why[0] && send_hello(fd, p, generation))
                snprintf(why, sizeof(why), "it closed the connection");
        if (why[0]) {
                event_log(ROLE, "refused a backup: %s", why);
                close(fd);
                return;
        }
        pthread_mutex_lock(&p->lock);
        p->joining_fd = fd;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        event_log(ROLE, "backup %s connected; it joins at the guest's next shared point", hello.name);
        machine__kick(p->rec.base.m);
}

static void *listen_thread(void *arg)
{
        struct primary *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                bool closing = p->closing;
                pthread_mutex_unlock(&p->lock);
                if (closing)
                        return NULL;
                int fd = tcp__accept(p->listen_fd, 200);
                if (fd >= 0)
                        greet(p, fd);
        }
}

/* A backup joins here: everything logged before is for no one, the whole
 * machine goes first, and the log continues from this point. */
static void join_backup(struct primary *p, int fd)
{
        struct recorder *r = &p->rec;
        struct machine *m = r->base.m;
        /* What was produced before must be out before the backup's
         * transcript starts, or a failover now would lose it. */
        log_writer__wait_safe(&p->writer, r->seq);
        output_commit__wait_released(&p->output, m->console.produced, 2000);
        struct state_writer snapshot;
        state_writer__init(&snapshot);
        int rc = dirty_pages__collect(m);
        if (!rc)
                memset(m->dirty.for_checkpoint, 0, m->dirty.words * sizeof(uint64_t));
        if (!rc)
                rc = r->base.control->snapshot(m, &snapshot);
        struct pair_link_callbacks cb = { .record = on_record, .tick = on_tick, .lost = backup_lost,
                                          .context = p };
        if (!rc)
                rc = pair_link__start(&p->link, fd, p->opts.heartbeat_ns, p->opts.failure_timeout_ns,
                                      4096, true, &cb);
        if (rc) {
                event_log(ROLE, "a backup could not join: %s", strerror(-rc));
                state_writer__release(&snapshot);
                close(fd);
                return;
        }
        p->link_started = true;
        pthread_mutex_lock(&p->lock);
        p->state = PRIMARY_PROTECTED;
        p->acked_seq = r->seq;
        p->backup_position = m->position;
        p->released_sent = 0;
        p->backups_joined++;
        pthread_mutex_unlock(&p->lock);
        log_writer__set_safety(&p->writer, LOG_SAFE_WHEN_ACKED);
        recorder__start_log_here(r);
        struct log_entry start = { .kind = LOG_MACHINE_STATE,
                                   .state = { snapshot.buf, snapshot.length } };
        recorder__append(r, &start);
        log_writer__flush(&p->writer);
        event_log(ROLE, "the backup joined at position %llu (%zu bytes of machine state); protected",
                  (unsigned long long)m->position, snapshot.length);
        service_notify__ready("primary: protected");
        state_writer__release(&snapshot);
        released(p, output_commit__released(&p->output));
}

static void join_waiting_backup(struct primary *p)
{
        pthread_mutex_lock(&p->lock);
        int fd = p->joining_fd;
        p->joining_fd = -1;
        if (fd >= 0 && p->link_started) {
                /* The previous backup's link: its threads have ended. */
                pthread_mutex_unlock(&p->lock);
                pair_link__stop(&p->link);
                p->link_started = false;
                pthread_mutex_lock(&p->lock);
        }
        pthread_mutex_unlock(&p->lock);
        if (fd >= 0)
                join_backup(p, fd);
}

/* How far behind the backup executes, in positions and in time, counting
 * only what it can execute: it runs a whole epoch once it has the epoch's
 * end, so a backup that reached the last epoch end sent is not behind,
 * however long the primary's current epoch has run. */
static void lag(struct primary *p, uint64_t *positions, uint64_t *ns)
{
        uint64_t executable = p->rec.epoch_start, now = session__host_ns();
        pthread_mutex_lock(&p->lock);
        uint64_t backup = p->backup_position;
        *positions = executable > backup ? executable - backup : 0;
        *ns = 0;
        /* The oldest moment the primary was already past the backup. */
        for (unsigned i = 0; i < PRIMARY_LAG_SAMPLES && *positions; i++) {
                unsigned at = (p->lag_next + i) % PRIMARY_LAG_SAMPLES;
                if (p->lag_samples[at].ns && p->lag_samples[at].position > backup) {
                        *ns = now - p->lag_samples[at].ns;
                        break;
                }
        }
        pthread_mutex_unlock(&p->lock);
}

static void note_position(struct primary *p)
{
        pthread_mutex_lock(&p->lock);
        unsigned last = (p->lag_next + PRIMARY_LAG_SAMPLES - 1) % PRIMARY_LAG_SAMPLES;
        if (p->lag_samples[last].position != p->rec.base.m->position || !p->lag_samples[last].ns) {
                p->lag_samples[p->lag_next].position = p->rec.base.m->position;
                p->lag_samples[p->lag_next].ns = session__host_ns();
                p->lag_next = (p->lag_next + 1) % PRIMARY_LAG_SAMPLES;
        }
        pthread_mutex_unlock(&p->lock);
}

/* Bounded lag (as VMware FT does): the guest waits while the backup is
 * more than --max-lag behind. */
static void measure_lag(struct primary *p)
{
        if (state_of(p) != PRIMARY_PROTECTED)
                return;
        uint64_t positions, ns;
        lag(p, &positions, &ns);
        p->lag_measured++;
        p->lag_total_ns += ns;
        if (ns > p->lag_max_ns)
                p->lag_max_ns = ns;
}

static void bound_lag(struct primary *p)
{
        measure_lag(p);
        if (!p->opts.max_lag_ns)
                return;
        uint64_t start = session__host_ns(), positions, ns;
        for (lag(p, &positions, &ns); ns > p->opts.max_lag_ns; lag(p, &positions, &ns)) {
                struct timespec until;
                clock_gettime(CLOCK_MONOTONIC, &until);
                until.tv_nsec += 2000000;
                if (until.tv_nsec >= 1000000000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000;
                }
                pthread_mutex_lock(&p->lock);
                if (p->state == PRIMARY_PROTECTED)
                        pthread_cond_timedwait(&p->changed, &p->lock, &until);
                bool waiting = p->state == PRIMARY_PROTECTED && !p->stop;
                pthread_mutex_unlock(&p->lock);
                if (!waiting)
                        break;
        }
        p->lag_wait_ns += session__host_ns() - start;
}

static bool stopping(struct primary *p, struct session_answer *a)
{
        pthread_mutex_lock(&p->lock);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop)
                session__stop(a, RUN_LOST_ARBITER, "%s", p->stop_message);
        return stop;
}

/* A fenced primary's log sink refuses every write, so the recorder may see
 * a failed log before this replica's own check sees the fence: the fence
 * is the reason, and its status (75) the one to exit with. */
static void fence_outranks_log_failure(struct primary *p, struct session_answer *a)
{
        if (!a->stop || a->outcome != RUN_LOG_FAILED || state_of(p) != PRIMARY_FENCED)
                return;
        a->stop = false;
        stopping(p, a);
}

static void primary_at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
{
        struct primary *p = of_session(s);
        if (stopping(p, a))
                return;
        join_waiting_backup(p);
        bound_lag(p);
        note_position(p);
        recorder__at_deterministic_exit(s, halted, a);
        if (a->stop && a->outcome == RUN_GUEST_EXITED) {
                pthread_mutex_lock(&p->lock);
                p->end_seq = p->rec.seq;
                pthread_mutex_unlock(&p->lock);
        }
        fence_outranks_log_failure(p, a);
        stopping(p, a);
}

/* A backup may join at a kick too (a guest computing without exits would
 * keep it waiting): the point after its machine state is shared. */
static void primary_at_kick(struct session *s, struct session_answer *a)
{
        struct primary *p = of_session(s);
        if (stopping(p, a))
                return;
        pthread_mutex_lock(&p->lock);
        bool joining = p->joining_fd >= 0;
        pthread_mutex_unlock(&p->lock);
        if (joining) {
                join_waiting_backup(p);
                recorder__at_deterministic_exit(s, false, a);
        } else {
                recorder__at_kick(s, a);
        }
        fence_outranks_log_failure(p, a);
        stopping(p, a);
}

static const struct session_ops primary_ops = {
        .at_deterministic_exit = primary_at_deterministic_exit,
        .at_kick = primary_at_kick,
};

static void release_output(void *context, uint64_t safe)
{
        output_commit__safe(context, safe);
}

static void emit_to_console(void *context, const uint8_t *bytes, size_t n)
{
        struct primary *p = context;
        if (n && p->announce_first_output) {
                p->announce_first_output = false;
                event_log(ROLE, "first output as primary of generation %llu, %.0f ms after going live",
                          (unsigned long long)p->generation,
                          (double)(session__host_ns() - p->live_since_ns) / 1e6);
        }
        machine__console_emit(p->rec.base.m, bytes, n);
}

static void kick_vcpu(void *context)
{
        machine__kick(context);
}

/* A primary starts its guest from the image, so it claims only the first
 * generation. Any generation already held means that this guest has run
 * under this arbiter and may be running now: a backup that took over from
 * this primary's previous process. Starting the guest again would fence
 * that one at its next output and contradict what the world saw, so the
 * primary stops (75), and its unit, restarted once by systemd, stays down. */
static int claim_first_generation(struct primary *p, char *err, size_t err_size)
{
        uint64_t latest = p->arbiter->latest(p->arbiter);
        if (latest) {
                char holder[128] = "";
                p->arbiter->holder(p->arbiter, latest, holder, sizeof(holder));
                snprintf(err, err_size, "%s: generation %llu is held by %s: this guest has already run under "
                         "this arbiter and may be running there now; a primary starts it from its image only "
                         "under an empty one, so this one stops", p->arbiter->name,
                         (unsigned long long)latest, holder[0] ? holder : "another replica");
                return EXIT_LOST_ARBITER;
        }
        uint64_t generation = 1;
        int rc = p->arbiter->claim(p->arbiter, generation, p->opts.name);
        if (rc) {
                snprintf(err, err_size, "%s: cannot claim generation %llu: %s", p->arbiter->name,
                         (unsigned long long)generation,
                         rc > 0 ? "another replica claimed it first" : strerror(-rc));
                return rc > 0 ? EXIT_LOST_ARBITER : EXIT_HOST_ERROR;
        }
        p->generation = generation;
        event_log(ROLE, "holds generation %llu (arbiter %s)", (unsigned long long)generation,
                  p->arbiter->name);
        return 0;
}

static void init(struct primary *p, const struct primary_options *opts, struct arbiter *arbiter,
                 int listen_fd)
{
        memset(p, 0, sizeof(*p));
        p->opts = *opts;
        p->opts.record.flush_every_epoch = true;
        p->arbiter = arbiter;
        p->listen_fd = listen_fd;
        p->joining_fd = -1;
        p->state = PRIMARY_ALONE;
        pthread_mutex_init(&p->lock, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&p->changed, &attr);
        pthread_condattr_destroy(&attr);
}

static int start(struct primary *p, struct machine *m, const struct machine_control *control,
                 struct environment *host, char *err, size_t err_size)
{
        p->sink = (struct log_sink){ .write = sink_write, .sync = sink_sync, .name = "the backup" };
        int rc = output_commit__start(&p->output, emit_to_console, p, m->console.produced);
        if (!rc)
                output_commit__set_hooks(&p->output, may_release, released, p);
        p->writer.on_progress = release_output;
        p->writer.progress_context = &p->output;
        p->writer.on_failure = kick_vcpu;
        p->writer.failure_context = m;
        if (!rc)
                rc = log_writer__start(&p->writer, &p->sink, LOG_SAFE_WHEN_WRITTEN);
        if (!rc)
                rc = recorder__init(&p->rec, m, control, host, &p->opts.record, &p->writer,
                                    &p->output, NULL);
        if (!rc && p->listen_fd >= 0) {
                rc = -pthread_create(&p->listener, NULL, listen_thread, p);
                p->listener_started = rc == 0;
        }
        if (rc) {
                snprintf(err, err_size, "starting the primary: %s", strerror(-rc));
                return EXIT_HOST_ERROR;
        }
        p->rec.base.ops = &primary_ops;
        return 0;
}

int primary__start(struct primary *p, struct machine *m, const struct machine_control *control,
                   struct environment *host, const struct primary_options *opts,
                   struct arbiter *arbiter, int listen_fd, char *err, size_t err_size)
{
        init(p, opts, arbiter, listen_fd);
        int status = claim_first_generation(p, err, err_size);
        return status ? status : start(p, m, control, host, err, err_size);
}

int primary__start_holding(struct primary *p, struct machine *m,
                           const struct machine_control *control, struct environment *host,
                           const struct primary_options *opts, struct arbiter *arbiter,
                           int listen_fd, uint64_t generation, char *err, size_t err_size)
{
        init(p, opts, arbiter, listen_fd);
        p->generation = generation;
        p->announce_first_output = true;
        p->live_since_ns = session__host_ns();
        return start(p, m, control, host, err, err_size);
}

int primary__wait_for_backup(struct primary *p, int timeout_ms)
{
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&p->lock);
        int rc = 0;
        while (p->joining_fd < 0 && rc == 0)
                rc = timeout_ms < 0 ? pthread_cond_wait(&p->changed, &p->lock)
                                    : pthread_cond_timedwait(&p->changed, &p->lock, &until);
        bool joined = p->joining_fd >= 0;
        pthread_mutex_unlock(&p->lock);
        return joined ? 0 : -ETIMEDOUT;
}

/* --timeout stopped the guest for good. A backup holding less than the
 * guest's end would take the closed link for this replica's failure and
 * run the guest on, so the next generation is taken from it first. */
static void end_the_guest_here(struct primary *p)
{
        pthread_mutex_lock(&p->lock);
        bool backup_would_go_on = p->state == PRIMARY_PROTECTED &&
                                  !(p->end_seq && p->acked_seq >= p->end_seq);
        uint64_t next = p->generation + 1;
        pthread_mutex_unlock(&p->lock);
        if (!backup_would_go_on)
                return;
        int rc = p->arbiter->claim(p->arbiter, next, p->opts.name);
        pthread_mutex_lock(&p->lock);
        if (rc == 0) {
                p->generation = next;
                p->state = PRIMARY_ALONE;
        } else {
                p->state = PRIMARY_FENCED;
                snprintf(p->stop_message, sizeof(p->stop_message),
                         "generation %llu was taken by another replica", (unsigned long long)next);
        }
        pthread_mutex_unlock(&p->lock);
        if (rc == 0)
                event_log(ROLE, "stopped the guest (--timeout); took generation %llu so that the backup "
                          "does not run it on", (unsigned long long)next);
}

bool primary__finish(struct primary *p, bool ends_the_guest)
{
        /* The backup must hold the log's end (it ends its run there too)
         * before the last output leaves; a backup that is lost meanwhile
         * leaves this replica alone (safe once written) or fenced (nothing
         * more is safe, nothing more leaves). */
        while (log_writer__wait_safe_for(&p->writer, p->rec.seq, 50) == -ETIMEDOUT &&
               state_of(p) != PRIMARY_FENCED)
                ;
        if (ends_the_guest)
                end_the_guest_here(p);
        pthread_mutex_lock(&p->lock);
        p->closing = true;
        bool fenced = p->state == PRIMARY_FENCED;
        pthread_mutex_unlock(&p->lock);
        if (p->listener_started)
                pthread_join(p->listener, NULL);
        int rc = log_writer__close(&p->writer);
        output_commit__close(&p->output, !fenced && rc == 0);
        if (p->link_started)
                pair_link__stop(&p->link);
        if (p->joining_fd >= 0)
                close(p->joining_fd);
        recorder__release(&p->rec);
        return fenced;
}

void primary__print_stats(struct primary *p, const char *who)
{
        struct log_writer_stats w = log_writer__stats(&p->writer);
        struct output_commit_stats o = output_commit__stats(&p->output);
        pthread_mutex_lock(&p->lock);
        fprintf(stderr,
                "ftvmm: %s: generation %llu, %s; log %llu bytes in %llu writes, acknowledged to seq %llu; "
                "output %llu bytes in %llu releases, commit latency mean %.2f ms max %.2f ms; "
                "backup lag mean %.1f ms max %.1f ms (guest held %.1f ms by --max-lag); "
                "backups joined %llu, lost %llu\n",
                who, (unsigned long long)p->generation, primary__state_name(p->state),
                (unsigned long long)w.bytes, (unsigned long long)w.writes,
                (unsigned long long)p->acked_seq, (unsigned long long)o.released,
                (unsigned long long)o.chunks_released,
                o.chunks_released ? (double)o.latency_total_ns / 1e6 / (double)o.chunks_released : 0.0,
                (double)o.latency_max_ns / 1e6,
                p->lag_measured ? (double)p->lag_total_ns / 1e6 / (double)p->lag_measured : 0.0,
                (double)p->lag_max_ns / 1e6, (double)p->lag_wait_ns / 1e6,
                (unsigned long long)p->backups_joined, (unsigned long long)p->backups_lost);
        pthread_mutex_unlock(&p->lock);
}

void primary__status(struct primary *p, struct primary_status *out)
{
        uint64_t positions, ns;
        lag(p, &positions, &ns);
        struct output_commit_stats o = output_commit__stats(&p->output);
        pthread_mutex_lock(&p->lock);
        *out = (struct primary_status){
                .state = p->state, .generation = p->generation,
                .position = p->rec.base.m->position, .appended_seq = p->rec.seq,
                .acked_seq = p->acked_seq, .backup_position = p->backup_position,
                .lag_positions = p->state == PRIMARY_PROTECTED ? positions : 0,
                .lag_ms = p->state == PRIMARY_PROTECTED ? ns / 1000000 : 0,
                .log_bytes = log_writer__stats(&p->writer).bytes,
                .output_produced = o.produced, .output_released = o.released,
                .output_held = o.produced - o.released,
                .backups_joined = p->backups_joined, .backups_lost = p->backups_lost,
        };
        pthread_mutex_unlock(&p->lock);
}
