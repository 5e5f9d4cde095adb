/* The primary's side of the pair's protocol, as one state machine under one
 * lock. The threads around it (the vCPU, the link's receiver and
 * heartbeat, the listener, the log writer, the output release and the disk
 * workers) only deliver events and act on what the machine answers; every
 * decision about who may do what is taken here, in one step, so that no
 * thread sees half a transition.
 *
 *   ALONE ------- a backup joins ------> PROTECTED
 *     ^                                     |
 *     | won the next generation             | the backup is lost
 *     |                                     v
 *     +--------------------------------- DECIDING ---- lost, or the arbiter
 *                                                      unreachable ----> FENCED
 *   any state ---- a later generation seen (the fence) -----------------> FENCED
 *   PROTECTED --- the backup is lost after it held the guest's end -----> ALONE
 *
 * What is safe (the output rule, BRIEF.md): the log up to `safe` may
 * account for outputs. ALONE: whatever is written. PROTECTED: whatever is
 * written and acknowledged. DECIDING and FENCED: nothing more.
 *
 * Outputs leave under a release permit (begin_release/end_release for a
 * batch of console bytes and held disk requests, begin_write/end_write for
 * one disk write). A permit is refused once FENCED, and fencing waits for
 * the permits in use, so after primary_protocol__fence returns no output of
 * this replica is leaving or will leave.
 *
 * The write lease. A protected primary writes to the shared disk only
 * while its backup cannot yet have taken it for dead: each heartbeat
 * carries the primary's clock, the backup echoes the latest it received in
 * its acknowledgements, and since the backup heard from the primary no
 * earlier than that time, it cannot declare it lost (failure_timeout of
 * silence) before echo + failure_timeout. The primary's lease ends at
 * echo + failure_timeout / 2. A backup that goes live after a closed
 * connection (no silence) waits for that bound before its first write
 * (session_backup.h). So a primary that was frozen, or cut off, never
 * lands a write after its successor's: it stops writing by itself. */
#ifndef FTVMM_PRIMARY_PROTOCOL_H
#define FTVMM_PRIMARY_PROTOCOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "permit.h"

enum primary_state {
        PRIMARY_ALONE,     /* no backup: what is written is safe */
        PRIMARY_PROTECTED, /* a backup acknowledges the log */
        PRIMARY_DECIDING,  /* the backup is lost; the arbiter decides */
        PRIMARY_FENCED,    /* another replica holds a later generation */
};


/* What a lost backup asks of the caller. */
enum primary_loss {
        LOSS_IGNORED,         /* not protected: nothing to do */
        LOSS_BACKUP_FINISHED, /* it held the guest's end: alone, nothing to claim */
        LOSS_CLAIM,           /* claim the generation given, then primary_protocol__claimed */
};

struct primary_protocol {
        pthread_mutex_t lock;
        pthread_cond_t changed;       /* state, permits, joining; CLOCK_MONOTONIC */
        enum primary_state state;
        uint64_t generation;          /* the one this replica holds */
        uint64_t lease_ns;            /* failure_timeout / 2 */
        /* The log, in sequence numbers. */
        uint64_t sending;             /* handed to the link (the send may not have returned) */
        uint64_t written;             /* the send returned */
        uint64_t acked;               /* the backup holds every record up to here */
        uint64_t safe;
        uint64_t end_seq;             /* the guest's end (GEND), once appended */
        uint64_t backup_position;
        uint64_t lease_until_ns;      /* CLOCK_MONOTONIC; PROTECTED only */
        uint64_t writes_not_before_ns; /* a promoted backup's predecessor's lease */
        bool joining;                 /* a backup was admitted; it joins at a shared point */
        bool closing;                 /* the run is over: no backup is admitted */
        unsigned permits;             /* releases and writes under way */
        uint64_t backups_joined, backups_lost;
        char lost_why[256];
        char fence_why[320];          /* why FENCED */
};

/* generation: the one this replica holds from the start. */
void primary_protocol__init(struct primary_protocol *pp, uint64_t generation,
                            uint64_t failure_timeout_ns);
void primary_protocol__destroy(struct primary_protocol *pp);
/* A promoted backup's writes wait for its predecessor's lease to end. */
void primary_protocol__writes_not_before(struct primary_protocol *pp, uint64_t ns);

/* --- a backup connects (listener) and joins (vCPU thread) --- */

/* May a backup that just greeted join? Only while ALONE, with none
 * waiting: a backup admitted while the arbiter decides would be told a
 * generation that may be about to change. *generation is the one to
 * announce. False with why otherwise. */
bool primary_protocol__admit(struct primary_protocol *pp, uint64_t *generation, char *why,
                             size_t why_size);
/* The admitted backup will not join after all (its connection failed). */
void primary_protocol__admission_failed(struct primary_protocol *pp);
/* At a shared point: the machine state goes to the admitted backup; the
 * log is safe up to seq (everything before it was written while alone).
 * From now on output waits for its acknowledgements. now_ns: when its
 * machine state is sent, which starts the lease. False (the backup must
 * be let go) if this replica was fenced meanwhile. */
bool primary_protocol__joined(struct primary_protocol *pp, uint64_t seq, uint64_t position,
                              uint64_t now_ns);

/* --- the log (writer thread, link receiver) --- */

/* The writer hands records up to seq to the link. */
void primary_protocol__sending(struct primary_protocol *pp, uint64_t seq);
/* Records up to seq are written. Returns the new safe mark, or 0 if it
 * did not move. */
uint64_t primary_protocol__written(struct primary_protocol *pp, uint64_t seq);
/* The backup holds every record up to seq, executed up to position, and
 * heard the primary's heartbeat sent at echo_ns (0: none yet). Returns the
 * new safe mark (0 if it did not move), or -1 with why for a protocol
 * error: an acknowledgement of a record never sent. */
int primary_protocol__acked(struct primary_protocol *pp, uint64_t seq, uint64_t position,
                            uint64_t echo_ns, uint64_t *safe, char *why, size_t why_size);
void primary_protocol__guest_ended(struct primary_protocol *pp, uint64_t end_seq);

/* --- losing the backup, the arbiter, the fence --- */

/* The link declared the backup lost. LOSS_CLAIM: *claim is the
 * generation to claim (DECIDING until primary_protocol__claimed). */
enum primary_loss primary_protocol__backup_lost(struct primary_protocol *pp, const char *why,
                                                uint64_t *claim, uint64_t *safe);
/* The arbiter's answer to the claim: 0 won (ALONE on the new
 * generation; *safe is the new safe mark), else FENCED with why. */
void primary_protocol__claimed(struct primary_protocol *pp, int result, const char *why,
                               uint64_t *safe);
/* This replica ends the guest for good (--timeout) while a backup still
 * follows: claim the next generation from it. False if there is nothing
 * to claim; else *claim, then primary_protocol__claimed. */
bool primary_protocol__end_the_guest(struct primary_protocol *pp, uint64_t *claim);
/* A later generation was seen. Returns once no permit is in use; true the
 * first time (the caller says so and stops the run). */
bool primary_protocol__fence(struct primary_protocol *pp, const char *why);

/* --- outputs --- */

/* A batch of outputs may leave: the caller then checks that the arbiter
 * holds no *next_generation (the fence), and ends the permit with
 * end_permit whatever it did, before any primary_protocol__fence. */
enum permit primary_protocol__begin_release(struct primary_protocol *pp, uint64_t *next_generation);
/* One write (or discard) to the shared disk may start: the lease, too. */
enum permit primary_protocol__begin_write(struct primary_protocol *pp, uint64_t now_ns);
void primary_protocol__end_permit(struct primary_protocol *pp);

/* --- for the run and for reports --- */

/* The run is over: no backup joins from now on. */
void primary_protocol__close(struct primary_protocol *pp);
bool primary_protocol__closing(struct primary_protocol *pp);
/* The log is safe (the output rule) up to here. */
uint64_t primary_protocol__safe(struct primary_protocol *pp);
bool primary_protocol__backup_holds_end(struct primary_protocol *pp);
enum primary_state primary_protocol__state(struct primary_protocol *pp);
/* Waits up to timeout_ms for a change of state (or of anything above). */
void primary_protocol__wait(struct primary_protocol *pp, int timeout_ms);
const char *primary_protocol__state_name(enum primary_state state);

#endif
