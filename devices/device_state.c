#include "device_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void state_writer__init(struct state_writer *w)
{
        memset(w, 0, sizeof(*w));
}

void state_writer__release(struct state_writer *w)
{
        free(w->buf);
        state_writer__init(w);
}

static void put(struct state_writer *w, const void *p, size_t n)
{
        if (w->failed)
                return;
        if (w->length + n > w->capacity) {
                size_t cap = w->capacity ? w->capacity : 256;
                while (cap < w->length + n)
                        cap *= 2;
                uint8_t *grown = realloc(w->buf, cap);
                if (!grown) {
                        w->failed = true;
                        return;
                }
                w->buf = grown;
                w->capacity = cap;
        }
        memcpy(w->buf + w->length, p, n);
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

void state_writer__begin(struct state_writer *w, const char tag[4],
                         uint16_t version)
{
        w->record_start = w->length;
        put(w, tag, 4);
        put_le(w, version, 2);
        put_le(w, 0, 2);
        put_le(w, 0, 4); /* payload length, patched by __end */
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
        size_t payload = w->length - w->record_start - DEVICE_STATE_HEADER_SIZE;
        if (payload > UINT32_MAX)
                return -EOVERFLOW;
        for (unsigned i = 0; i < 4; i++)
                w->buf[w->record_start + 8 + i] = (uint8_t)(payload >> (8 * i));
        uLong crc = crc32_z(0L, w->buf + w->record_start, w->length - w->record_start);
        put_le(w, crc, 4);
        return w->failed ? -ENOMEM : 0;
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

static void printable_tag(char out[5], const uint8_t *tag)
{
        for (int i = 0; i < 4; i++)
                out[i] = (tag[i] >= 0x20 && tag[i] < 0x7f) ? (char)tag[i] : '?';
        out[4] = '\0';
}

int state_reader__begin(struct state_reader *r, const char tag[4],
                        uint16_t version)
{
        size_t start = r->pos;
        /* Callers may place pos themselves (past a file header). */
        size_t left = start <= r->length ? r->length - start : 0;

        if (left < DEVICE_STATE_HEADER_SIZE + DEVICE_STATE_TRAILER_SIZE) {
                state_reader__fail(r, "%.4s state truncated: %zu bytes, header needs %d",
                                   tag, left,
                                   DEVICE_STATE_HEADER_SIZE + DEVICE_STATE_TRAILER_SIZE);
                return -EINVAL;
        }
        const uint8_t *h = r->buf + start;
        if (memcmp(h, tag, 4) != 0) {
                char found[5];
                printable_tag(found, h);
                state_reader__fail(r, "expected %.4s state, found tag '%s'", tag, found);
                return -EINVAL;
        }
        uint16_t found_version = (uint16_t)get_le(h + 4, 2);
        if (found_version != version) {
                state_reader__fail(r, "%.4s state version %u, this build reads %u",
                                   tag, found_version, version);
                return -EINVAL;
        }
        uint64_t payload = get_le(h + 8, 4);
        if (payload > left - DEVICE_STATE_HEADER_SIZE - DEVICE_STATE_TRAILER_SIZE) {
                state_reader__fail(r, "%.4s state truncated: payload of %llu bytes, %zu present",
                                   tag, (unsigned long long)payload,
                                   left - DEVICE_STATE_HEADER_SIZE - DEVICE_STATE_TRAILER_SIZE);
                return -EINVAL;
        }
        size_t body = DEVICE_STATE_HEADER_SIZE + (size_t)payload;
        uint32_t stored = (uint32_t)get_le(h + body, 4);
        uint32_t computed = (uint32_t)crc32_z(0L, h, body);
        if (stored != computed) {
                state_reader__fail(r, "%.4s state corrupt: crc32 %08x, expected %08x",
                                   tag, computed, stored);
                return -EINVAL;
        }
        r->pos = start + DEVICE_STATE_HEADER_SIZE;
        r->payload_end = r->pos + (size_t)payload;
        return 0;
}

static const uint8_t *take(struct state_reader *r, size_t n)
{
        if (!state_reader__ok(r))
                return NULL;
        if (n > r->payload_end - r->pos) {
                state_reader__fail(r, "state payload too short at byte %zu",
                                   r->pos);
                return NULL;
        }
        const uint8_t *p = r->buf + r->pos;
        r->pos += n;
        return p;
}

static uint64_t take_le(struct state_reader *r, unsigned bytes)
{
        const uint8_t *p = take(r, bytes);
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
        const uint8_t *src = take(r, n);
        if (src)
                memcpy(p, src, n);
        else
                memset(p, 0, n);
}

int state_reader__end(struct state_reader *r)
{
        if (state_reader__ok(r) && r->pos != r->payload_end)
                state_reader__fail(r, "state payload has %zu unread bytes",
                                   r->payload_end - r->pos);
        if (!state_reader__ok(r))
                return -EINVAL;
        r->pos = r->payload_end + DEVICE_STATE_TRAILER_SIZE;
        return 0;
}
