#include "session_replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../vmm/machine.h"
#include "../vmm/machine_control.h"

static void stop(struct replayer *p, enum run_outcome outcome, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void stop(struct replayer *p, enum run_outcome outcome, const char *fmt, ...)
{
        if (p->stopping)
                return; /* the first divergence is the one that matters */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->stop_message, sizeof(p->stop_message), fmt, ap);
        va_end(ap);
        p->stopping = true;
        p->stop_outcome = outcome;
}

static uint64_t position(const struct replayer *p)
{
        return p->base.m->position;
}

static uint64_t epoch_number(const struct replayer *p)
{
        return p->base.counters.epochs + 1;
}

static bool epoch_is_complete(const struct replayer *p)
{
        const struct log_entry *last = log_queue__back(&p->epoch);
        return last && (log_kind__ends_epoch(last->kind) || last->kind == LOG_GUEST_END);
}

/* Takes the reader's next record into the queue, reading more of the
 * source as needed. False when none will come. */
static bool take_record(struct replayer *p)
{
        for (;;) {
                struct log_entry e;
                switch (log_reader__next(p->reader, &e)) {
                case LOG_READ_RECORD:
                        if (log_queue__push(&p->epoch, &e)) {
                                p->source_state = REPLAY_SOURCE_FAILED;
                                p->source_error = -ENOMEM;
                                return false;
                        }
                        p->records++;
                        return true;
                case LOG_READ_CORRUPT:
                        p->source_state = REPLAY_SOURCE_CORRUPT;
                        return false;
                case LOG_READ_NEED_MORE:
                        break;
                }
                if (p->source_state != REPLAY_SOURCE_OPEN)
                        return false;
                long got = p->source->more(p->source, p->reader);
                if (got < 0) {
                        p->source_state = REPLAY_SOURCE_FAILED;
                        p->source_error = (int)-got;
                        return false;
                }
                if (got == 0)
                        p->source_state = REPLAY_SOURCE_DONE;
        }
}

static void read_to_epoch_end(struct replayer *p)
{
        while (!epoch_is_complete(p) && take_record(p))
                ;
}

void replayer__describe_end(const struct replayer *p, char *out, size_t size)
{
        size_t pending = log_reader__pending(p->reader);
        switch (p->source_state) {
        case REPLAY_SOURCE_CORRUPT:
                snprintf(out, size, "%s: corrupt %s", p->source->name, p->reader->problem);
                return;
        case REPLAY_SOURCE_FAILED:
                snprintf(out, size, "%s: reading the log: %s", p->source->name,
                         strerror(p->source_error));
                return;
        default:
                break;
        }
        if (pending)
                snprintf(out, size, "the log ends inside a record after %llu complete records (%zu bytes of a record at byte %llu)",
                         (unsigned long long)p->records, pending,
                         (unsigned long long)p->reader->offset);
        else
                snprintf(out, size, "the log ends after %llu complete records",
                         (unsigned long long)p->records);
}

/* The log holds nothing more for this run. */
static void log_exhausted(struct replayer *p)
{
        char why[400];
        replayer__describe_end(p, why, sizeof(why));
        stop(p, p->source_state == REPLAY_SOURCE_CORRUPT ? RUN_LOG_CORRUPT :
                p->source_state == REPLAY_SOURCE_FAILED ? RUN_HOST_ERROR : RUN_LOG_ENDED,
             "%s", why);
}

/* The next record of this epoch, which must be `kind` at the current
 * position; NULL (with a stop) otherwise. The caller pops it. */
static const struct log_entry *expect(struct replayer *p, enum log_kind kind)
{
        if (p->stopping)
                return NULL;
        if (log_queue__empty(&p->epoch) && !epoch_is_complete(p))
                take_record(p);
        const struct log_entry *e = log_queue__front(&p->epoch);
        if (!e) {
                log_exhausted(p);
                return NULL;
        }
        if (e->kind != kind || e->position != position(p)) {
                stop(p, RUN_DIVERGED,
                     "epoch %llu, position %llu: the run needs %s here, the log has %s at position %llu",
                     (unsigned long long)epoch_number(p), (unsigned long long)position(p),
                     log_kind__tag(kind), log_kind__tag(e->kind), (unsigned long long)e->position);
                return NULL;
        }
        return e;
}

static struct replayer *of_env(struct environment *env)
{
        return (struct replayer *)((char *)env - offsetof(struct replayer, env));
}

static uint64_t replayed_monotonic(struct environment *env)
{
        struct replayer *p = of_env(env);
        const struct log_entry *e = expect(p, LOG_TIME);
        if (e) {
                p->last_time = e->value;
                log_queue__pop(&p->epoch);
        }
        return p->last_time;
}

static int64_t replayed_realtime(struct environment *env)
{
        struct replayer *p = of_env(env);
        const struct log_entry *e = expect(p, LOG_WALL);
        if (e) {
                p->last_wall = (int64_t)e->value;
                log_queue__pop(&p->epoch);
        }
        return p->last_wall;
}

static void replayed_wait_until(struct environment *env, uint64_t deadline_ns)
{
        (void)env;
        (void)deadline_ns; /* the log's next clock value says what time it became */
}

static void check_memory(struct replayer *p, uint64_t logged, const char *where)
{
        uint64_t hash;
        int rc = p->base.control->memory_hash(p->base.m, &hash);
        p->base.counters.memory_hashes++;
        if (rc)
                stop(p, RUN_HOST_ERROR, "hashing guest memory: %s", strerror(-rc));
        else if (hash != logged)
                stop(p, RUN_DIVERGED, "epoch %llu, position %llu: guest memory hash %016llx, the log has %016llx (%s)",
                     (unsigned long long)epoch_number(p), (unsigned long long)position(p),
                     (unsigned long long)hash, (unsigned long long)logged, where);
}

static void close_epoch(struct replayer *p)
{
        p->in_epoch = false;
        p->base.counters.epochs++;
}

static void check_epoch_end(struct replayer *p, enum epoch_cause cause, uint8_t vector)
{
        const struct log_entry *e = expect(p, LOG_EPOCH_END);
        if (!e)
                return;
        uint32_t digest = machine__state_digest(p->base.m);
        unsigned long long epoch = epoch_number(p), at = position(p);
        if (e->cause != cause)
                stop(p, RUN_DIVERGED, "epoch %llu, position %llu: the epoch ends by %s, the log says by %s",
                     epoch, at, cause == EPOCH_TIMER ? "the epoch timer" : "an interrupt",
                     e->cause == EPOCH_TIMER ? "the epoch timer" : "an interrupt");
        else if (e->vector != vector)
                stop(p, RUN_DIVERGED, "epoch %llu, position %llu: interrupt vector 0x%x, the log has 0x%x",
                     epoch, at, vector, e->vector);
        else if (e->digest != digest)
                stop(p, RUN_DIVERGED, "epoch %llu, position %llu: state digest %08x, the log has %08x",
                     epoch, at, digest, e->digest);
        else if (e->has_memory_hash)
                check_memory(p, e->memory_hash, "at the epoch's end");
        log_queue__pop(&p->epoch);
        close_epoch(p);
}

static bool timer_ends_epoch_here(const struct replayer *p)
{
        const struct log_entry *e = log_queue__front(&p->epoch);
        return e && e->kind == LOG_EPOCH_END && e->cause == EPOCH_TIMER &&
               e->position == position(p);
}

/* The recorder's state at the epoch's end replaces executing the epoch;
 * an interrupt decided for the state before it is moot (the checkpoint
 * holds its effect). */
static void apply_checkpoint(struct replayer *p, struct session_answer *a)
{
        const struct log_entry *e = log_queue__back(&p->epoch);
        struct machine *m = p->base.m;
        if (e->start_position != position(p)) {
                stop(p, RUN_DIVERGED, "epoch %llu: the log's checkpoint epoch starts at position %llu, the run is at %llu",
                     (unsigned long long)epoch_number(p), (unsigned long long)e->start_position,
                     (unsigned long long)position(p));
                return;
        }
        log_queue__drop_all_but_last(&p->epoch);
        char err[256];
        if (p->base.control->apply(m, e->state.data, (size_t)e->state.length, err, sizeof(err))) {
                stop(p, RUN_DIVERGED, "epoch %llu (a checkpoint epoch ending at position %llu): %s",
                     (unsigned long long)epoch_number(p), (unsigned long long)e->position, err);
                return;
        }
        m->position = e->position;
        machine__console_output(m, e->output.data, (size_t)e->output.length);
        check_memory(p, e->memory_hash, "after a checkpoint");
        p->base.counters.checkpoints++;
        p->base.counters.checkpoint_bytes += e->state.length;
        log_queue__pop(&p->epoch);
        close_epoch(p);
        a->inject_vector = -1;
        a->request_window = false;
}

static void begin_epoch(struct replayer *p)
{
        read_to_epoch_end(p);
        p->in_epoch = true;
}

static bool epoch_is_checkpoint(const struct replayer *p)
{
        const struct log_entry *last = log_queue__back(&p->epoch);
        return last && last->kind == LOG_CHECKPOINT;
}

static void maybe_flip_a_byte(struct replayer *p)
{
        if (position(p) < p->flip_at_position || p->flip_address >= p->base.m->ram_size)
                return;
        p->base.m->ram[p->flip_address] ^= 0x01;
        p->flip_at_position = UINT64_MAX;
        /* Not through KVM, so not logged dirty by it. */
        dirty_pages__mark(&p->base.m->dirty, p->flip_address, 1);
}

/* Where the recorder stood at the same point; after a checkpoint epoch is
 * applied, the point right after it is shared too. */
static void shared_point(struct replayer *p, struct session_answer *a)
{
        for (;;) {
                maybe_flip_a_byte(p);
                if (session__advance_and_deliver(&p->base, 0, a))
                        check_epoch_end(p, EPOCH_INTERRUPT, (uint8_t)a->inject_vector);
                else if (p->in_epoch && timer_ends_epoch_here(p))
                        check_epoch_end(p, EPOCH_TIMER, 0);
                if (p->in_epoch || p->stopping)
                        return;
                begin_epoch(p);
                if (!epoch_is_checkpoint(p))
                        return;
                apply_checkpoint(p, a);
                if (p->stopping)
                        return;
        }
}

static void finish_answer(struct replayer *p, struct session_answer *a)
{
        if (p->stopping)
                session__stop(a, p->stop_outcome, "%s", p->stop_message);
}

static void replay_at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
{
        struct replayer *p = (struct replayer *)s;
        uint32_t status;
        if (session__guest_exited(s, &status)) {
                const struct log_entry *e = expect(p, LOG_GUEST_END);
                if (e && e->value != status)
                        stop(p, RUN_DIVERGED, "position %llu: guest exit status %u, the log has %llu",
                             (unsigned long long)position(p), status, (unsigned long long)e->value);
                if (!p->stopping) {
                        a->stop = true;
                        a->outcome = RUN_GUEST_EXITED;
                        a->guest_status = status;
                        return;
                }
                finish_answer(p, a);
                return;
        }
        if (halted && !session__halt(s, a))
                return;
        shared_point(p, a);
        finish_answer(p, a);
}

/* A replay is never kicked by a session deadline: only --timeout kicks. */
static void replay_at_kick(struct session *s, struct session_answer *a)
{
        finish_answer((struct replayer *)s, a);
}

static const struct session_ops replay_ops = {
        .at_deterministic_exit = replay_at_deterministic_exit,
        .at_kick = replay_at_kick,
};

int replayer__init(struct replayer *p, struct machine *m, const struct machine_control *control,
                   struct log_reader *reader, struct replay_source *source)
{
        memset(p, 0, sizeof(*p));
        p->env = (struct environment){ .monotonic_ns = replayed_monotonic,
                                       .realtime_ns = replayed_realtime,
                                       .wait_until = replayed_wait_until };
        p->reader = reader;
        p->source = source;
        p->records = 1; /* the first record, which built the machine */
        p->flip_at_position = UINT64_MAX;
        log_queue__init(&p->epoch);
        session__init(&p->base, &replay_ops, m, control, &p->env);
        return control->track_dirty_pages(m);
}

void replayer__release(struct replayer *p)
{
        log_queue__release(&p->epoch);
}
