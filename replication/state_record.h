/* State records: the one serialised form of ftvmm. Devices save their state
 * in it, snapshots and checkpoints are sequences of it, and every record of
 * a log (file or TCP stream) is one, so the same checks guard them all.
 *
 * Layout (little endian):
 *   0   tag[4]
 *   4   version:u16        of this tag's payload layout
 *   6   flags:u16          reserved, 0
 *   8   payload_length:u32
 *   12  header_crc:u32     crc32 of bytes 0..11
 *   16  payload
 *   16+n crc32:u32         crc32 of everything before it
 * The header has its own checksum so that a reader of a stream can trust
 * the length before the payload has arrived: a damaged length is reported
 * as corruption at once, never waited for or mistaken for a record cut
 * short. Changing this layout changes every format built on it: bump
 * SNAPSHOT_VERSION and LOG_FORMAT_VERSION with it.
 *
 * A device's save writes its fields between state_writer__begin and __end;
 * its load reads them back between state_reader__begin and __end, which
 * reject a wrong tag or version, a short buffer, a bad checksum and a
 * payload not consumed exactly. Readers never read past the buffer: a short
 * read sets an error and returns zero. */
#ifndef FTVMM_STATE_RECORD_H
#define FTVMM_STATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_RECORD_HEADER_SIZE 16
#define STATE_RECORD_TRAILER_SIZE 4
#define STATE_RECORD_OVERHEAD (STATE_RECORD_HEADER_SIZE + STATE_RECORD_TRAILER_SIZE)

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
/* Room for n bytes of payload written in place (by a compressor, say);
 * commit how many were used with state_writer__advance. NULL if out of
 * memory. */
uint8_t *state_writer__reserve(struct state_writer *w, size_t n);
void state_writer__advance(struct state_writer *w, size_t n);
/* Returns 0, or -ENOMEM if any write in the record failed, -EOVERFLOW for a
 * payload of 4 GiB or more. */
int state_writer__end(struct state_writer *w);

/* What a record's header says, once its checksum held. */
struct state_record_header {
        char tag[5];          /* NUL-terminated copy */
        uint16_t version;
        uint32_t payload_length;
};

enum state_record_check {
        STATE_RECORD_COMPLETE,   /* header and body present and intact */
        STATE_RECORD_INCOMPLETE, /* more bytes are needed (header or body) */
        STATE_RECORD_CORRUPT,    /* header checksum, flags or body CRC wrong */
};

/* Examines the record that starts at buf, of which `available` bytes are
 * at hand. Fills *h as soon as the header is known to be intact (also for
 * an INCOMPLETE body); on CORRUPT, why says what failed. */
enum state_record_check state_record__check(const uint8_t *buf, size_t available,
                                            struct state_record_header *h,
                                            char *why, size_t why_size);

struct state_reader {
        const uint8_t *buf;
        size_t length;
        size_t pos;
        size_t payload_end;
        bool truncated;  /* the last begin failed for want of bytes */
        char error[160]; /* first problem found, empty while none */
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
/* The next n payload bytes in place, or NULL (with an error) if fewer
 * remain. */
const uint8_t *state_reader__take(struct state_reader *r, size_t n);
/* Payload bytes not yet read. */
size_t state_reader__left(const struct state_reader *r);
/* Record a semantic error (a field out of range) found by the device. */
void state_reader__fail(struct state_reader *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
bool state_reader__ok(const struct state_reader *r);
/* Returns 0 when the whole payload was consumed without error. */
int state_reader__end(struct state_reader *r);

#endif
