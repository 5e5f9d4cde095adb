#include "replay_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../vmm/error_message.h"

#define MAX_LOG_SIZE (16ull << 30)

/* Writes what is buffered and empties the buffer. */
static void flush_buffer(struct replay_writer *w)
{
        if (!w->failed && w->buf.length &&
            fwrite(w->buf.buf, 1, w->buf.length, w->file) != w->buf.length)
                w->failed = true;
        w->buf.length = 0;
}

int replay_writer__open(struct replay_writer *w, const char *path,
                        const struct replay_boot *boot, char *err, size_t err_size)
{
        memset(w, 0, sizeof(*w));
        w->path = path;
        w->file = fopen(path, "wb");
        if (!w->file)
                return error_message(err, err_size, "%s: %s", path, strerror(errno));
        state_writer__init(&w->buf);
        state_writer__bytes(&w->buf, REPLAY_LOG_MAGIC, 8);
        state_writer__u32(&w->buf, REPLAY_LOG_VERSION);
        state_writer__begin(&w->buf, "BOOT", 1);
        state_writer__u64(&w->buf, boot->ram_size);
        uint32_t cmdline_len = (uint32_t)strlen(boot->cmdline);
        state_writer__u32(&w->buf, cmdline_len);
        state_writer__bytes(&w->buf, boot->cmdline, cmdline_len);
        state_writer__u64(&w->buf, boot->image_size);
        state_writer__bytes(&w->buf, boot->image, boot->image_size);
        if (state_writer__end(&w->buf))
                w->failed = true;
        flush_buffer(w);
        return 0;
}

void replay_writer__entry(struct replay_writer *w, const struct replay_entry *e)
{
        state_writer__begin(&w->buf, e->tag, 1);
        state_writer__u64(&w->buf, e->position);
        state_writer__u64(&w->buf, e->value);
        if (strcmp(e->tag, "EPOC") == 0) {
                state_writer__u8(&w->buf, e->cause);
                state_writer__u8(&w->buf, e->vector);
        }
        if (strcmp(e->tag, "CHKP") == 0) {
                state_writer__u32(&w->buf, e->output_length);
                state_writer__bytes(&w->buf, e->output, e->output_length);
                state_writer__bytes(&w->buf, e->state, e->state_length);
        }
        if (strcmp(e->tag, "END ") == 0)
                state_writer__u64(&w->buf, e->epochs);
        if (state_writer__end(&w->buf))
                w->failed = true;
        /* Batch the small records; a crash loses at most this much. */
        if (w->buf.length >= 64 * 1024)
                flush_buffer(w);
}

int replay_writer__close(struct replay_writer *w, char *err, size_t err_size)
{
        flush_buffer(w);
        int rc = (fclose(w->file) != 0 || w->failed) ? -1 : 0;
        state_writer__release(&w->buf);
        if (rc)
                return error_message(err, err_size, "%s: writing the log failed", w->path);
        return 0;
}

static int read_file(const char *path, uint8_t **buf, size_t *length, char *err, size_t err_size)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return error_message(err, err_size, "%s: %s", path, strerror(errno));
        struct stat st;
        if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_LOG_SIZE) {
                fclose(f);
                return error_message(err, err_size, "%s: not a regular file of a plausible size", path);
        }
        *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
        *length = *buf ? fread(*buf, 1, (size_t)st.st_size, f) : 0;
        fclose(f);
        if (!*buf || *length != (size_t)st.st_size)
                return error_message(err, err_size, "%s: read failed", path);
        return 0;
}

static int parse_header(struct replay_reader *rd, const char *path, struct replay_boot *boot,
                        char *err, size_t err_size);

static int read_boot(struct replay_reader *rd, struct replay_boot *boot)
{
        struct state_reader *r = &rd->r;
        if (state_reader__begin(r, "BOOT", 1))
                return -1;
        boot->ram_size = state_reader__u64(r);
        uint32_t cmdline_len = state_reader__u32(r);
        if (cmdline_len > r->payload_end - r->pos) {
                state_reader__fail(r, "BOOT command line of %u bytes runs past its record", cmdline_len);
                return -1;
        }
        rd->cmdline_copy = calloc(1, (size_t)cmdline_len + 1);
        if (!rd->cmdline_copy) {
                state_reader__fail(r, "out of memory for a %u-byte command line", cmdline_len);
                return -1;
        }
        state_reader__bytes(r, rd->cmdline_copy, cmdline_len);
        boot->cmdline = rd->cmdline_copy;
        boot->image_size = state_reader__u64(r);
        if (boot->image_size != r->payload_end - r->pos) {
                state_reader__fail(r, "BOOT image size %llu does not match its record",
                                   (unsigned long long)boot->image_size);
                return -1;
        }
        boot->image = r->buf + r->pos;
        r->pos = r->payload_end;
        return state_reader__end(r);
}

int replay_reader__open(struct replay_reader *rd, const char *path,
                        struct replay_boot *boot, char *err, size_t err_size)
{
        memset(rd, 0, sizeof(*rd));
        if (read_file(path, &rd->buf, &rd->length, err, err_size))
                return -1;
        return parse_header(rd, path, boot, err, err_size);
}

int replay_reader__open_bytes(struct replay_reader *rd, const uint8_t *bytes, size_t length,
                              const char *name, struct replay_boot *boot,
                              char *err, size_t err_size)
{
        memset(rd, 0, sizeof(*rd));
        rd->buf = malloc(length ? length : 1);
        if (!rd->buf)
                return error_message(err, err_size, "%s: out of memory", name);
        memcpy(rd->buf, bytes, length);
        rd->length = length;
        return parse_header(rd, name, boot, err, err_size);
}

static int parse_header(struct replay_reader *rd, const char *path, struct replay_boot *boot,
                        char *err, size_t err_size)
{
        if (rd->length < REPLAY_LOG_HEADER_SIZE || memcmp(rd->buf, REPLAY_LOG_MAGIC, 8) != 0)
                return error_message(err, err_size, "%s: not an ftvmm log (bad magic)", path);
        uint32_t version;
        memcpy(&version, rd->buf + 8, 4);
        if (version != REPLAY_LOG_VERSION)
                return error_message(err, err_size, "%s: log format version %u, this build reads %u",
                            path, version, REPLAY_LOG_VERSION);
        state_reader__init(&rd->r, rd->buf, rd->length);
        rd->r.pos = REPLAY_LOG_HEADER_SIZE;
        if (read_boot(rd, boot))
                return error_message(err, err_size, "%s: %s", path, rd->r.error);
        return 0;
}

static bool tag_is(const uint8_t *p, const char *tag)
{
        return memcmp(p, tag, 4) == 0;
}

static void read_epoch_end(struct state_reader *r, struct replay_entry *e)
{
        e->cause = state_reader__u8(r);
        e->vector = state_reader__u8(r);
        if (e->cause != EPOCH_INTERRUPT && e->cause != EPOCH_TIMER)
                state_reader__fail(r, "EPOC cause %u is neither an interrupt nor the timer", e->cause);
}

static void read_checkpoint(struct state_reader *r, struct replay_entry *e)
{
        e->output_length = state_reader__u32(r);
        if (e->output_length > r->payload_end - r->pos) {
                state_reader__fail(r, "CHKP output of %u bytes runs past its record", e->output_length);
                return;
        }
        e->output = r->buf + r->pos;
        r->pos += e->output_length;
        e->state = r->buf + r->pos;
        e->state_length = r->payload_end - r->pos;
        r->pos = r->payload_end;
}

bool replay_reader__next(struct replay_reader *rd, struct replay_entry *e)
{
        struct state_reader *r = &rd->r;
        size_t left = rd->length - r->pos;
        if (left == 0)
                return false;
        if (left < DEVICE_STATE_HEADER_SIZE) {
                rd->cut_short = true;
                return false;
        }
        const uint8_t *p = rd->buf + r->pos;
        static const char *const tags[] = { "TIME", "WALL", "EPOC", "CHKP", "END " };
        const char *tag = NULL;
        for (unsigned i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
                if (tag_is(p, tags[i]))
                        tag = tags[i];
        if (!tag) {
                snprintf(rd->problem, sizeof(rd->problem), "unknown record at byte %zu", r->pos);
                return false;
        }
        size_t start = r->pos;
        if (state_reader__begin(r, tag, 1)) {
                /* A record that runs past the end of the file was cut short. */
                rd->cut_short = strstr(r->error, "truncated") != NULL;
                snprintf(rd->problem, sizeof(rd->problem), "%s at byte %zu", r->error, start);
                return false;
        }
        memset(e, 0, sizeof(*e));
        memcpy(e->tag, tag, 5);
        e->position = state_reader__u64(r);
        e->value = state_reader__u64(r);
        if (tag_is(p, "EPOC"))
                read_epoch_end(r, e);
        if (tag_is(p, "CHKP"))
                read_checkpoint(r, e);
        if (tag_is(p, "END "))
                e->epochs = state_reader__u64(r);
        if (state_reader__end(r)) {
                snprintf(rd->problem, sizeof(rd->problem), "%s at byte %zu", r->error, start);
                return false;
        }
        rd->entries++;
        return true;
}

static bool ends_epoch(const struct replay_entry *e)
{
        return strcmp(e->tag, "EPOC") == 0 || strcmp(e->tag, "CHKP") == 0 ||
               strcmp(e->tag, "END ") == 0;
}

bool replay_reader__peek_epoch_end(struct replay_reader *rd, struct replay_entry *e)
{
        struct replay_reader saved = *rd;
        bool found = false;
        while (!found && replay_reader__next(rd, e))
                found = ends_epoch(e);
        /* Only the read position moves; buffers are shared, not copied. */
        rd->r = saved.r;
        rd->entries = saved.entries;
        rd->cut_short = saved.cut_short;
        memcpy(rd->problem, saved.problem, sizeof(rd->problem));
        return found;
}

void replay_reader__skip_to_epoch_end(struct replay_reader *rd)
{
        struct replay_entry e;
        for (;;) {
                struct state_reader before = rd->r;
                uint64_t entries = rd->entries;
                if (!replay_reader__next(rd, &e))
                        return;
                if (ends_epoch(&e)) {
                        rd->r = before;
                        rd->entries = entries;
                        return;
                }
        }
}

void replay_reader__close(struct replay_reader *rd)
{
        free(rd->buf);
        free(rd->cmdline_copy);
        memset(rd, 0, sizeof(*rd));
}
