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

/* Takes the source's next record into the queue. False when none will
 * come. */
static bool take_record(struct replayer *p)
{
        if (p->source_state != REPLAY_SOURCE_OPEN)
                return false;
        struct log_entry e;
        p->source_state = p->source->next(p->source, &e);
        if (p->source_state != REPLAY_SOURCE_OPEN)
                return false;
        if (log_queue__push(&p->epoch, &e)) {
                p->source_state = REPLAY_SOURCE_FAILED;
                return false;
        }
        p->records++;
        return true;
}

static void read_to_epoch_end(struct replayer *p)
{
        while (!epoch_is_complete(p) && take_record(p))
                ;
}

/* The log holds nothing more for this run: a replay of a file ends here;
 * a backup goes live (P6). */
static void log_exhausted(struct replayer *p)
{
        if (p->live)
                return;
        if (p->take_over && (p->live = p->take_over(p, p->take_over_context)))
                return;
        char why[400];
        p->source->describe_end(p->source, why, sizeof(why));
        stop(p, p->source_state == REPLAY_SOURCE_CORRUPT ? RUN_LOG_CORRUPT :
                p->source_state == REPLAY_SOURCE_FAILED ? RUN_HOST_ERROR : RUN_LOG_ENDED,
             "%s", why);
}

/* The next record, read from the source if none is queued (right after a
 * checkpoint epoch, nothing of the next one has been read yet); NULL if
 * none will come. */
static const struct log_entry *next_record(struct replayer *p)
{
        if (log_queue__empty(&p->epoch) && !epoch_is_complete(p))
                take_record(p);
        return log_queue__front(&p->epoch);
}

/* The next record of this epoch, which must be `kind` at the current
 * position; NULL (with a stop) otherwise. The caller pops it. */
static const struct log_entry *expect(struct replayer *p, enum log_kind kind)
{
        if (p->stopping || p->live)
                return NULL;
        const struct log_entry *e = next_record(p);
        if (!e) {
                log_exhausted(p);
                return NULL;
        }
        /* P5: the run must be where the log says: the record's kind and
         * position are checked before its value is used. */
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

/* P3: an environment read returns the value the log holds for this
 * position; the replica never asks its own host, until it has gone live
 * (P6: the first read the log does not cover is its host's). */
static uint64_t replayed_monotonic(struct environment *env)
{
        struct replayer *p = of_env(env);
        const struct log_entry *e = expect(p, LOG_TIME);
        if (e) {
                p->last_time = e->value;
                log_queue__pop(&p->epoch);
        } else if (p->live) {
                p->last_time = environment__monotonic_ns(p->live);
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
        } else if (p->live) {
                p->last_wall = environment__realtime_ns(p->live);
        }
        return p->last_wall;
}

static void replayed_wait_until(struct environment *env, uint64_t deadline_ns)
{
        struct replayer *p = of_env(env);
        /* The log's next clock value says what time it became. */
        if (p->live)
                environment__wait_until(p->live, deadline_ns);
}

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; i++)
                v |= (uint64_t)p[i] << (8 * i);
        return v;
}

/* Appends ", " and text to a list of differences, while it fits. */
static void list_difference(char *list, size_t size, const char *text)
{
        size_t used = strlen(list);
        if (used + strlen(text) + 8 < size)
                snprintf(list + used, size - used, "%s%s", used ? ", " : "", text);
        else if (used + 5 < size && strcmp(list + used - 3, "...") != 0)
                snprintf(list + used, size - used, ", ...");
}

/* Which ranges of RAM differ from the log's, by their hashes. */
static void name_memory_ranges(struct replayer *p, struct log_bytes logged, char *out, size_t size)
{
        uint64_t mine[LOG_MAX_MEMORY_RANGES];
        unsigned n = (unsigned)(logged.length / 8);
        out[0] = '\0';
        if (!n || machine__memory_ranges(p->base.m, mine, n) != n)
                return;
        for (unsigned i = 0; i < n; i++) {
                if (mine[i] == get_le(logged.data + 8 * i, 8))
                        continue;
                uint64_t start, end;
                memory_hash__range_bounds(&p->base.m->memory_hash, i, n, &start, &end);
                char range[64];
                snprintf(range, sizeof(range), "[0x%llx, 0x%llx)", (unsigned long long)start,
                         (unsigned long long)end);
                list_difference(out, size, range);
        }
}

static void check_memory(struct replayer *p, const struct log_entry *e, const char *where)
{
        uint64_t hash;
        int rc = p->base.control->memory_hash(p->base.m, &hash);
        p->base.counters.memory_hashes++;
        if (rc) {
                stop(p, RUN_HOST_ERROR, "hashing guest memory: %s", strerror(-rc));
                return;
        }
        if (hash == e->memory_hash)
                return;
        char ranges[300];
        name_memory_ranges(p, e->memory_ranges, ranges, sizeof(ranges));
        stop(p, RUN_DIVERGED, "epoch %llu, position %llu: guest memory hash %016llx, the log has %016llx (%s)%s%s",
             (unsigned long long)epoch_number(p), (unsigned long long)position(p),
             (unsigned long long)hash, (unsigned long long)e->memory_hash, where,
             ranges[0] ? "; it differs in guest memory " : "", ranges);
}

/* Which parts of the machine differ from the log's digest parts. */
static void name_digest_parts(struct replayer *p, struct log_bytes logged, char *out, size_t size)
{
        uint32_t mine[LOG_MAX_DIGEST_PARTS];
        unsigned n = machine__state_digest_parts(p->base.m, mine, LOG_MAX_DIGEST_PARTS);
        unsigned theirs = (unsigned)(logged.length / 4);
        out[0] = '\0';
        for (unsigned i = 0; i < n || i < theirs; i++) {
                if (i < n && i < theirs && mine[i] == (uint32_t)get_le(logged.data + 4 * i, 4))
                        continue;
                char name[64];
                machine__digest_part_name(p->base.m, i, name, sizeof(name));
                list_difference(out, size, name);
        }
}

static void close_epoch(struct replayer *p)
{
        p->in_epoch = false;
        p->base.counters.epochs++;
}

static void report_digest(struct replayer *p, const struct log_entry *e, uint32_t digest)
{
        char parts[300];
        name_digest_parts(p, e->digest_parts, parts, sizeof(parts));
        stop(p, RUN_DIVERGED, "epoch %llu, position %llu: state digest %08x, the log has %08x%s%s",
             (unsigned long long)epoch_number(p), (unsigned long long)position(p), digest, e->digest,
             parts[0] ? "; it differs in " : "", parts);
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
                report_digest(p, e, digest);
        else if (e->has_memory_hash)
                check_memory(p, e, "at the epoch's end");
        log_queue__pop(&p->epoch);
        close_epoch(p);
}

static bool timer_ends_epoch_here(const struct replayer *p)
{
        const struct log_entry *e = log_queue__front(&p->epoch);
        return e && e->kind == LOG_EPOCH_END && e->cause == EPOCH_TIMER &&
               e->position == position(p);
}

/* The epoch's records before its checkpoint are not executed, but the
 * guest the checkpoint holds has seen their clock values: a replica going
 * live after it must continue from the last of them, not from before. */
static void skip_to_checkpoint(struct replayer *p)
{
        for (const struct log_entry *e; (e = log_queue__front(&p->epoch)) != log_queue__back(&p->epoch);
             log_queue__pop(&p->epoch)) {
                if (e->kind == LOG_TIME)
                        p->last_time = e->value;
                else if (e->kind == LOG_WALL)
                        p->last_wall = (int64_t)e->value;
        }
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
        skip_to_checkpoint(p);
        char err[256];
        if (p->base.control->apply(m, e->state.data, (size_t)e->state.length, err, sizeof(err))) {
                stop(p, RUN_DIVERGED, "epoch %llu (a checkpoint epoch ending at position %llu): %s",
                     (unsigned long long)epoch_number(p), (unsigned long long)e->position, err);
                return;
        }
        m->position = e->position;
        if (m->clock_ns > p->last_time)
                p->last_time = m->clock_ns;
        machine__console_output(m, e->output.data, (size_t)e->output.length);
        check_memory(p, e, "after a checkpoint");
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

/* The disk completions the recorder applied at this point, before its
 * clock read: the guest sees the logged bytes, never a disk (P3 for
 * events). */
static void apply_io_completions(struct replayer *p)
{
        for (;;) {
                if (p->stopping || p->live)
                        return;
                const struct log_entry *e = next_record(p);
                if (!e || e->kind != LOG_IO_COMPLETION || e->position != position(p))
                        return;
                struct machine_io_completion c = { .device = e->io_device, .id = e->io_id,
                                                   .status = e->io_status, .data = e->io_data.data,
                                                   .length = (uint32_t)e->io_data.length };
                char why[256];
                if (machine__apply_logged_io(p->base.m, &c, why, sizeof(why))) {
                        stop(p, RUN_DIVERGED, "epoch %llu, position %llu: %s",
                             (unsigned long long)epoch_number(p), (unsigned long long)position(p), why);
                        return;
                }
                log_queue__pop(&p->epoch);
        }
}

/* Where the recorder stood at the same point; after a checkpoint epoch is
 * applied, the point right after it is shared too. P5: interrupts are
 * delivered here only, at the positions where the log's epochs end, and
 * each is checked against the log's record of it. */
static void shared_point(struct replayer *p, struct session_answer *a)
{
        for (;;) {
                maybe_flip_a_byte(p);
                apply_io_completions(p);
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

void replayer__at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
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
void replayer__at_kick(struct session *s, struct session_answer *a)
{
        session__keep_window(s, a);
        finish_answer((struct replayer *)s, a);
}

static const struct session_ops replay_ops = {
        .at_deterministic_exit = replayer__at_deterministic_exit,
        .at_kick = replayer__at_kick,
};

int replayer__init(struct replayer *p, struct machine *m, const struct machine_control *control,
                   struct replay_source *source)
{
        memset(p, 0, sizeof(*p));
        p->env = (struct environment){ .monotonic_ns = replayed_monotonic,
                                       .realtime_ns = replayed_realtime,
                                       .wait_until = replayed_wait_until };
        p->source = source;
        p->records = 1; /* the first record, which built the machine */
        /* What the machine's clock read when its state was taken: a
         * replica going live before the log gives a clock value continues
         * from here (from zero, its guest would wait for the timer
         * deadlines of the state for as long as the recorder's host had
         * been up). */
        p->last_time = m->clock_ns;
        p->flip_at_position = UINT64_MAX;
        log_queue__init(&p->epoch);
        session__init(&p->base, &replay_ops, m, control, &p->env);
        return control->track_dirty_pages(m);
}

void replayer__stop(struct replayer *p, enum run_outcome outcome, const char *why)
{
        stop(p, outcome, "%s", why);
}

void replayer__release(struct replayer *p)
{
        log_queue__release(&p->epoch);
}
