/* The backup's side of the pair's protocol, as one state machine under one
 * lock; the link's threads and the vCPU thread only deliver events.
 *
 *   JOINING -- the machine state arrives --> FOLLOWING
 *      |                                        |
 *      +---- the primary is lost ---------------+--> TAKING_OVER (P6: it
 *                                                    executes what it holds)
 *   TAKING_OVER -- the log is used up --> CLAIMING -- won --> LIVE
 *                                                 \-- lost --> STOPPED
 *
 * What it tells the primary: every acknowledgement carries the latest
 * record that arrived and the send time of the latest heartbeat (the echo
 * that keeps the primary's write lease: primary_protocol.h). What it keeps
 * for going live: the release mark, and when the old primary's lease has
 * surely ended (its first write waits for that). */
#ifndef FTVMM_BACKUP_PROTOCOL_H
#define FTVMM_BACKUP_PROTOCOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum backup_state {
        BACKUP_JOINING,     /* greeted; the machine state has not arrived */
        BACKUP_FOLLOWING,   /* executing the primary's log */
        BACKUP_TAKING_OVER, /* the primary is lost: P6 */
        BACKUP_CLAIMING,    /* asking the arbiter for the next generation */
        BACKUP_LIVE,        /* won it: a primary now */
        BACKUP_STOPPED,     /* another replica holds it */
};

struct backup_protocol {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        enum backup_state state;
        uint64_t generation;     /* the primary's, then this replica's */
        uint64_t lease_ns;       /* the primary's lease: failure_timeout / 2 */
        uint64_t received_seq;   /* the last log record that arrived, checked */
        uint64_t acked_seq;      /* the last one acknowledged */
        uint64_t release_mark;
        uint64_t echo_ns;        /* the latest heartbeat's send time (the primary's clock) */
        uint64_t last_heard_ns;  /* when anything last arrived (this host's clock) */
        uint64_t lost_at_ns;
        char lost_why[256];
        char stop_why[320];
};

void backup_protocol__init(struct backup_protocol *bp, uint64_t generation,
                           uint64_t failure_timeout_ns, uint64_t now_ns);

/* --- from the primary (the link's receiver thread) --- */

/* A log record the reader checked: true for the first (the machine
 * state), whose arrival arms failure detection. */
bool backup_protocol__record(struct backup_protocol *bp, uint64_t seq, uint64_t now_ns);
/* Any message at all. */
void backup_protocol__heard(struct backup_protocol *bp, uint64_t now_ns);
void backup_protocol__released(struct backup_protocol *bp, uint64_t mark);
void backup_protocol__beat(struct backup_protocol *bp, uint64_t sent_ns);
/* What to acknowledge: false if nothing new (unless force, a heartbeat). */
bool backup_protocol__ack_due(struct backup_protocol *bp, bool force, uint64_t *seq,
                              uint64_t *echo_ns);

/* --- losing the primary, going live --- */

/* The link declared the primary lost: TAKING_OVER (once). */
void backup_protocol__primary_lost(struct backup_protocol *bp, const char *why, uint64_t now_ns);
bool backup_protocol__primary_is_lost(struct backup_protocol *bp);
/* The log is used up and the primary lost: true with the generation to
 * claim (CLAIMING); false if the primary is not lost. */
bool backup_protocol__begin_claim(struct backup_protocol *bp, uint64_t *next);
/* The arbiter's answer: 0 won (LIVE; *writes_not_before is when the old
 * primary's lease has surely ended), else STOPPED with why. */
void backup_protocol__claimed(struct backup_protocol *bp, int result, const char *why,
                              uint64_t *writes_not_before_ns);

enum backup_state backup_protocol__state(struct backup_protocol *bp);
uint64_t backup_protocol__release_mark(struct backup_protocol *bp);
const char *backup_protocol__state_name(enum backup_state state);

#endif
