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
#include "service_notify.h"
#include "tcp.h"

#define ROLE "primary"
#define HELLO_TIMEOUT_MS 5000
#define DISK_DRAIN_MS 30000

static struct primary *of_session(struct session *s)
{
        return (struct primary *)s; /* the recorder, and its session, come first */
}

const char *primary__state_name(enum primary_state state)
{
        return primary_protocol__state_name(state);
}

static enum primary_state state_of(struct primary *p)
{
        return primary_protocol__state(&p->protocol);
}

const char *primary__fence_reason(struct primary *p)
{
        return p->protocol.fence_why;
}

/* Another replica went live: nothing more leaves, the run stops. */
static void fence(struct primary *p, const char *why)
{
        if (!primary_protocol__fence(&p->protocol, why))
                return;
        event_log(ROLE, "%s; stopping, releasing nothing more", why);
        machine__kick(p->rec.base.m);
}

static void safe_moved(struct primary *p, uint64_t safe)
{
        if (safe)
                output_commit__safe(&p->output, safe);
}

/* Claims `next` from the arbiter and tells the protocol what it said. */
static void claim(struct primary *p, uint64_t next)
{
        int rc = p->arbiter->claim(p->arbiter, next, p->opts.name);
        char message[320] = "";
        if (rc != 0) {
                char holder[128] = "";
                p->arbiter->holder(p->arbiter, next, holder, sizeof(holder));
                snprintf(message, sizeof(message), "generation %llu is held by %s",
                         (unsigned long long)next,
                         rc < 0 ? "no one this replica can see (the arbiter is unreachable)" :
                         holder[0] ? holder : "another replica");
        }
        uint64_t safe;
        primary_protocol__claimed(&p->protocol, rc, message, &safe);
        if (rc != 0) {
                event_log(ROLE, "%s; stopping, releasing nothing more", message);
                machine__kick(p->rec.base.m);
                return;
        }
        safe_moved(p, safe);
}

/* The backup is lost: this replica may go on alone only if it wins the
 * next generation; until the arbiter answers, no output leaves. */
static void backup_lost(void *context, const char *why)
{
        struct primary *p = context;
        uint64_t next, safe;
        switch (primary_protocol__backup_lost(&p->protocol, why, &next, &safe)) {
        case LOSS_IGNORED:
                return;
        case LOSS_BACKUP_FINISHED:
                safe_moved(p, safe);
                event_log(ROLE, "the backup finished with the guest");
                return;
        case LOSS_CLAIM:
                break;
        }
        event_log(ROLE, "lost the backup (%s); asking the arbiter for generation %llu", why,
                  (unsigned long long)next);
        claim(p, next);
        if (state_of(p) == PRIMARY_ALONE)
                event_log(ROLE, "won generation %llu: running unprotected until a backup joins",
                          (unsigned long long)next);
}

/* The log goes to the backup, or nowhere when there is none. */
static int sink_write(struct log_sink *sink, const uint8_t *bytes, size_t n)
{
        struct primary *p = (struct primary *)((char *)sink - offsetof(struct primary, sink));
        primary_protocol__sending(&p->protocol, p->writer.carrying);
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

static void log_written(void *context, uint64_t written)
{
        struct primary *p = context;
        safe_moved(p, primary_protocol__written(&p->protocol, written));
}

/* The fence, checked for every batch of outputs under the permit that
 * releases it: once a later generation exists, nothing more leaves. */
static enum permit begin_release(void *context)
{
        struct primary *p = context;
        uint64_t next;
        enum permit permit = primary_protocol__begin_release(&p->protocol, &next);
        if (permit != PERMIT_GO || !p->arbiter->taken(p->arbiter, next))
                return permit;
        primary_protocol__end_permit(&p->protocol);
        char holder[128] = "", message[320];
        p->arbiter->holder(p->arbiter, next, holder, sizeof(holder));
        snprintf(message, sizeof(message), "generation %llu was taken by %s",
                 (unsigned long long)next, holder[0] ? holder : "another replica");
        fence(p, message);
        return PERMIT_NEVER;
}

/* A write to the shared disk: the fence and the lease. */
static enum permit begin_write(void *context)
{
        struct primary *p = context;
        return primary_protocol__begin_write(&p->protocol, session__host_ns());
}

static void end_permit(void *context)
{
        struct primary *p = context;
        primary_protocol__end_permit(&p->protocol);
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
        bool protected = state_of(p) == PRIMARY_PROTECTED;
        pthread_mutex_lock(&p->lock);
        bool send = protected && mark > p->released_sent;
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
        if (m.kind != PAIR_ACK) {
                if (m.kind == PAIR_HELLO)
                        pair_link__fail(&p->link, "protocol error: a second HELO from the backup");
                return;
        }
        uint64_t safe;
        if (primary_protocol__acked(&p->protocol, m.seq, m.position, m.echo_ns, &safe, why,
                                    sizeof(why)) < 0) {
                pair_link__fail(&p->link, "protocol error: %s", why);
                return;
        }
        safe_moved(p, safe);
}

/* Every heartbeat the backup hears this replica's clock, which it echoes:
 * what keeps the write lease (primary_protocol.h). */
static void on_tick(void *context)
{
        struct primary *p = context;
        send_message(p, &(struct pair_message){ .kind = PAIR_BEAT,
                                               .position = p->rec.base.m->position,
                                               .sent_ns = session__host_ns() });
}

static int send_hello(int fd, const struct primary *p, uint64_t generation)
{
        struct pair_message hello = { .kind = PAIR_HELLO, .wire_version = PAIR_WIRE_VERSION,
                                      .log_version = LOG_FORMAT_VERSION, .generation = generation,
                                      .identity = p->opts.identity };
        snprintf(hello.name, sizeof(hello.name), "%s", p->opts.name);
        struct state_writer w;
        state_writer__init(&w);
        int rc = pair_wire__encode(&hello, &w);
        if (!rc)
                rc = tcp__send_all(fd, w.buf, w.length);
        state_writer__release(&w);
        return rc;
}

/* Its greeting: a HELO of this wire and log format. 0, or -1 with why. */
static int read_greeting(int fd, struct pair_message *hello, char *why, size_t why_size)
{
        uint8_t *record = NULL;
        long n = pair_link__read_record(fd, HELLO_TIMEOUT_MS, &record, why, why_size);
        int rc = n > 0 ? pair_wire__decode(record, (size_t)n, hello, why, why_size) : -1;
        free(record);
        if (!rc && hello->kind != PAIR_HELLO) {
                snprintf(why, why_size, "it did not begin with HELO");
                rc = -1;
        } else if (!rc && (hello->wire_version != PAIR_WIRE_VERSION ||
                           hello->log_version != LOG_FORMAT_VERSION)) {
                snprintf(why, why_size, "it speaks wire %u, log %u; this is wire %u, log %u",
                         hello->wire_version, hello->log_version, PAIR_WIRE_VERSION, LOG_FORMAT_VERSION);
                rc = -1;
        }
        return rc;
}

/* A backup introduces itself; admitted, it joins at the guest's next
 * shared point. */
static void greet(struct primary *p, int fd)
{
        char why[200] = "";
        struct pair_message hello;
        uint64_t generation = 0;
        bool admitted = false;
        if (read_greeting(fd, &hello, why, sizeof(why)) == 0 &&
            (admitted = primary_protocol__admit(&p->protocol, &generation, why, sizeof(why))) &&
            send_hello(fd, p, generation)) {
                primary_protocol__admission_failed(&p->protocol);
                snprintf(why, sizeof(why), "it closed the connection");
                admitted = false;
        }
        if (!admitted) {
                event_log(ROLE, "refused a backup: %s", why[0] ? why : "no greeting");
                close(fd);
                return;
        }
        pthread_mutex_lock(&p->lock);
        p->joining_fd = fd;
        pthread_mutex_unlock(&p->lock);
        event_log(ROLE, "backup %s connected; it joins at the guest's next shared point", hello.name);
        machine__kick(p->rec.base.m);
}

static void *listen_thread(void *arg)
{
        struct primary *p = arg;
        while (!primary_protocol__closing(&p->protocol)) {
                int fd = tcp__accept(p->listen_fd, 200);
                if (fd >= 0)
                        greet(p, fd);
        }
        return NULL;
}

/* The machine, and the console output that had not left yet: the backup
 * re-emits it if this replica dies before it leaves. */
static int machine_state(struct primary *p, struct state_writer *snapshot, struct log_entry *start,
                         uint8_t **unreleased)
{
        struct machine *m = p->rec.base.m;
        int rc = dirty_pages__collect(m);
        if (!rc)
                memset(m->dirty.for_checkpoint, 0, m->dirty.words * sizeof(uint64_t));
        if (!rc)
                rc = p->rec.base.control->snapshot(m, snapshot);
        size_t n = 0;
        if (!rc)
                rc = output_commit__unreleased(&p->output, &start->output_start, unreleased, &n);
        *start = (struct log_entry){ .kind = LOG_MACHINE_STATE, .output_start = start->output_start,
                                     .output = { *unreleased, n },
                                     .state = { snapshot->buf, snapshot->length } };
        return rc;
}

/* A backup joins here: everything logged before is for no one, the whole
 * machine goes first, and the log continues from this point. */
static void join_backup(struct primary *p, int fd)
{
        struct recorder *r = &p->rec;
        struct machine *m = r->base.m;
        /* Records before the machine state went nowhere: they must be
         * out of the writer before the link takes what follows. */
        log_writer__wait_safe(&p->writer, r->seq);
        struct state_writer snapshot;
        state_writer__init(&snapshot);
        struct log_entry start = { 0 };
        uint8_t *unreleased = NULL;
        int rc = machine_state(p, &snapshot, &start, &unreleased);
        struct pair_link_callbacks cb = { .record = on_record, .tick = on_tick, .lost = backup_lost,
                                          .context = p };
        if (!rc)
                rc = pair_link__start(&p->link, fd, p->opts.heartbeat_ns, p->opts.failure_timeout_ns,
                                      4096, true, &cb);
        if (rc) {
                event_log(ROLE, "a backup could not join: %s", strerror(-rc));
                primary_protocol__admission_failed(&p->protocol);
                close(fd);
        } else if (!primary_protocol__joined(&p->protocol, r->seq, m->position, session__host_ns())) {
                event_log(ROLE, "a backup could not join: this replica is fenced");
                pair_link__stop(&p->link);
        } else {
                p->link_started = true;
                pthread_mutex_lock(&p->lock);
                p->released_sent = start.output_start;
                pthread_mutex_unlock(&p->lock);
                recorder__start_log_here(r);
                recorder__append(r, &start);
                log_writer__flush(&p->writer);
                event_log(ROLE, "the backup joined at position %llu (%zu bytes of machine state, "
                          "%llu bytes of output not yet released); protected",
                          (unsigned long long)m->position, snapshot.length,
                          (unsigned long long)start.output.length);
                service_notify__ready("primary: protected");
                released(p, output_commit__released(&p->output));
        }
        free(unreleased);
        state_writer__release(&snapshot);
}

static void join_waiting_backup(struct primary *p)
{
        pthread_mutex_lock(&p->lock);
        int fd = p->joining_fd;
        p->joining_fd = -1;
        pthread_mutex_unlock(&p->lock);
        if (fd < 0)
                return;
        if (p->link_started) {
                /* The previous backup's link: its threads have ended. */
                pair_link__stop(&p->link);
                p->link_started = false;
        }
        join_backup(p, fd);
}

static bool backup_waits(struct primary *p)
{
        pthread_mutex_lock(&p->lock);
        bool waits = p->joining_fd >= 0;
        pthread_mutex_unlock(&p->lock);
        return waits;
}

/* How far behind the backup executes, in positions and in time, counting
 * only what it can execute: it runs a whole epoch once it has the epoch's
 * end, so a backup that reached the last epoch end sent is not behind,
 * however long the primary's current epoch has run. */
static void lag(struct primary *p, uint64_t *positions, uint64_t *ns)
{
        uint64_t executable = p->rec.epoch_start, now = session__host_ns();
        pthread_mutex_lock(&p->protocol.lock);
        uint64_t backup = p->protocol.backup_position;
        pthread_mutex_unlock(&p->protocol.lock);
        pthread_mutex_lock(&p->lock);
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
static void bound_lag(struct primary *p)
{
        if (state_of(p) != PRIMARY_PROTECTED)
                return;
        uint64_t positions, ns;
        lag(p, &positions, &ns);
        p->lag_measured++;
        p->lag_total_ns += ns;
        if (ns > p->lag_max_ns)
                p->lag_max_ns = ns;
        if (!p->opts.max_lag_ns || ns <= p->opts.max_lag_ns)
                return;
        uint64_t start = session__host_ns();
        while (ns > p->opts.max_lag_ns && state_of(p) == PRIMARY_PROTECTED) {
                primary_protocol__wait(&p->protocol, 2);
                lag(p, &positions, &ns);
        }
        p->lag_wait_ns += session__host_ns() - start;
}

static bool stopping(struct primary *p, struct session_answer *a)
{
        bool stop = state_of(p) == PRIMARY_FENCED;
        if (stop)
                session__stop(a, RUN_LOST_ARBITER, "%s", p->protocol.fence_why);
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
        if (a->stop && a->outcome == RUN_GUEST_EXITED)
                primary_protocol__guest_ended(&p->protocol, p->rec.seq);
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
        if (backup_waits(p)) {
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

static size_t emit_to_console(void *context, const uint8_t *bytes, size_t n)
{
        struct primary *p = context;
        if (n && p->announce_first_output) {
                p->announce_first_output = false;
                event_log(ROLE, "first output as primary of generation %llu, %.0f ms after going live",
                          (unsigned long long)p->protocol.generation,
                          (double)(session__host_ns() - p->live_since_ns) / 1e6);
        }
        return machine__console_emit(p->rec.base.m, bytes, n);
}

static void kick_vcpu(void *context)
{
        machine__kick(context);
}

/* The pair's identity in the arbiter: its own id, and the disk's (with
 * its size), made by the first primary that claims there. */
static int record_identity(struct primary *p, char *err, size_t err_size)
{
        struct pair_identity *id = &p->opts.identity;
        int rc = p->arbiter->fact(p->arbiter, "arbiter-id", true, NULL, id->arbiter_id,
                                  sizeof(id->arbiter_id));
        char sectors[32];
        snprintf(sectors, sizeof(sectors), "%llu", (unsigned long long)id->disk_sectors);
        if (!rc && id->disk_sectors)
                rc = p->arbiter->fact(p->arbiter, "disk-id", true, sectors, id->disk_id,
                                      sizeof(id->disk_id));
        if (rc)
                snprintf(err, err_size, "%s: recording the pair's identity: %s", p->arbiter->name,
                         strerror(-rc));
        return rc ? EXIT_HOST_ERROR : 0;
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
        int rc = p->arbiter->claim(p->arbiter, 1, p->opts.name);
        if (rc) {
                snprintf(err, err_size, "%s: cannot claim generation 1: %s", p->arbiter->name,
                         rc > 0 ? "another replica claimed it first" : strerror(-rc));
                return rc > 0 ? EXIT_LOST_ARBITER : EXIT_HOST_ERROR;
        }
        event_log(ROLE, "holds generation 1 (arbiter %s)", p->arbiter->name);
        return record_identity(p, err, err_size);
}

static void init(struct primary *p, const struct primary_options *opts, struct arbiter *arbiter,
                 int listen_fd, uint64_t generation)
{
        memset(p, 0, sizeof(*p));
        p->opts = *opts;
        p->opts.record.flush_every_epoch = true;
        p->arbiter = arbiter;
        p->listen_fd = listen_fd;
        p->joining_fd = -1;
        pthread_mutex_init(&p->lock, NULL);
        primary_protocol__init(&p->protocol, generation, opts->failure_timeout_ns);
}

static int start(struct primary *p, struct machine *m, const struct machine_control *control,
                 struct environment *host, char *err, size_t err_size)
{
        p->sink = (struct log_sink){ .write = sink_write, .sync = sink_sync, .name = "the backup" };
        int rc = output_commit__start(&p->output, emit_to_console, p, m->console.produced);
        struct permit_gate release_gate = { .begin = begin_release, .end = end_permit, .context = p };
        struct permit_gate write_gate = { .begin = begin_write, .end = end_permit, .context = p };
        if (!rc)
                output_commit__set_gate(&p->output, &release_gate, released, p);
        machine__set_disk_gate(m, &write_gate);
        p->writer.on_progress = log_written;
        p->writer.progress_context = p;
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
        init(p, opts, arbiter, listen_fd, 1);
        int status = claim_first_generation(p, err, err_size);
        return status ? status : start(p, m, control, host, err, err_size);
}

int primary__start_holding(struct primary *p, struct machine *m,
                           const struct machine_control *control, struct environment *host,
                           const struct primary_options *opts, struct arbiter *arbiter,
                           int listen_fd, uint64_t generation, uint64_t writes_not_before_ns,
                           char *err, size_t err_size)
{
        init(p, opts, arbiter, listen_fd, generation);
        primary_protocol__writes_not_before(&p->protocol, writes_not_before_ns);
        p->announce_first_output = true;
        p->live_since_ns = session__host_ns();
        return start(p, m, control, host, err, err_size);
}

int primary__wait_for_backup(struct primary *p, int timeout_ms)
{
        uint64_t until = session__host_ns() + (uint64_t)timeout_ms * 1000000ull;
        while (!backup_waits(p)) {
                if (timeout_ms >= 0 && session__host_ns() >= until)
                        return -ETIMEDOUT;
                primary_protocol__wait(&p->protocol, 100);
        }
        return 0;
}

/* --timeout stopped the guest for good. A backup holding less than the
 * guest's end would take the closed link for this replica's failure and
 * run the guest on, so the next generation is taken from it first. */
static void end_the_guest_here(struct primary *p)
{
        uint64_t next;
        if (!primary_protocol__end_the_guest(&p->protocol, &next))
                return;
        claim(p, next);
        if (state_of(p) == PRIMARY_ALONE)
                event_log(ROLE, "stopped the guest (--timeout); took generation %llu so that the backup "
                          "does not run it on", (unsigned long long)next);
}

static bool log_end_is_safe(struct primary *p)
{
        return primary_protocol__safe(&p->protocol) >= p->rec.seq;
}

/* The disk's writes that left before the end are performed before the
 * permit they need goes away (a fenced replica's are dropped at once). */
static void drain_disk(struct primary *p)
{
        struct machine *m = p->rec.base.m;
        if (!machine__disk_idle(m, DISK_DRAIN_MS))
                event_log(ROLE, "the disk still had requests after %d s; they are dropped",
                          DISK_DRAIN_MS / 1000);
        machine__set_disk_gate(m, NULL);
}

bool primary__finish(struct primary *p, bool ends_the_guest)
{
        /* The backup must hold the log's end (it ends its run there too)
         * before the last output leaves; a backup that is lost meanwhile
         * leaves this replica alone (safe once written) or fenced (nothing
         * more is safe, nothing more leaves). */
        log_writer__flush(&p->writer);
        while (!log_end_is_safe(p) && state_of(p) != PRIMARY_FENCED &&
               !log_writer__error(&p->writer, NULL, 0))
                primary_protocol__wait(&p->protocol, 50);
        if (ends_the_guest)
                end_the_guest_here(p);
        primary_protocol__close(&p->protocol);
        if (p->listener_started)
                pthread_join(p->listener, NULL);
        int rc = log_writer__close(&p->writer);
        bool fenced = state_of(p) == PRIMARY_FENCED;
        output_commit__close(&p->output, !fenced && rc == 0);
        drain_disk(p);
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
        struct primary_status st;
        primary__status(p, &st);
        fprintf(stderr,
                "ftvmm: %s: generation %llu, %s; log %llu bytes in %llu writes, acknowledged to seq %llu; "
                "output %llu bytes in %llu releases, commit latency mean %.2f ms max %.2f ms, "
                "%llu disk outputs released in %llu batches; "
                "backup lag mean %.1f ms max %.1f ms (guest held %.1f ms by --max-lag); "
                "backups joined %llu, lost %llu\n",
                who, (unsigned long long)st.generation, primary__state_name(st.state),
                (unsigned long long)w.bytes, (unsigned long long)w.writes,
                (unsigned long long)st.acked_seq, (unsigned long long)o.released,
                (unsigned long long)o.chunks_released,
                o.chunks_released ? (double)o.latency_total_ns / 1e6 / (double)o.chunks_released : 0.0,
                (double)o.latency_max_ns / 1e6, (unsigned long long)o.outputs_released,
                (unsigned long long)o.batches,
                p->lag_measured ? (double)p->lag_total_ns / 1e6 / (double)p->lag_measured : 0.0,
                (double)p->lag_max_ns / 1e6, (double)p->lag_wait_ns / 1e6,
                (unsigned long long)st.backups_joined, (unsigned long long)st.backups_lost);
}

void primary__status(struct primary *p, struct primary_status *out)
{
        uint64_t positions, ns;
        lag(p, &positions, &ns);
        struct output_commit_stats o = output_commit__stats(&p->output);
        uint64_t log_bytes = log_writer__stats(&p->writer).bytes;
        struct primary_protocol *pp = &p->protocol;
        pthread_mutex_lock(&pp->lock);
        bool protected = pp->state == PRIMARY_PROTECTED;
        *out = (struct primary_status){
                .state = pp->state, .generation = pp->generation,
                .position = p->rec.base.m->position, .appended_seq = p->rec.seq,
                .acked_seq = pp->acked, .backup_position = pp->backup_position,
                .lag_positions = protected ? positions : 0,
                .lag_ms = protected ? ns / 1000000 : 0,
                .log_bytes = log_bytes,
                .output_produced = o.produced, .output_released = o.released,
                .output_held = o.produced - o.released,
                .backups_joined = pp->backups_joined, .backups_lost = pp->backups_lost,
        };
        pthread_mutex_unlock(&pp->lock);
}
