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
#include "session.h"

enum replay_source_state {
        REPLAY_SOURCE_OPEN,    /* a record */
        REPLAY_SOURCE_DONE,    /* no more records will come */
        REPLAY_SOURCE_CORRUPT, /* the reader refused a record */
        REPLAY_SOURCE_FAILED,  /* reading failed */
};

/* Where the log's records come from: a file, or the primary. Records are
 * checked (log_reader.h) before they are handed out. */
struct replay_source {
        /* The next record, blocking until it arrives; REPLAY_SOURCE_OPEN
         * with *e valid until the next call, or why there is none. */
        enum replay_source_state (*next)(struct replay_source *src, struct log_entry *e);
        /* Why no more records come, for the message that says so. */
        void (*describe_end)(struct replay_source *src, char *out, size_t size);
        const char *name;
};

struct replayer {
        struct session base;
        struct environment env;   /* values from the log */
        struct replay_source *source;
        struct log_queue epoch;   /* the current epoch's records */
        bool in_epoch;
        enum replay_source_state source_state;
        uint64_t records;         /* log records taken from the source */
        uint64_t last_time;
        int64_t last_wall;
        /* A stop decided where no answer can be given (a clock read). */
        bool stopping;
        enum run_outcome stop_outcome;
        char stop_message[512];
        /* When the log runs out: a backup's way to go live (P6). It returns
         * the environment to continue on, or NULL (having stopped the
         * replayer with replayer__stop, or to let it report the end). */
        struct environment *(*take_over)(struct replayer *p, void *context);
        void *take_over_context;
        struct environment *live; /* after a take-over: values from here */
        /* Tests only: flip one byte of guest RAM at the first shared point
         * at or after this position (UINT64_MAX: never), to show that the
         * memory hash catches what the digest cannot. */
        uint64_t flip_at_position;
        uint64_t flip_address;
};

/* The machine is built from the log's first record (already taken from
 * source, which the replayer uses from here on). Turns on dirty-page
 * tracking for the memory hash. Returns 0 or -errno. */
int replayer__init(struct replayer *p, struct machine *m, const struct machine_control *control,
                   struct replay_source *source);
void replayer__release(struct replayer *p);
/* For roles built on this one (the backup). */
void replayer__at_deterministic_exit(struct session *s, bool halted, struct session_answer *a);
void replayer__at_kick(struct session *s, struct session_answer *a);
/* Stops the replayer at its next answer (from a take-over hook). */
void replayer__stop(struct replayer *p, enum run_outcome outcome, const char *why);

#endif
