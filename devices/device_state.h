/* Serialised device state: one self-describing, checksummed record per device.
 *
 * Layout (little endian):
 *   tag[4]  version:u16  reserved:u16  payload_length:u32  payload  crc32:u32
 * The CRC (zlib's crc32) covers everything before it. A device's save writes
 * its fields between state_writer__begin and __end; its load reads them back
 * between state_reader__begin and __end, which reject a wrong tag or version,
 * a short buffer, a bad CRC and a payload not consumed exactly. Readers never
 * read past the buffer: a short read sets an error and returns zero. */
#ifndef FTVMM_DEVICE_STATE_H
#define FTVMM_DEVICE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVICE_STATE_HEADER_SIZE 12
#define DEVICE_STATE_TRAILER_SIZE 4

struct state_writer {
        uint8_t *buf;
        size_t length;
        size_t capacity;
        size_t record_start; /* offset of the open record's header */
        bool failed;         /* allocation failed; the buffer is unusable */
};

void state_writer__init(struct state_writer *w);
void state_writer__release(struct state_writer *w);
void state_writer__begin(struct state_writer *w, const char tag[4],
                         uint16_t version);
void state_writer__u8(struct state_writer *w, uint8_t v);
void state_writer__u16(struct state_writer *w, uint16_t v);
void state_writer__u32(struct state_writer *w, uint32_t v);
void state_writer__u64(struct state_writer *w, uint64_t v);
void state_writer__bool(struct state_writer *w, bool v);
void state_writer__bytes(struct state_writer *w, const void *p, size_t n);
/* Returns 0, or -ENOMEM if any write in the record failed. */
int state_writer__end(struct state_writer *w);

struct state_reader {
        const uint8_t *buf;
        size_t length;
        size_t pos;
        size_t payload_end;
        char error[128]; /* first problem found, empty while none */
};

void state_reader__init(struct state_reader *r, const void *buf, size_t length);
/* Returns 0 or -EINVAL; the reason is in r->error. */
int state_reader__begin(struct state_reader *r, const char tag[4],
                        uint16_t version);
uint8_t state_reader__u8(struct state_reader *r);
uint16_t state_reader__u16(struct state_reader *r);
uint32_t state_reader__u32(struct state_reader *r);
uint64_t state_reader__u64(struct state_reader *r);
bool state_reader__bool(struct state_reader *r);
void state_reader__bytes(struct state_reader *r, void *p, size_t n);
/* Record a semantic error (a field out of range) found by the device. */
void state_reader__fail(struct state_reader *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
bool state_reader__ok(const struct state_reader *r);
/* Returns 0 when the whole payload was consumed without error. */
int state_reader__end(struct state_reader *r);

#endif
