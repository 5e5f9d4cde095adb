/* Record and replay through one interface: the environment the devices
 * read, and the epoch ends the vCPU loop reports, go to the log when
 * recording and come from it when replaying, from the same call sites. */
#ifndef FTVMM_REPLAY_SESSION_H
#define FTVMM_REPLAY_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "environment.h"
#include "replay_log.h"

enum replay_mode { REPLAY_RECORD, REPLAY_REPLAY };

enum replay_stop {
        REPLAY_RUNNING,
        REPLAY_DIVERGED,   /* the run did something the log does not say */
        REPLAY_LOG_ENDED,  /* the log ran out (cut short by a crash) */
};

struct replay_session {
        struct environment env;     /* first: devices are given &session->env */
        enum replay_mode mode;
        struct environment *live;   /* the host, when recording */
        const uint64_t *position;   /* the machine's position counter */
        struct replay_writer writer;
        struct replay_reader reader;
        uint64_t epochs;            /* ended so far, checkpoint epochs included */
        uint64_t checkpoints;
        uint64_t epoch_ns;          /* record: the epoch timer's period */
        bool in_epoch;              /* begin_epoch was called for this one */
        uint64_t epoch_start_position;
        uint64_t epoch_deadline_ns; /* record: when the epoch timer expires */
        struct replay_entry epoch_end_entry; /* replay: how this epoch ends */
        bool epoch_end_known;
        uint8_t *epoch_output;      /* record: console bytes of this epoch */
        size_t epoch_output_length, epoch_output_capacity;
        uint64_t last_time;
        int64_t last_wall;
        enum replay_stop stop;
        char why[256];
};

/* epoch_ns: the epoch timer; an epoch also ends at the first deterministic
 * exit after it expires, so a guest that takes no interrupts still gets its
 * state checked regularly. */
void replay_session__init_record(struct replay_session *s, struct environment *live,
                                 const uint64_t *position, uint64_t epoch_ns);
void replay_session__init_replay(struct replay_session *s, const uint64_t *position);
void replay_session__release(struct replay_session *s);

/* Called at the start of every epoch, at host time now_ns. Replaying, it
 * looks up how the epoch ends; true means it is a checkpoint epoch, which
 * the caller applies instead of executing (*checkpoint holds it). */
bool replay_session__begin_epoch(struct replay_session *s, uint64_t now_ns,
                                 struct replay_entry *checkpoint);
/* Whether the epoch timer ends the epoch at this deterministic exit: by the
 * host clock when recording, by the log when replaying. */
bool replay_session__epoch_timer_expired(struct replay_session *s, uint64_t now_ns);
/* An epoch ends here, by an interrupt (its vector) or the epoch timer. The
 * digest names the guest's state at this point, so a replay detects
 * divergence. */
void replay_session__epoch_end(struct replay_session *s, enum epoch_cause cause,
                               uint8_t vector, uint32_t digest);
/* Recording: console bytes the guest produced, kept until the epoch ends
 * in case it becomes a checkpoint epoch. */
void replay_session__note_output(struct replay_session *s, const uint8_t *bytes, size_t n);
/* Recording: the epoch ends in a checkpoint of the machine (vmm/checkpoint.h). */
void replay_session__checkpoint(struct replay_session *s, const uint8_t *state, size_t length);
/* The guest stopped with status: recorded, or checked against the log. */
void replay_session__guest_exit(struct replay_session *s, uint32_t status);

#endif
