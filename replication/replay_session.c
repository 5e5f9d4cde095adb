#include "replay_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void stop(struct replay_session *s, enum replay_stop why, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void stop(struct replay_session *s, enum replay_stop why, const char *fmt, ...)
{
        if (s->stop != REPLAY_RUNNING)
                return; /* the first divergence is the one that matters */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof(s->why), fmt, ap);
        va_end(ap);
        s->stop = why;
}

/* The next log entry, which must be `tag` at position. */
static bool expect_at(struct replay_session *s, const char *tag, uint64_t position,
                      struct replay_entry *e)
{
        if (s->stop != REPLAY_RUNNING)
                return false;
        if (!replay_reader__next(&s->reader, e)) {
                if (s->reader.cut_short || !s->reader.problem[0])
                        stop(s, REPLAY_LOG_ENDED, "the log ends after %llu complete records",
                             (unsigned long long)s->reader.entries);
                else
                        stop(s, REPLAY_DIVERGED, "log unreadable: %s", s->reader.problem);
                return false;
        }
        if (strcmp(e->tag, tag) != 0 || e->position != position) {
                stop(s, REPLAY_DIVERGED,
                     "epoch %llu, position %llu: the run needs %s here, the log has %s at position %llu",
                     (unsigned long long)s->epochs, (unsigned long long)position, tag,
                     e->tag, (unsigned long long)e->position);
                return false;
        }
        return true;
}

/* The next log entry, which must be `tag` at the current position. */
static bool expect(struct replay_session *s, const char *tag, struct replay_entry *e)
{
        return expect_at(s, tag, *s->position, e);
}

static void record(struct replay_session *s, const char *tag, uint64_t value)
{
        struct replay_entry e = { .position = *s->position, .value = value };
        memcpy(e.tag, tag, 5);
        replay_writer__entry(&s->writer, &e);
}

static uint64_t session_monotonic(struct environment *env)
{
        struct replay_session *s = (struct replay_session *)env;
        struct replay_entry e;
        if (s->mode == REPLAY_RECORD) {
                s->last_time = environment__monotonic_ns(s->live);
                record(s, "TIME", s->last_time);
        } else if (expect(s, "TIME", &e)) {
                s->last_time = e.value;
        }
        return s->last_time;
}

static int64_t session_realtime(struct environment *env)
{
        struct replay_session *s = (struct replay_session *)env;
        struct replay_entry e;
        if (s->mode == REPLAY_RECORD) {
                s->last_wall = environment__realtime_ns(s->live);
                record(s, "WALL", (uint64_t)s->last_wall);
        } else if (expect(s, "WALL", &e)) {
                s->last_wall = (int64_t)e.value;
        }
        return s->last_wall;
}

static void init(struct replay_session *s, enum replay_mode mode, const uint64_t *position)
{
        memset(s, 0, sizeof(*s));
        s->env.monotonic_ns = session_monotonic;
        s->env.realtime_ns = session_realtime;
        s->mode = mode;
        s->position = position;
}

void replay_session__init_record(struct replay_session *s, struct environment *live,
                                 const uint64_t *position, uint64_t epoch_ns)
{
        init(s, REPLAY_RECORD, position);
        s->live = live;
        s->epoch_ns = epoch_ns;
}

void replay_session__init_replay(struct replay_session *s, const uint64_t *position)
{
        init(s, REPLAY_REPLAY, position);
}

void replay_session__release(struct replay_session *s)
{
        free(s->epoch_output);
        s->epoch_output = NULL;
        s->epoch_output_length = s->epoch_output_capacity = 0;
}

static void close_epoch(struct replay_session *s)
{
        s->epochs++;
        s->in_epoch = false;
        s->epoch_output_length = 0;
}

/* Replaying a checkpoint epoch: the records the recorder wrote while it ran
 * are of no use to a replay that does not run it. */
static bool take_checkpoint(struct replay_session *s, struct replay_entry *e)
{
        replay_reader__skip_to_epoch_end(&s->reader);
        if (!expect_at(s, "CHKP", s->epoch_end_entry.position, e))
                return false;
        if (e->value != *s->position) {
                stop(s, REPLAY_DIVERGED,
                     "epoch %llu: the log's checkpoint epoch starts at position %llu, the run is at %llu",
                     (unsigned long long)s->epochs, (unsigned long long)e->value,
                     (unsigned long long)*s->position);
                return false;
        }
        s->checkpoints++;
        close_epoch(s);
        return true;
}

bool replay_session__begin_epoch(struct replay_session *s, uint64_t now_ns,
                                 struct replay_entry *checkpoint)
{
        s->in_epoch = true;
        s->epoch_start_position = *s->position;
        if (s->mode == REPLAY_RECORD) {
                s->epoch_deadline_ns = now_ns + s->epoch_ns;
                return false;
        }
        s->epoch_end_known = replay_reader__peek_epoch_end(&s->reader, &s->epoch_end_entry);
        if (s->epoch_end_known && strcmp(s->epoch_end_entry.tag, "CHKP") == 0)
                return take_checkpoint(s, checkpoint);
        return false;
}

bool replay_session__epoch_timer_expired(struct replay_session *s, uint64_t now_ns)
{
        if (s->mode == REPLAY_RECORD)
                return now_ns >= s->epoch_deadline_ns;
        const struct replay_entry *end = &s->epoch_end_entry;
        return s->epoch_end_known && strcmp(end->tag, "EPOC") == 0 &&
               end->cause == EPOCH_TIMER && end->position == *s->position;
}

void replay_session__epoch_end(struct replay_session *s, enum epoch_cause cause,
                               uint8_t vector, uint32_t digest)
{
        struct replay_entry e;
        close_epoch(s);
        if (s->mode == REPLAY_RECORD) {
                struct replay_entry out = { .tag = "EPOC", .position = *s->position,
                                            .value = digest, .cause = (uint8_t)cause,
                                            .vector = vector };
                replay_writer__entry(&s->writer, &out);
                return;
        }
        if (!expect(s, "EPOC", &e))
                return;
        if (e.cause != cause)
                stop(s, REPLAY_DIVERGED, "epoch %llu, position %llu: the epoch ends by %s, the log says by %s",
                     (unsigned long long)s->epochs, (unsigned long long)*s->position,
                     cause == EPOCH_TIMER ? "the epoch timer" : "an interrupt",
                     e.cause == EPOCH_TIMER ? "the epoch timer" : "an interrupt");
        else if (e.vector != vector)
                stop(s, REPLAY_DIVERGED, "epoch %llu, position %llu: interrupt vector 0x%x, the log has 0x%x",
                     (unsigned long long)s->epochs, (unsigned long long)*s->position, vector, e.vector);
        else if (e.value != digest)
                stop(s, REPLAY_DIVERGED, "epoch %llu, position %llu: state digest %08x, the log has %08x",
                     (unsigned long long)s->epochs, (unsigned long long)*s->position, digest,
                     (unsigned)e.value);
}

void replay_session__note_output(struct replay_session *s, const uint8_t *bytes, size_t n)
{
        if (s->mode != REPLAY_RECORD || s->writer.failed)
                return;
        if (s->epoch_output_length + n > s->epoch_output_capacity) {
                size_t capacity = s->epoch_output_capacity ? s->epoch_output_capacity : 4096;
                while (capacity < s->epoch_output_length + n)
                        capacity *= 2;
                uint8_t *grown = realloc(s->epoch_output, capacity);
                if (!grown) {
                        s->writer.failed = true; /* a log without the output is no log */
                        return;
                }
                s->epoch_output = grown;
                s->epoch_output_capacity = capacity;
        }
        memcpy(s->epoch_output + s->epoch_output_length, bytes, n);
        s->epoch_output_length += n;
}

void replay_session__checkpoint(struct replay_session *s, const uint8_t *state, size_t length)
{
        struct replay_entry out = { .tag = "CHKP", .position = *s->position,
                                    .value = s->epoch_start_position,
                                    .output = s->epoch_output,
                                    .output_length = (uint32_t)s->epoch_output_length,
                                    .state = state, .state_length = length };
        if (s->epoch_output_length > UINT32_MAX)
                s->writer.failed = true;
        replay_writer__entry(&s->writer, &out);
        s->checkpoints++;
        close_epoch(s);
}

void replay_session__guest_exit(struct replay_session *s, uint32_t status)
{
        struct replay_entry e;
        if (s->mode == REPLAY_RECORD) {
                struct replay_entry out = { .tag = "END ", .position = *s->position,
                                            .value = status, .epochs = s->epochs };
                replay_writer__entry(&s->writer, &out);
                return;
        }
        if (expect(s, "END ", &e) && e.value != status)
                stop(s, REPLAY_DIVERGED, "position %llu: guest exit status %u, the log has %llu",
                     (unsigned long long)*s->position, status, (unsigned long long)e.value);
}
