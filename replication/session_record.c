#include "session_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/machine.h"
#include "../vmm/machine_control.h"

static void fail(struct recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct recorder *r, const char *fmt, ...)
{
        if (r->failed)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->failure, sizeof(r->failure), fmt, ap);
        va_end(ap);
        r->failed = true;
}

static void note_writer_failure(struct recorder *r)
{
        char why[256];
        if (log_writer__error(r->writer, why, sizeof(why)))
                fail(r, "%s", why);
}

static void append(struct recorder *r, struct log_entry *e)
{
        if (r->failed || !e)
                return;
        e->seq = r->seq + 1;
        e->position = r->base.m->position;
        r->scratch.length = 0;
        int rc = log_entry__encode(e, &r->scratch);
        if (rc) {
                fail(r, "encoding a %s record: %s", log_kind__tag(e->kind), strerror(-rc));
                return;
        }
        if (log_writer__append(r->writer, r->scratch.buf, r->scratch.length, e->seq)) {
                note_writer_failure(r);
                return;
        }
        r->seq = e->seq;
}

/* P0: an environment value the guest takes is the host's, logged with its
 * position before the guest sees it. */
static uint64_t recorded_monotonic(struct environment *env)
{
        struct recorder *r = (struct recorder *)((char *)env - offsetof(struct recorder, env));
        r->last_time = environment__monotonic_ns(r->host);
        append(r, &(struct log_entry){ .kind = LOG_TIME, .value = r->last_time });
        return r->last_time;
}

static int64_t recorded_realtime(struct environment *env)
{
        struct recorder *r = (struct recorder *)((char *)env - offsetof(struct recorder, env));
        r->last_wall = environment__realtime_ns(r->host);
        append(r, &(struct log_entry){ .kind = LOG_WALL, .value = (uint64_t)r->last_wall });
        return r->last_wall;
}

static void recorded_wait_until(struct environment *env, uint64_t deadline_ns)
{
        struct recorder *r = (struct recorder *)((char *)env - offsetof(struct recorder, env));
        environment__wait_until(r->host, deadline_ns);
}

static uint64_t recorded_host_ns_of(struct environment *env, uint64_t t)
{
        struct recorder *r = (struct recorder *)((char *)env - offsetof(struct recorder, env));
        return environment__host_ns_of(r->host, t);
}

/* The console: every byte is held until the records before it are safe;
 * a checkpoint epoch also carries its epoch's bytes, since a replay prints
 * them instead of executing the epoch. A line's end asks for the log to be
 * written now rather than at the writer's next idle flush. */
static void hold_output(void *context, const uint8_t *bytes, size_t n)
{
        struct recorder *r = context;
        state_writer__bytes(&r->epoch_output, bytes, n);
        if (r->epoch_output.failed || output_commit__hold(r->output, bytes, n, r->seq))
                fail(r, "out of memory holding %zu bytes of console output", n);
        if (memchr(bytes, '\n', n))
                log_writer__flush(r->writer);
}

/* The output rule for the disk: a write, flush or discard leaves only once
 * the records before it are safe, like a console byte; a replay issues it
 * at the same position from the same records. The log is written now, as
 * for a line's end: the guest waits for its completion. */
static void hold_disk_output(void *context, struct held_output *h)
{
        struct recorder *r = context;
        output_commit__hold_output(r->output, h, r->seq);
        log_writer__flush(r->writer);
}

static void begin_epoch(struct recorder *r, uint64_t now_ns)
{
        r->in_epoch = true;
        r->epoch_start = r->base.m->position;
        r->epoch_deadline_ns = now_ns + r->opts.epoch_ns;
}

static void close_epoch(struct recorder *r)
{
        r->in_epoch = false;
        r->base.counters.epochs++;
        r->epoch_output.length = 0;
        if (r->opts.flush_every_epoch ||
            output_commit__produced(r->output) > output_commit__released(r->output))
                log_writer__flush(r->writer);
}

/* Whether the epoch ending now (numbered from 1) carries a memory hash. */
static bool verifies_memory(const struct recorder *r)
{
        return r->opts.verify_every && (r->base.counters.epochs + 1) % r->opts.verify_every == 0;
}

/* The memory hash, and its ranges so that a replica that differs can say
 * where. */
static int hash_memory(struct recorder *r, struct log_entry *e, uint64_t *ranges)
{
        int rc = r->base.control->memory_hash(r->base.m, &e->memory_hash);
        unsigned n = rc ? 0 : machine__memory_ranges(r->base.m, ranges, LOG_MAX_MEMORY_RANGES);
        e->memory_ranges = (struct log_bytes){ (const uint8_t *)ranges, n * sizeof(uint64_t) };
        r->base.counters.memory_hashes++;
        return rc;
}

static void end_epoch(struct recorder *r, enum epoch_cause cause, uint8_t vector)
{
        uint32_t parts[LOG_MAX_DIGEST_PARTS];
        uint64_t ranges[LOG_MAX_MEMORY_RANGES];
        unsigned n = machine__state_digest_parts(r->base.m, parts, LOG_MAX_DIGEST_PARTS);
        struct log_entry e = { .kind = LOG_EPOCH_END, .cause = (uint8_t)cause, .vector = vector,
                               .digest = machine__state_digest(r->base.m),
                               .digest_parts = { (const uint8_t *)parts, n * sizeof(uint32_t) } };
        if (verifies_memory(r)) {
                int rc = hash_memory(r, &e, ranges);
                if (rc)
                        fail(r, "hashing guest memory: %s", strerror(-rc));
                e.has_memory_hash = true;
        }
        append(r, &e);
        close_epoch(r);
}

/* Since when an interrupt has waited, or will wait, on the host's clock
 * (the PIT's deadlines are the environment's, which a promoted backup
 * continues from the log's): UINT64_MAX if none. */
static uint64_t interrupt_due_ns(const struct recorder *r)
{
        if (pic8259__interrupt_pending(&r->base.m->pic))
                return r->base.pending_since_ns;
        return environment__host_ns_of(r->host, pit8254__next_deadline_ns(&r->base.m->pit));
}

static uint64_t stall_deadline_ns(const struct recorder *r)
{
        uint64_t due = interrupt_due_ns(r);
        return due > UINT64_MAX - r->opts.max_stall_ns ? UINT64_MAX : due + r->opts.max_stall_ns;
}

static void finish_answer(struct recorder *r, struct session_answer *a)
{
        if (r->failed)
                session__stop(a, RUN_LOG_FAILED, "%s", r->failure);
        a->wakeup_ns = stall_deadline_ns(r);
}

/* P0 for events: a disk completion is logged, with its position, before
 * the guest sees it. */
static bool log_io_completion(void *context, const struct machine_io_completion *c)
{
        struct recorder *r = context;
        append(r, &(struct log_entry){ .kind = LOG_IO_COMPLETION, .io_device = c->device,
                                       .io_id = c->id, .io_status = c->status,
                                       .io_data = { c->data, c->length } });
        return !r->failed;
}

/* Where a replay stands at the same point: the disk's completions
 * applied, the clock read, the interrupt delivered or not, the epoch ended
 * or not. P1, P2: an interrupt that
 * became due while the guest ran waits for this point, and the log's
 * record of the epoch's end (with the interrupt's vector) is appended
 * before the guest runs on with it. */
static void shared_point(struct recorder *r, struct session_answer *a)
{
        uint64_t now = session__host_ns();
        machine__apply_pending_io_logged(r->base.m, log_io_completion, r);
        if (session__advance_and_deliver(&r->base, now, a))
                end_epoch(r, EPOCH_INTERRUPT, (uint8_t)a->inject_vector);
        else if (r->in_epoch && now >= r->epoch_deadline_ns)
                end_epoch(r, EPOCH_TIMER, 0);
        if (!r->in_epoch)
                begin_epoch(r, now);
        finish_answer(r, a);
}

void recorder__at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
{
        struct recorder *r = (struct recorder *)s;
        uint32_t status;
        if (!r->failed && session__guest_exited(s, &status)) {
                append(r, &(struct log_entry){ .kind = LOG_GUEST_END, .value = status,
                                               .epochs = s->counters.epochs });
                a->stop = true;
                a->outcome = RUN_GUEST_EXITED;
                a->guest_status = status;
                finish_answer(r, a);
                return;
        }
        if (halted && !session__halt(s, a))
                return;
        shared_point(r, a);
}

/* The guest kept an interrupt waiting too long without a deterministic
 * exit: the epoch ends here, in a checkpoint a replay applies instead. */
static void take_checkpoint(struct recorder *r)
{
        struct session *s = &r->base;
        uint64_t start = session__host_ns();
        struct checkpoint_capture c = { 0 };
        struct log_entry e = { .kind = LOG_CHECKPOINT, .start_position = r->epoch_start };
        uint64_t ranges[LOG_MAX_MEMORY_RANGES];
        int rc = s->control->capture(s->m, &c);
        if (!rc)
                rc = hash_memory(r, &e, ranges);
        if (rc) {
                fail(r, "checkpoint at position %llu: %s", (unsigned long long)s->m->position,
                     strerror(-rc));
                free(c.state);
                return;
        }
        e.state = (struct log_bytes){ c.state, c.length };
        e.output = (struct log_bytes){ r->epoch_output.buf, r->epoch_output.length };
        append(r, &e);
        free(c.state);
        s->counters.checkpoints++;
        s->counters.checkpoint_pages += c.pages;
        s->counters.checkpoint_bytes += c.length;
        close_epoch(r);
        uint64_t now = session__host_ns();
        s->counters.checkpoint_ns += now - start;
        /* A guest with interrupts masked stalls again only after another
         * full bound, not at once. */
        if (s->pending_since_ns != UINT64_MAX)
                s->pending_since_ns = now;
}

void recorder__at_kick(struct session *s, struct session_answer *a)
{
        struct recorder *r = (struct recorder *)s;
        note_writer_failure(r);
        if (r->failed || session__host_ns() < stall_deadline_ns(r)) {
                session__keep_window(s, a);
                finish_answer(r, a);
                return;
        }
        take_checkpoint(r);
        shared_point(r, a);
}

static const struct session_ops record_ops = {
        .at_deterministic_exit = recorder__at_deterministic_exit,
        .at_kick = recorder__at_kick,
};

bool recorder__append(struct recorder *r, struct log_entry *e)
{
        append(r, e);
        return !r->failed;
}

void recorder__start_log_here(struct recorder *r)
{
        r->in_epoch = false;
        r->epoch_output.length = 0;
}

int recorder__init(struct recorder *r, struct machine *m, const struct machine_control *control,
                   struct environment *host, const struct recorder_options *opts,
                   struct log_writer *writer, struct output_commit *output,
                   struct log_entry *start)
{
        memset(r, 0, sizeof(*r));
        r->env = (struct environment){ .monotonic_ns = recorded_monotonic,
                                       .realtime_ns = recorded_realtime,
                                       .wait_until = recorded_wait_until,
                                       .host_ns_of = recorded_host_ns_of };
        r->host = host;
        r->opts = *opts;
        r->writer = writer;
        r->output = output;
        state_writer__init(&r->scratch);
        state_writer__init(&r->epoch_output);
        session__init(&r->base, &record_ops, m, control, &r->env);
        int rc = control->track_dirty_pages(m);
        if (rc)
                return rc;
        if (start)
                append(r, start);
        if (r->failed)
                return -EIO;
        m->console.divert = hold_output;
        m->console.divert_context = r;
        machine__hold_disk_outputs(m, hold_disk_output, r);
        return 0;
}

void recorder__release(struct recorder *r)
{
        r->base.m->console.divert = NULL;
        machine__hold_disk_outputs(r->base.m, NULL, NULL);
        state_writer__release(&r->scratch);
        state_writer__release(&r->epoch_output);
}
