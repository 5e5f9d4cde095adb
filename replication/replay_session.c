#include "replay_session.h"

#include <stdarg.h>
#include <stdio.h>
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

/* The next log entry, which must be `tag` at the current position. */
static bool expect(struct replay_session *s, const char *tag, struct replay_entry *e)
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
        if (strcmp(e->tag, tag) != 0 || e->position != *s->position) {
                stop(s, REPLAY_DIVERGED,
                     "epoch %llu, position %llu: the run needs %s here, the log has %s at position %llu",
                     (unsigned long long)s->epochs, (unsigned long long)*s->position, tag,
                     e->tag, (unsigned long long)e->position);
                return false;
        }
        return true;
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
                                 const uint64_t *position)
{
        init(s, REPLAY_RECORD, position);
        s->live = live;
}

void replay_session__init_replay(struct replay_session *s, const uint64_t *position)
{
        init(s, REPLAY_REPLAY, position);
}

void replay_session__epoch_end(struct replay_session *s, uint8_t vector, uint32_t digest)
{
        struct replay_entry e;
        s->epochs++;
        if (s->mode == REPLAY_RECORD) {
                struct replay_entry out = { .tag = "EPOC", .position = *s->position,
                                            .value = digest, .vector = vector };
                replay_writer__entry(&s->writer, &out);
                return;
        }
        if (!expect(s, "EPOC", &e))
                return;
        if (e.vector != vector)
                stop(s, REPLAY_DIVERGED, "epoch %llu, position %llu: interrupt vector 0x%x, the log has 0x%x",
                     (unsigned long long)s->epochs, (unsigned long long)*s->position, vector, e.vector);
        else if (e.value != digest)
                stop(s, REPLAY_DIVERGED, "epoch %llu, position %llu: register digest %08x, the log has %08x",
                     (unsigned long long)s->epochs, (unsigned long long)*s->position, digest,
                     (unsigned)e.value);
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
