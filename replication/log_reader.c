#include "log_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void log_reader__init(struct log_reader *rd, size_t max_record)
{
        memset(rd, 0, sizeof(*rd));
        rd->max_record = max_record;
        rd->next_seq = 1;
}

void log_reader__release(struct log_reader *rd)
{
        free(rd->buf);
        rd->buf = NULL;
        rd->start = rd->end = rd->capacity = 0;
}

uint8_t *log_reader__space(struct log_reader *rd, size_t min_room, size_t *room)
{
        if (rd->start) { /* keep unread bytes at the front */
                memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
                rd->end -= rd->start;
                rd->start = 0;
        }
        if (!rd->buf || rd->capacity - rd->end < min_room) {
                size_t cap = rd->capacity ? rd->capacity : 64 * 1024;
                while (cap - rd->end < min_room)
                        cap *= 2;
                uint8_t *grown = realloc(rd->buf, cap);
                if (!grown)
                        return NULL;
                rd->buf = grown;
                rd->capacity = cap;
        }
        *room = rd->capacity - rd->end;
        return rd->buf + rd->end;
}

void log_reader__commit(struct log_reader *rd, size_t n)
{
        rd->end += n;
}

int log_reader__feed(struct log_reader *rd, const void *bytes, size_t n)
{
        size_t room;
        uint8_t *at = log_reader__space(rd, n, &room);
        if (!at)
                return -ENOMEM;
        memcpy(at, bytes, n);
        log_reader__commit(rd, n);
        return 0;
}

size_t log_reader__pending(const struct log_reader *rd)
{
        return rd->end - rd->start;
}

bool log_reader__ended(const struct log_reader *rd)
{
        return rd->order == LOG_ORDER_ENDED;
}

static enum log_read corrupt(struct log_reader *rd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static enum log_read corrupt(struct log_reader *rd, const char *fmt, ...)
{
        char what[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(rd->problem, sizeof(rd->problem), "at byte %llu: %s",
                 (unsigned long long)rd->offset, what);
        rd->corrupt = true;
        return LOG_READ_CORRUPT;
}

/* The log's header is the stream itself, not a record at an offset. */
static enum log_read not_a_log(struct log_reader *rd, const char *why)
{
        snprintf(rd->problem, sizeof(rd->problem), "%s", why);
        rd->corrupt = true;
        return LOG_READ_CORRUPT;
}

static enum log_read read_header(struct log_reader *rd)
{
        size_t pending = log_reader__pending(rd);
        if (!pending)
                return LOG_READ_NEED_MORE;
        /* A stream that cannot become a log is refused as soon as it
         * differs from the magic, however short. */
        size_t magic = pending < sizeof(LOG_MAGIC) ? pending : sizeof(LOG_MAGIC);
        if (memcmp(rd->buf + rd->start, LOG_MAGIC, magic) != 0)
                return not_a_log(rd, "not an ftvmm log (bad magic)");
        if (pending < LOG_HEADER_SIZE)
                return LOG_READ_NEED_MORE;
        char why[128];
        if (log_format__check_header(rd->buf + rd->start, why, sizeof(why)))
                return not_a_log(rd, why);
        rd->start += LOG_HEADER_SIZE;
        rd->offset += LOG_HEADER_SIZE;
        rd->header_done = true;
        return LOG_READ_RECORD;
}

/* The grammar of log_format.h, one record at a time. */
static enum log_read check_order(struct log_reader *rd, const struct log_entry *e)
{
        const char *tag = log_kind__tag(e->kind);
        /* A backup that joins a running primary starts from its machine
         * state, in the middle of the primary's numbering. */
        if (rd->order == LOG_ORDER_START && e->seq)
                rd->next_seq = e->seq;
        if (e->seq != rd->next_seq)
                return corrupt(rd, "%s record has sequence number %llu, expected %llu",
                               tag, (unsigned long long)e->seq, (unsigned long long)rd->next_seq);
        bool starts = e->kind == LOG_BOOT || e->kind == LOG_MACHINE_STATE;
        if (rd->order == LOG_ORDER_ENDED)
                return corrupt(rd, "%s record after the END record", tag);
        if (starts != (rd->order == LOG_ORDER_START))
                return corrupt(rd, starts ? "%s record inside the log" : "the log begins with %s, not BOOT or MSTA",
                               tag);
        if (!starts && e->position < rd->last_position)
                return corrupt(rd, "%s record at position %llu, after a record at %llu", tag,
                               (unsigned long long)e->position,
                               (unsigned long long)rd->last_position);
        if (e->kind == LOG_CHECKPOINT && e->start_position != rd->epoch_start)
                return corrupt(rd, "CHKP names its epoch's start as position %llu; the epoch began at %llu",
                               (unsigned long long)e->start_position,
                               (unsigned long long)rd->epoch_start);
        rd->next_seq++;
        rd->last_position = e->position;
        if (starts || log_kind__ends_epoch(e->kind))
                rd->epoch_start = e->position;
        rd->order = e->kind == LOG_GUEST_END ? LOG_ORDER_ENDED : LOG_ORDER_EPOCHS;
        return LOG_READ_RECORD;
}

enum log_read log_reader__next(struct log_reader *rd, struct log_entry *e)
{
        if (rd->corrupt)
                return LOG_READ_CORRUPT;
        if (!rd->header_done) {
                enum log_read got = read_header(rd);
                if (got != LOG_READ_RECORD)
                        return got;
        }
        const uint8_t *at = rd->buf + rd->start;
        size_t available = log_reader__pending(rd);
        struct state_record_header h;
        char why[160];
        enum state_record_check check = state_record__check(at, available, &h, why, sizeof(why));
        if (check == STATE_RECORD_CORRUPT)
                return corrupt(rd, "%s", why);
        if (available >= STATE_RECORD_HEADER_SIZE) {
                if (log_kind__from_tag(h.tag) < 0)
                        return corrupt(rd, "unknown record tag '%s'", h.tag);
                if (h.payload_length > rd->max_record)
                        return corrupt(rd, "%s record of %u bytes exceeds the %zu-byte limit",
                                       h.tag, h.payload_length, rd->max_record);
        }
        if (check == STATE_RECORD_INCOMPLETE)
                return LOG_READ_NEED_MORE;
        size_t length = STATE_RECORD_OVERHEAD + h.payload_length;
        if (log_entry__decode(at, length, e, why, sizeof(why)))
                return corrupt(rd, "%s", why);
        enum log_read verdict = check_order(rd, e);
        if (verdict != LOG_READ_RECORD)
                return verdict;
        rd->start += length;
        rd->offset += length;
        return LOG_READ_RECORD;
}
