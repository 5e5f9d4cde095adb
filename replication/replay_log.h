/* The record/replay log: everything a replay needs to re-execute a run
 * without its environment.
 *
 * Layout: the magic "FTVMLOG\0", a little-endian u32 format version, then
 * records in the device-state format (tag, version, length, payload, CRC32):
 *   "BOOT" RAM size, command line, the guest image's bytes (once, first)
 *   "TIME" position, value   a read of the environment's monotonic clock
 *   "WALL" position, value   a read of the environment's wall clock
 *   "EPOC" position, register digest, cause, vector   the end of an epoch:
 *          cause 1 an interrupt (vector) was delivered here, 2 the epoch
 *          timer expired
 *   "CHKP" position, start position, output length, output bytes, state
 *          a checkpoint epoch: the recorder stopped the guest at an
 *          arbitrary point after the epoch that began at start position;
 *          a replay applies the state instead of executing the epoch (it
 *          skips the records in between) and prints the output the epoch
 *          produced. The state is a zlib stream (u64 unpacked size first)
 *          of vCPU, device and dirty-page records (vmm/checkpoint.h).
 *   "END " position, guest exit status, epochs (last, on a clean end)
 * A record cut short by a crash fails its length or CRC check, so a reader
 * knows exactly where the complete part ends. Bump REPLAY_LOG_VERSION on any
 * change. */
#ifndef FTVMM_REPLAY_LOG_H
#define FTVMM_REPLAY_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../devices/device_state.h"

#define REPLAY_LOG_MAGIC "FTVMLOG"
#define REPLAY_LOG_VERSION 2u
#define REPLAY_LOG_HEADER_SIZE 12

struct replay_boot {
        uint64_t ram_size;
        const char *cmdline;  /* points into the log buffer, NUL-terminated copy */
        const uint8_t *image;
        uint64_t image_size;
};

enum epoch_cause { EPOCH_INTERRUPT = 1, EPOCH_TIMER = 2 };

struct replay_entry {
        char tag[5];
        uint64_t position;
        uint64_t value;       /* TIME/WALL value, END status, EPOC digest,
                               * CHKP start position */
        uint8_t cause;        /* EPOC: enum epoch_cause */
        uint8_t vector;       /* EPOC with EPOCH_INTERRUPT */
        uint64_t epochs;      /* END */
        const uint8_t *output;  /* CHKP: console bytes of the epoch */
        uint32_t output_length;
        const uint8_t *state;   /* CHKP: the compressed machine state */
        size_t state_length;
};

struct replay_writer {
        FILE *file;
        const char *path;
        struct state_writer buf;
        bool failed;
};

int replay_writer__open(struct replay_writer *w, const char *path,
                        const struct replay_boot *boot, char *err, size_t err_size);
void replay_writer__entry(struct replay_writer *w, const struct replay_entry *e);
/* Flushes and closes; returns 0 or -1 with a reason. */
int replay_writer__close(struct replay_writer *w, char *err, size_t err_size);

struct replay_reader {
        uint8_t *buf;
        size_t length;
        struct state_reader r;
        char *cmdline_copy;
        uint64_t entries;     /* complete entries read so far */
        bool cut_short;       /* the file ends inside a record */
        char problem[160];    /* why the last read failed */
};

/* Reads the whole log and its BOOT record. Returns 0, or -1 with a reason. */
int replay_reader__open(struct replay_reader *rd, const char *path,
                        struct replay_boot *boot, char *err, size_t err_size);
/* The next entry; false at the end of the log, with rd->cut_short set when
 * the file ends inside a record, or rd->problem when a record is corrupt. */
bool replay_reader__next(struct replay_reader *rd, struct replay_entry *e);
/* The record that ends the current epoch (EPOC, CHKP or END), looked up
 * without consuming anything; false if the log ends first. */
bool replay_reader__peek_epoch_end(struct replay_reader *rd, struct replay_entry *e);
/* Consumes the records of the current epoch up to, not including, its end. */
void replay_reader__skip_to_epoch_end(struct replay_reader *rd);
/* The same from bytes in memory (copied); name is for messages. */
int replay_reader__open_bytes(struct replay_reader *rd, const uint8_t *bytes, size_t length,
                              const char *name, struct replay_boot *boot,
                              char *err, size_t err_size);
void replay_reader__close(struct replay_reader *rd);

#endif
