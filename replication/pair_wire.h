/* What travels between a primary and its backup besides the log: control
 * messages in the same state-record framing, sent between log records
 * (never inside one). Log records keep their sequence numbers; control
 * messages have none.
 *   "HELO" both ways, first: wire version u32, log format version u32,
 *          generation u64 (the primary's; 0 from a backup), name (u16
 *          length, bytes: host and pid, for messages)
 *   "ACK " backup: every log record up to seq u64 has arrived, and the
 *          guest has executed up to position u64
 *   "RELS" primary: the outside world has seen released u64 bytes of the
 *          guest's console output (the release mark)
 *   "BEAT" primary: alive, at position u64 (sent when nothing else was)
 * Bump PAIR_WIRE_VERSION on any change. */
#ifndef FTVMM_PAIR_WIRE_H
#define FTVMM_PAIR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "state_record.h"

#define PAIR_WIRE_VERSION 1u
#define PAIR_NAME_MAX 64

enum pair_message_kind { PAIR_HELLO, PAIR_ACK, PAIR_RELEASED, PAIR_BEAT };

struct pair_message {
        enum pair_message_kind kind;
        uint32_t wire_version, log_version;  /* HELO */
        uint64_t generation;                 /* HELO */
        char name[PAIR_NAME_MAX + 1];        /* HELO */
        uint64_t seq;                        /* ACK */
        uint64_t position;                   /* ACK, BEAT */
        uint64_t released;                   /* RELS */
};

/* The kind of a control tag, -1 if the tag is not one (a log record). */
int pair_wire__kind(const char *tag);
/* Appends the message. Returns 0 or -errno. */
int pair_wire__encode(const struct pair_message *m, struct state_writer *w);
/* Decodes an intact control record. Returns 0, or -1 with a reason. */
int pair_wire__decode(const uint8_t *record, size_t length, struct pair_message *m,
                      char *err, size_t err_size);

#endif
