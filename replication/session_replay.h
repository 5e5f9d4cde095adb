/* The replaying role: executes a run again from its log, with no
 * environment of its own. Every clock read returns the value the log holds
 * for that position; interrupts are recomputed from those values by the
 * same device models and checked against the log's epoch ends (position,
 * cause, vector, digest of registers and devices, and memory hash where
 * logged). Before executing an epoch it reads ahead to the epoch's end: a
 * checkpoint epoch is applied, not executed.
 *
 * When the log runs out (its end, a record cut short, corruption), what
 * follows depends on the caller: a replay of a file stops; a backup
 * (later) takes over, which is why running out is a hook. */
#ifndef FTVMM_SESSION_REPLAY_H
#define FTVMM_SESSION_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "log_queue.h"
#include "log_reader.h"
#include "session.h"

/* Where the log's bytes come from. */
struct replay_source {
        /* Reads more of the log into rd, blocking until some arrive.
         * Returns the bytes read, 0 when no more will ever come, or
         * -errno. */
        long (*more)(struct replay_source *src, struct log_reader *rd);
        const char *name;
};

enum replay_source_state {
        REPLAY_SOURCE_OPEN,
        REPLAY_SOURCE_DONE,    /* no more bytes will come */
        REPLAY_SOURCE_CORRUPT, /* the reader refused a record */
        REPLAY_SOURCE_FAILED,  /* reading failed */
};

struct replayer {
        struct session base;
        struct environment env;   /* values from the log */
        struct replay_source *source;
        struct log_reader *reader;
        struct log_queue epoch;   /* the current epoch's records */
        bool in_epoch;
        enum replay_source_state source_state;
        int source_error;
        uint64_t records;         /* log records taken from the reader */
        uint64_t last_time;
        int64_t last_wall;
        /* A stop decided where no answer can be given (a clock read). */
        bool stopping;
        enum run_outcome stop_outcome;
        char stop_message[512];
        /* Tests only: flip one byte of guest RAM at the first shared point
         * at or after this position (UINT64_MAX: never), to show that the
         * memory hash catches what the digest cannot. */
        uint64_t flip_at_position;
        uint64_t flip_address;
};

/* The machine is built from the log's first record (already read from
 * reader, which the replayer uses from here on). Turns on dirty-page
 * tracking for the memory hash. Returns 0 or -errno. */
int replayer__init(struct replayer *p, struct machine *m, const struct machine_control *control,
                   struct log_reader *reader, struct replay_source *source);
void replayer__release(struct replayer *p);
/* Log records taken so far, and what the reader says about the rest (for
 * the message when the log ran out). */
void replayer__describe_end(const struct replayer *p, char *out, size_t size);

#endif
