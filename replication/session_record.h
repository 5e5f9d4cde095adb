/* The recording role: runs the guest on the host's clocks and writes the
 * log that replays it (log_format.h), holding every console byte until the
 * log that reproduces it is safe (output_commit.h).
 *
 * Epochs end at the first shared point where an interrupt is delivered or
 * the epoch timer has expired; when an interrupt has waited longer than
 * max_stall for one (a guest computing without exits), the recorder kicks
 * the vCPU, logs a checkpoint of the machine where it stands, and delivers
 * from there. Every verify_every epochs, and at every checkpoint, the log
 * also carries a hash of guest memory. */
#ifndef FTVMM_SESSION_RECORD_H
#define FTVMM_SESSION_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "log_format.h"
#include "log_writer.h"
#include "output_commit.h"
#include "session.h"

struct recorder_options {
        uint64_t epoch_ns;
        uint64_t max_stall_ns;
        uint32_t verify_every; /* epochs between memory hashes; 0: only at checkpoints */
        bool flush_every_epoch; /* a backup waits for each epoch's end */
};

struct recorder {
        struct session base;
        struct environment env;   /* the devices' clocks, logged as read */
        struct environment *host; /* where the values come from */
        struct recorder_options opts;
        struct log_writer *writer;
        struct output_commit *output;
        struct state_writer scratch;
        uint64_t seq;             /* of the last record appended */
        bool in_epoch;
        uint64_t epoch_start;     /* position */
        uint64_t epoch_deadline_ns;
        struct state_writer epoch_output; /* console bytes of this epoch */
        uint64_t last_time;
        int64_t last_wall;
        bool failed;
        char failure[320];
};

/* The machine must have its image loaded (or its state restored) and its
 * vCPU created. writer and output are running (the writer's on_progress
 * releasing output, its on_failure kicking the vCPU); the recorder turns on
 * dirty-page tracking, appends the log's first record, start (BOOT or
 * MSTA; seq and position are set here; NULL for a log that begins later,
 * when a backup joins), and diverts the console into output. Returns 0 or
 * -errno. */
int recorder__init(struct recorder *r, struct machine *m, const struct machine_control *control,
                   struct environment *host, const struct recorder_options *opts,
                   struct log_writer *writer, struct output_commit *output,
                   struct log_entry *start);
/* Everything the recorder appended (END included) is in the writer. */
void recorder__release(struct recorder *r);

/* For roles built on this one (the primary). */
void recorder__at_deterministic_exit(struct session *s, bool halted, struct session_answer *a);
void recorder__at_kick(struct session *s, struct session_answer *a);
/* Appends a record at the current position (its seq is set here); false if
 * the log has failed. */
bool recorder__append(struct recorder *r, struct log_entry *e);
/* A log starts here (a backup joins): the epoch under way is abandoned,
 * and the next begins at this point, which both sides share. */
void recorder__start_log_here(struct recorder *r);

#endif
