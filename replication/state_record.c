#include "state_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HEADER_CRC_AT 12

void state_writer__init(struct state_writer *w)
{
        memset(w, 0, sizeof(*w));
}

void state_writer__release(struct state_writer *w)
{
        free(w->buf);
        state_writer__init(w);
}

uint8_t *state_writer__reserve(struct state_writer *w, size_t n)
{
        if (w->failed)
                return NULL;
        if (n > SIZE_MAX - w->length) {
                w->failed = true;
                return NULL;
        }
        if (w->length + n > w->capacity) {
                size_t cap = w->capacity ? w->capacity : 256;
                while (cap < w->length + n)
                        cap = cap > SIZE_MAX / 2 ? w->length + n : cap * 2;
                uint8_t *grown = realloc(w->buf, cap);
                if (!grown) {
                        w->failed = true;
                        return NULL;
                }
                w->buf = grown;
                w->capacity = cap;
        }
        return w->buf + w->length;
}

void state_writer__advance(struct state_writer *w, size_t n)
{
        if (!w->failed)
                w->length += n;
}

static void put(struct state_writer *w, const void *p, size_t n)
{
        uint8_t *at = state_writer__reserve(w, n);
        if (!at)
                return;
        if (n)
                memcpy(at, p, n);
        w->length += n;
}

static void put_le(struct state_writer *w, uint64_t v, unsigned bytes)
{
        uint8_t b[8];
        for (unsigned i = 0; i < bytes; i++)
                b[i] = (uint8_t)(v >> (8 * i));
        put(w, b, bytes);
}

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; i++)
                v |= (uint64_t)p[i] << (8 * i);
        return v;
}

static void set_le(uint8_t *p, uint64_t v, unsigned bytes)
{
        for (unsigned i = 0; i < bytes; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

void state_writer__begin(struct state_writer *w, const char tag[4],
                         uint16_t version)
{
        w->record_start = w->length;
        put(w, tag, 4);
        put_le(w, version, 2);
        put_le(w, 0, 2);
        put_le(w, 0, 4); /* payload length and header CRC, set by __end */
        put_le(w, 0, 4);
}

void state_writer__u8(struct state_writer *w, uint8_t v) { put_le(w, v, 1); }
void state_writer__u16(struct state_writer *w, uint16_t v) { put_le(w, v, 2); }
void state_writer__u32(struct state_writer *w, uint32_t v) { put_le(w, v, 4); }
void state_writer__u64(struct state_writer *w, uint64_t v) { put_le(w, v, 8); }
void state_writer__bool(struct state_writer *w, bool v) { put_le(w, v, 1); }

void state_writer__bytes(struct state_writer *w, const void *p, size_t n)
{
        put(w, p, n);
}

int state_writer__end(struct state_writer *w)
{
        if (w->failed)
                return -ENOMEM;
        uint8_t *h = w->buf + w->record_start;
        size_t payload = w->length - w->record_start - STATE_RECORD_HEADER_SIZE;
        if (payload > UINT32_MAX)
                return -EOVERFLOW;
        set_le(h + 8, payload, 4);
        set_le(h + HEADER_CRC_AT, crc32_z(0L, h, HEADER_CRC_AT), 4);
        uLong crc = crc32_z(0L, h, w->length - w->record_start);
        put_le(w, crc, 4);
        return w->failed ? -ENOMEM : 0;
}

static void printable_tag(char out[5], const uint8_t *tag)
{
        for (int i = 0; i < 4; i++)
                out[i] = (tag[i] >= 0x20 && tag[i] < 0x7f) ? (char)tag[i] : '?';
        out[4] = '\0';
}

static enum state_record_check corrupt(char *why, size_t why_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum state_record_check corrupt(char *why, size_t why_size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
        return STATE_RECORD_CORRUPT;
}

enum state_record_check state_record__check(const uint8_t *buf, size_t available,
                                            struct state_record_header *h,
                                            char *why, size_t why_size)
{
        if (available < STATE_RECORD_HEADER_SIZE)
                return STATE_RECORD_INCOMPLETE;
        char tag[5];
        printable_tag(tag, buf);
        uint32_t stored = (uint32_t)get_le(buf + HEADER_CRC_AT, 4);
        if (stored != (uint32_t)crc32_z(0L, buf, HEADER_CRC_AT))
                return corrupt(why, why_size, "record header corrupt (tag '%s'): header crc32 %08x, expected %08x",
                               tag, (unsigned)crc32_z(0L, buf, HEADER_CRC_AT), stored);
        if (get_le(buf + 6, 2) != 0)
                return corrupt(why, why_size, "%s record has unknown flags 0x%llx", tag,
                               (unsigned long long)get_le(buf + 6, 2));
        memcpy(h->tag, tag, 5);
        h->version = (uint16_t)get_le(buf + 4, 2);
        h->payload_length = (uint32_t)get_le(buf + 8, 4);
        size_t body = STATE_RECORD_HEADER_SIZE + (size_t)h->payload_length;
        if (available - STATE_RECORD_HEADER_SIZE < (size_t)h->payload_length + STATE_RECORD_TRAILER_SIZE)
                return STATE_RECORD_INCOMPLETE;
        stored = (uint32_t)get_le(buf + body, 4);
        uint32_t computed = (uint32_t)crc32_z(0L, buf, body);
        if (stored != computed)
                return corrupt(why, why_size, "%s record corrupt: crc32 %08x, expected %08x",
                               tag, computed, stored);
        return STATE_RECORD_COMPLETE;
}

void state_reader__init(struct state_reader *r, const void *buf, size_t length)
{
        memset(r, 0, sizeof(*r));
        r->buf = buf;
        r->length = length;
}

void state_reader__fail(struct state_reader *r, const char *fmt, ...)
{
        if (r->error[0])
                return; /* the first error is the one worth reporting */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof(r->error), fmt, ap);
        va_end(ap);
}

bool state_reader__ok(const struct state_reader *r)
{
        return r->error[0] == '\0';
}

int state_reader__begin(struct state_reader *r, const char tag[4],
                        uint16_t version)
{
        /* Callers may place pos themselves (past a file header). */
        size_t left = r->pos <= r->length ? r->length - r->pos : 0;
        const uint8_t *h = r->buf + (r->pos <= r->length ? r->pos : r->length);
        struct state_record_header header;
        char why[128];
        switch (state_record__check(h, left, &header, why, sizeof(why))) {
        case STATE_RECORD_INCOMPLETE:
                r->truncated = true;
                state_reader__fail(r, "%.4s state truncated: %zu bytes left, the record needs more",
                                   tag, left);
                return -EINVAL;
        case STATE_RECORD_CORRUPT:
                state_reader__fail(r, "%.4s state corrupt: %s", tag, why);
                return -EINVAL;
        case STATE_RECORD_COMPLETE:
                break;
        }
        if (memcmp(header.tag, tag, 4) != 0) {
                state_reader__fail(r, "expected %.4s state, found tag '%s'", tag, header.tag);
                return -EINVAL;
        }
        if (header.version != version) {
                state_reader__fail(r, "%.4s state version %u, this build reads %u",
                                   tag, header.version, version);
                return -EINVAL;
        }
        r->pos += STATE_RECORD_HEADER_SIZE;
        r->payload_end = r->pos + header.payload_length;
        return 0;
}

size_t state_reader__left(const struct state_reader *r)
{
        return r->pos <= r->payload_end ? r->payload_end - r->pos : 0;
}

const uint8_t *state_reader__take(struct state_reader *r, size_t n)
{
        if (!state_reader__ok(r))
                return NULL;
        if (n > state_reader__left(r)) {
                state_reader__fail(r, "state payload too short at byte %zu", r->pos);
                return NULL;
        }
        const uint8_t *p = r->buf + r->pos;
        r->pos += n;
        return p;
}

static uint64_t take_le(struct state_reader *r, unsigned bytes)
{
        const uint8_t *p = state_reader__take(r, bytes);
        return p ? get_le(p, bytes) : 0;
}

uint8_t state_reader__u8(struct state_reader *r) { return (uint8_t)take_le(r, 1); }
uint16_t state_reader__u16(struct state_reader *r) { return (uint16_t)take_le(r, 2); }
uint32_t state_reader__u32(struct state_reader *r) { return (uint32_t)take_le(r, 4); }
uint64_t state_reader__u64(struct state_reader *r) { return take_le(r, 8); }

bool state_reader__bool(struct state_reader *r)
{
        uint8_t v = state_reader__u8(r);
        if (v > 1)
                state_reader__fail(r, "boolean field holds %u", v);
        return v == 1;
}

void state_reader__bytes(struct state_reader *r, void *p, size_t n)
{
        const uint8_t *src = state_reader__take(r, n);
        if (src && n)
                memcpy(p, src, n);
        else if (n)
                memset(p, 0, n);
}

int state_reader__end(struct state_reader *r)
{
        if (state_reader__ok(r) && r->pos != r->payload_end)
                state_reader__fail(r, "state payload has %zu unread bytes", state_reader__left(r));
        if (!state_reader__ok(r))
                return -EINVAL;
        r->pos = r->payload_end + STATE_RECORD_TRAILER_SIZE;
        return 0;
}
