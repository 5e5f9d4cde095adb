/* What travels between a primary and its backup besides the log: control
 * messages in the same state-record framing, sent between log records
 * (never inside one). Log records keep their sequence numbers; control
 * messages have none.
 *   "HELO" both ways, first: wire version u32, log format version u32,
 *          generation u64 (the primary's; 0 from a backup), name (u16
 *          length, bytes: host and pid, for messages), then the pair's
 *          identity (the primary's; zero from a backup): image digest (16
 *          bytes), ram_size u64, disk_sectors u64 (0: no disk), disk id
 *          and arbiter id (u16 length, bytes each)
 *   "ACK " backup: every log record up to seq u64 has arrived, the guest
 *          has executed up to position u64, and the latest heartbeat that
 *          arrived was sent at echo u64 (the primary's clock; 0: none)
 *   "RELS" primary: the outside world has seen released u64 bytes of the
 *          guest's console output (the release mark)
 *   "BEAT" primary: alive, at position u64, sent at sent u64 (its
 *          CLOCK_MONOTONIC, which the backup echoes: the write lease,
 *          primary_protocol.h); every heartbeat period
 * Bump PAIR_WIRE_VERSION on any change. */
#ifndef FTVMM_PAIR_WIRE_H
#define FTVMM_PAIR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "state_record.h"

#define PAIR_WIRE_VERSION 2u
#define PAIR_ID_MAX 64
#define PAIR_NAME_MAX 64

enum pair_message_kind { PAIR_HELLO, PAIR_ACK, PAIR_RELEASED, PAIR_BEAT };

/* What makes two replicas one pair: the same guest, disk and arbiter. */
struct pair_identity {
        uint8_t image_digest[16];          /* XXH3-128 of the image, then the initrd */
        uint64_t ram_size;
        uint64_t disk_sectors;             /* 0: no disk */
        char disk_id[PAIR_ID_MAX + 1];     /* from the arbiter directory; "" without a disk */
        char arbiter_id[PAIR_ID_MAX + 1];
};

struct pair_message {
        enum pair_message_kind kind;
        uint32_t wire_version, log_version;  /* HELO */
        uint64_t generation;                 /* HELO */
        char name[PAIR_NAME_MAX + 1];        /* HELO */
        struct pair_identity identity;       /* HELO */
        uint64_t seq;                        /* ACK */
        uint64_t position;                   /* ACK, BEAT */
        uint64_t echo_ns;                    /* ACK */
        uint64_t sent_ns;                    /* BEAT */
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
