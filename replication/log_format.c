#include "log_format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../vmm/error_message.h"

#define RECORD_VERSION 1

static const char *const tags[] = {
        [LOG_BOOT] = "BOOT", [LOG_MACHINE_STATE] = "MSTA", [LOG_TIME] = "TIME",
        [LOG_WALL] = "WALL", [LOG_EPOCH_END] = "EPOC", [LOG_CHECKPOINT] = "CHKP",
        [LOG_GUEST_END] = "END ", [LOG_IO_COMPLETION] = "IOCP",
};

const char *log_kind__tag(enum log_kind kind)
{
        return tags[kind];
}

int log_kind__from_tag(const char *tag)
{
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
                if (memcmp(tags[i], tag, 4) == 0)
                        return (int)i;
        return -1;
}

bool log_kind__ends_epoch(enum log_kind kind)
{
        return kind == LOG_EPOCH_END || kind == LOG_CHECKPOINT;
}

static void put_blob32(struct state_writer *w, struct log_bytes b)
{
        state_writer__u32(w, (uint32_t)b.length);
        state_writer__bytes(w, b.data, (size_t)b.length);
}

/* A u8 count of fixed-size items, then their bytes. */
static void put_array(struct state_writer *w, struct log_bytes b, unsigned item)
{
        state_writer__u8(w, (uint8_t)(b.length / item));
        state_writer__bytes(w, b.data, (size_t)b.length);
}

static void encode_fields(const struct log_entry *e, struct state_writer *w)
{
        switch (e->kind) {
        case LOG_BOOT:
                put_blob32(w, e->description);
                state_writer__u64(w, e->ram_size);
                put_blob32(w, e->cmdline);
                state_writer__u64(w, e->image.length);
                state_writer__bytes(w, e->image.data, (size_t)e->image.length);
                state_writer__u64(w, e->initrd.length);
                state_writer__bytes(w, e->initrd.data, (size_t)e->initrd.length);
                state_writer__u64(w, e->disk_sectors);
                state_writer__u8(w, e->disk_readonly);
                break;
        case LOG_MACHINE_STATE:
                state_writer__u64(w, e->output_start);
                put_blob32(w, e->output);
                state_writer__bytes(w, e->state.data, (size_t)e->state.length);
                break;
        case LOG_TIME:
        case LOG_WALL:
                state_writer__u64(w, e->value);
                break;
        case LOG_EPOCH_END:
                state_writer__u32(w, e->digest);
                state_writer__u8(w, e->cause);
                state_writer__u8(w, e->vector);
                state_writer__u8(w, e->has_memory_hash);
                state_writer__u64(w, e->memory_hash);
                put_array(w, e->digest_parts, 4);
                put_array(w, e->memory_ranges, 8);
                break;
        case LOG_CHECKPOINT:
                state_writer__u64(w, e->start_position);
                state_writer__u64(w, e->memory_hash);
                put_array(w, e->memory_ranges, 8);
                put_blob32(w, e->output);
                state_writer__bytes(w, e->state.data, (size_t)e->state.length);
                break;
        case LOG_GUEST_END:
                state_writer__u64(w, e->value);
                state_writer__u64(w, e->epochs);
                break;
        case LOG_IO_COMPLETION:
                state_writer__u32(w, e->io_device);
                state_writer__u64(w, e->io_id);
                state_writer__u8(w, e->io_status);
                put_blob32(w, e->io_data);
                break;
        }
}

int log_entry__encode(const struct log_entry *e, struct state_writer *w)
{
        if (e->output.length > UINT32_MAX || e->description.length > UINT32_MAX ||
            e->cmdline.length > UINT32_MAX || e->io_data.length > UINT32_MAX ||
            e->digest_parts.length > 4 * LOG_MAX_DIGEST_PARTS || e->digest_parts.length % 4 ||
            e->memory_ranges.length > 8 * LOG_MAX_MEMORY_RANGES || e->memory_ranges.length % 8)
                return -EOVERFLOW;
        state_writer__begin(w, tags[e->kind], RECORD_VERSION);
        state_writer__u64(w, e->seq);
        state_writer__u64(w, e->position);
        encode_fields(e, w);
        return state_writer__end(w);
}

static struct log_bytes take_blob(struct state_reader *r, uint64_t length, const char *what)
{
        struct log_bytes b = { .length = length };
        if (length > state_reader__left(r)) {
                state_reader__fail(r, "%s of %llu bytes runs past its record", what,
                                   (unsigned long long)length);
                b.length = 0;
                return b;
        }
        b.data = state_reader__take(r, (size_t)length);
        return b;
}

static struct log_bytes take_rest(struct state_reader *r)
{
        return take_blob(r, state_reader__left(r), "the rest");
}

static struct log_bytes take_array(struct state_reader *r, unsigned item, unsigned max,
                                   const char *what)
{
        uint8_t count = state_reader__u8(r);
        if (count > max) {
                state_reader__fail(r, "%u %s, at most %u", count, what, max);
                return (struct log_bytes){ 0 };
        }
        return take_blob(r, (uint64_t)count * item, what);
}

static void decode_epoch_end(struct state_reader *r, struct log_entry *e)
{
        e->digest = state_reader__u32(r);
        e->cause = state_reader__u8(r);
        e->vector = state_reader__u8(r);
        e->has_memory_hash = state_reader__bool(r);
        e->memory_hash = state_reader__u64(r);
        e->digest_parts = take_array(r, 4, LOG_MAX_DIGEST_PARTS, "EPOC digest parts");
        e->memory_ranges = take_array(r, 8, LOG_MAX_MEMORY_RANGES, "EPOC memory ranges");
        if (state_reader__ok(r) && e->memory_ranges.length && !e->has_memory_hash)
                state_reader__fail(r, "EPOC has memory ranges without a memory hash");
        if (e->cause != EPOCH_INTERRUPT && e->cause != EPOCH_TIMER)
                state_reader__fail(r, "EPOC cause %u is neither an interrupt nor the timer", e->cause);
        else if (e->cause == EPOCH_TIMER && e->vector)
                state_reader__fail(r, "EPOC by the epoch timer names vector 0x%x", e->vector);
}

static void decode_fields(struct state_reader *r, struct log_entry *e)
{
        switch (e->kind) {
        case LOG_BOOT:
                e->description = take_blob(r, state_reader__u32(r), "BOOT description");
                e->ram_size = state_reader__u64(r);
                e->cmdline = take_blob(r, state_reader__u32(r), "BOOT command line");
                e->image = take_blob(r, state_reader__u64(r), "BOOT image");
                e->initrd = take_blob(r, state_reader__u64(r), "BOOT initrd");
                e->disk_sectors = state_reader__u64(r);
                e->disk_readonly = state_reader__bool(r);
                break;
        case LOG_MACHINE_STATE:
                e->output_start = state_reader__u64(r);
                e->output = take_blob(r, state_reader__u32(r), "MSTA output");
                e->state = take_rest(r);
                break;
        case LOG_TIME:
        case LOG_WALL:
                e->value = state_reader__u64(r);
                break;
        case LOG_EPOCH_END:
                decode_epoch_end(r, e);
                break;
        case LOG_CHECKPOINT:
                e->start_position = state_reader__u64(r);
                e->memory_hash = state_reader__u64(r);
                e->has_memory_hash = true;
                e->memory_ranges = take_array(r, 8, LOG_MAX_MEMORY_RANGES, "CHKP memory ranges");
                e->output = take_blob(r, state_reader__u32(r), "CHKP output");
                e->state = take_rest(r);
                if (state_reader__ok(r) && e->start_position > e->position)
                        state_reader__fail(r, "CHKP starts at position %llu, after its end %llu",
                                           (unsigned long long)e->start_position,
                                           (unsigned long long)e->position);
                break;
        case LOG_GUEST_END:
                e->value = state_reader__u64(r);
                e->epochs = state_reader__u64(r);
                break;
        case LOG_IO_COMPLETION:
                e->io_device = state_reader__u32(r);
                e->io_id = state_reader__u64(r);
                e->io_status = state_reader__u8(r);
                e->io_data = take_blob(r, state_reader__u32(r), "IOCP data");
                if (state_reader__ok(r) && e->io_status > 2)
                        state_reader__fail(r, "IOCP status %u is not a virtio-blk status", e->io_status);
                break;
        }
}

int log_entry__decode(const uint8_t *record, size_t length, struct log_entry *e,
                      char *why, size_t why_size)
{
        memset(e, 0, sizeof(*e));
        if (length < STATE_RECORD_HEADER_SIZE)
                return error_message(why, why_size, "record of %zu bytes has no header", length);
        char tag[5] = { 0 };
        memcpy(tag, record, 4);
        int kind = log_kind__from_tag(tag);
        if (kind < 0)
                return error_message(why, why_size, "unknown record tag '%.4s'", tag);
        e->kind = (enum log_kind)kind;
        struct state_reader r;
        state_reader__init(&r, record, length);
        if (state_reader__begin(&r, tag, RECORD_VERSION))
                return error_message(why, why_size, "%s", r.error);
        e->seq = state_reader__u64(&r);
        e->position = state_reader__u64(&r);
        decode_fields(&r, e);
        if (state_reader__end(&r))
                return error_message(why, why_size, "%s record: %s", tags[kind], r.error);
        return 0;
}

void log_format__header(uint8_t out[LOG_HEADER_SIZE])
{
        memcpy(out, LOG_MAGIC, 8); /* with its NUL */
        for (unsigned i = 0; i < 4; i++)
                out[8 + i] = (uint8_t)(LOG_FORMAT_VERSION >> (8 * i));
}

int log_format__check_header(const uint8_t *bytes, char *why, size_t why_size)
{
        if (memcmp(bytes, LOG_MAGIC, 8) != 0)
                return error_message(why, why_size, "not an ftvmm log (bad magic)");
        uint32_t version = (uint32_t)bytes[8] | (uint32_t)bytes[9] << 8 |
                           (uint32_t)bytes[10] << 16 | (uint32_t)bytes[11] << 24;
        if (version != LOG_FORMAT_VERSION)
                return error_message(why, why_size, "log format version %u, this build reads %u",
                                     version, LOG_FORMAT_VERSION);
        return 0;
}
