/* The replication log: everything a replay, or a backup, needs to execute a
 * run again without its environment. One format serves a file (record and
 * replay) and a TCP stream (primary to backup).
 *
 * A log is the magic "FTVMLOG\0", a little-endian u32 LOG_FORMAT_VERSION,
 * then state records (state_record.h: tag, version, length, header CRC,
 * payload, CRC). Every log record's payload begins with
 *   seq:u64       +1 from one record to the next, with no gap (a file's
 *                 log starts at 1; a backup's stream at its MSTA's)
 *   position:u64  deterministic exits since boot where it was taken
 * and continues by tag:
 *   "BOOT" description, ram_size:u64, cmdline (u32 length, bytes),
 *          image (u64 length, bytes), initrd (u64 length, bytes; 0 for
 *          none), disk_sectors:u64 (0: no disk), disk_readonly:u8
 *                                                  a log that boots an image
 *   "MSTA" output_start:u64, output (u32 length, bytes), snapshot (the
 *          rest: vmm/snapshot.h, which holds its own description)   a log
 *          that starts from a running machine (how a backup joins); output
 *          is the console bytes the guest produced that had not left yet,
 *          from transcript offset output_start (the release mark)
 *   "TIME" value:u64   a read of the environment's monotonic clock
 *   "WALL" value:u64   a read of the environment's wall clock
 *   "IOCP" device:u32, id:u64, status:u8, data (u32 length, bytes)   a
 *          disk request completed here (the device's id for it, virtio's
 *          status, a read's bytes): an event from outside, like a clock
 *          read, applied at a shared point right after it is logged
 *   "EPOC" digest:u32, cause:u8, vector:u8, has_memory_hash:u8,
 *          memory_hash:u64, parts (u8 count, u32 each), ranges (u8 count,
 *          u64 each)   an epoch ends here; cause 1 an interrupt (vector) is
 *          delivered here, 2 the epoch timer expired; parts are the
 *          digest's by part of the machine (machine__state_digests), and
 *          with a memory hash, ranges are its hashes of equal ranges of
 *          RAM, so that a divergence says where it lies
 *   "CHKP" start_position:u64, memory_hash:u64, ranges (u8 count, u64
 *          each), output (u32 length, bytes), state (the rest:
 *          vmm/checkpoint.h)   a checkpoint epoch: the
 *          recorder stopped the guest at an arbitrary point; a replay
 *          applies the state instead of executing the epoch that began at
 *          start_position, and prints the epoch's console output
 *   "END " status:u64, epochs:u64   the guest wrote its exit status
 * description (u32 length, bytes) is opaque here: vmm/machine_description.h
 * says what it holds (ftvmm's version, every device's state format, the CPU
 * model); a replay refuses a log whose description its build cannot match.
 *
 * Order, which log_reader enforces:
 *   log   := (BOOT | MSTA) epoch* (TIME | WALL)* [END]
 *   epoch := (TIME | WALL | IOCP)* (EPOC | CHKP)
 * Positions never decrease from one record to the next. A CHKP's
 * start_position is where the previous epoch ended (or the log began).
 * Nothing follows END.
 *
 * Why a replay needs only this: the devices are deterministic state
 * machines, so a replayer recomputes every interrupt from the logged clock
 * values, and the EPOC records check that it did (position, vector, and a
 * digest of registers and device state; now and then a hash of guest
 * memory). That only holds if both sides run the same device models, which
 * is what the description guards.
 *
 * Bump LOG_FORMAT_VERSION on any change to this layout or to the state
 * record framing; tests/unit/test_log_layout.c fails until you do. */
#ifndef FTVMM_LOG_FORMAT_H
#define FTVMM_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state_record.h"

#define LOG_MAGIC "FTVMLOG"
#define LOG_FORMAT_VERSION 6u
#define LOG_HEADER_SIZE 12

enum log_kind {
        LOG_BOOT,
        LOG_MACHINE_STATE,
        LOG_TIME,
        LOG_WALL,
        LOG_EPOCH_END,
        LOG_CHECKPOINT,
        LOG_GUEST_END,
        LOG_IO_COMPLETION,
};

enum epoch_cause { EPOCH_INTERRUPT = 1, EPOCH_TIMER = 2 };

struct log_bytes {
        const uint8_t *data;
        uint64_t length;
};

/* One log record. Byte fields point into the buffer it was decoded from. */
struct log_entry {
        enum log_kind kind;
        uint64_t seq;
        uint64_t position;
        uint64_t value;           /* TIME, WALL; END: status */
        uint32_t digest;          /* EPOC */
        uint8_t cause, vector;    /* EPOC */
        bool has_memory_hash;     /* EPOC; always true for CHKP */
        uint64_t memory_hash;     /* EPOC, CHKP */
        struct log_bytes digest_parts;  /* EPOC: u32 each, little endian */
        struct log_bytes memory_ranges; /* EPOC, CHKP: u64 each, little endian */
        uint64_t start_position;  /* CHKP */
        struct log_bytes output;  /* CHKP: the epoch's console bytes; MSTA: unreleased ones */
        uint64_t output_start;    /* MSTA: the transcript offset of output */
        struct log_bytes state;   /* CHKP, MSTA */
        uint64_t epochs;          /* END */
        struct log_bytes description; /* BOOT */
        uint64_t ram_size;        /* BOOT */
        struct log_bytes cmdline; /* BOOT; not NUL-terminated */
        struct log_bytes image;   /* BOOT */
        struct log_bytes initrd;  /* BOOT */
        uint64_t disk_sectors;    /* BOOT: the disk's size, 0 for none */
        bool disk_readonly;       /* BOOT */
        uint32_t io_device;       /* IOCP: which disk */
        uint64_t io_id;           /* IOCP: the device's id for the request */
        uint8_t io_status;        /* IOCP: VIRTIO_BLK_S_* */
        struct log_bytes io_data; /* IOCP: a read's bytes */
};

#define LOG_MAX_DIGEST_PARTS 32
#define LOG_MAX_MEMORY_RANGES 64

/* The four-character tag of a kind, and the kind of a tag (-1 if none). */
const char *log_kind__tag(enum log_kind kind);
int log_kind__from_tag(const char *tag);
bool log_kind__ends_epoch(enum log_kind kind);

/* Appends the whole record. Returns 0 or -errno (ENOMEM, EOVERFLOW). */
int log_entry__encode(const struct log_entry *e, struct state_writer *w);
/* Decodes a record that state_record__check found complete. Returns 0, or
 * -1 with a reason in why when a field is impossible. */
int log_entry__decode(const uint8_t *record, size_t length, struct log_entry *e,
                      char *why, size_t why_size);

/* The 12 bytes every log begins with. */
void log_format__header(uint8_t out[LOG_HEADER_SIZE]);
/* 0, or -1 with a reason (not a log, or another format version). */
int log_format__check_header(const uint8_t *bytes, char *why, size_t why_size);

#endif
