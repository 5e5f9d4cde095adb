/* A replication session: everything between the vCPU loop and the outside
 * world's clocks, interrupts and logs. The loop calls it at each
 * deterministic exit and at each kick, and does what it answers: inject
 * this vector, open an interrupt window, kick me at this time, stop.
 * Roles fill in the policy:
 *   live      `run`: interrupts as soon as the guest can take them;
 *   record    the log as it happens (session_record.c);
 *   replay    a run again from its log (session_replay.c);
 * and the pair's roles build on the last two.
 *
 * Shared points. Record and replay must deliver each interrupt at the same
 * point of the instruction stream, so the recording roles deliver only at
 * deterministic exits (and right after a checkpoint, where both sides hold
 * the same state): at each, the session reads the environment's clock,
 * advances the PIT, delivers what the PIC raises if the guest can take it,
 * and ends the epoch if it delivered or its timer expired. */
#ifndef FTVMM_SESSION_H
#define FTVMM_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "environment.h"

struct machine;
struct machine_control;

enum run_outcome {
        RUN_GUEST_EXITED,        /* the guest wrote a status to isa-debug-exit */
        RUN_GUEST_CRASHED,       /* triple fault, emulation failure, unknown port... */
        RUN_TIMED_OUT,
        RUN_STOPPED_AT_POSITION, /* --until reached; the machine can be saved */
        RUN_DIVERGED,            /* replay: the run left what the log describes */
        RUN_LOG_ENDED,           /* replay: the log ran out before the guest stopped */
        RUN_LOG_CORRUPT,         /* replay: a record is damaged or out of order */
        RUN_LOG_FAILED,          /* record: the log could not be written */
        RUN_REFUSED,             /* the log needs what this build or host cannot offer */
        RUN_LOST_ARBITER,        /* another replica holds a later generation */
        RUN_HOST_ERROR,
};

#define SESSION_NO_WAKEUP UINT64_MAX

struct session_answer {
        int inject_vector;      /* -1: nothing to inject */
        bool request_window;    /* exit as soon as the guest can take one */
        uint64_t wakeup_ns;     /* CLOCK_MONOTONIC at which to kick the vCPU */
        bool stop;
        enum run_outcome outcome;
        uint32_t guest_status;  /* RUN_GUEST_EXITED */
        char message[512];      /* why, for anything but a guest exit */
};

struct session_counters {
        uint64_t epochs;           /* ended so far, checkpoint epochs included */
        uint64_t checkpoints;
        uint64_t checkpoint_pages;
        uint64_t checkpoint_bytes; /* as logged */
        uint64_t checkpoint_ns;    /* the vCPU stood still for them */
        uint64_t memory_hashes;    /* memory compared (or logged to be) */
        uint64_t interrupts;
};

struct session;

struct session_ops {
        void (*at_deterministic_exit)(struct session *s, bool halted, struct session_answer *a);
        void (*at_kick)(struct session *s, struct session_answer *a);
};

struct session {
        const struct session_ops *ops;
        struct machine *m;
        const struct machine_control *control;
        struct environment *env;    /* what the devices read */
        struct session_counters counters;
        uint64_t pending_since_ns;  /* an interrupt waits for the guest since */
        bool window_requested;      /* what the last answer asked of KVM */
};

/* The two calls of the vCPU loop. halted: the exit was a HLT. */
void session__at_deterministic_exit(struct session *s, bool halted, struct session_answer *a);
void session__at_kick(struct session *s, struct session_answer *a);

/* For roles. */
void session__init(struct session *s, const struct session_ops *ops, struct machine *m,
                   const struct machine_control *control, struct environment *env);
void session__stop(struct session_answer *a, enum run_outcome outcome, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A halted guest with nothing pending waits for the environment's time to
 * reach the PIT's next deadline (live: sleeps; replay: takes it from the
 * log) or, with a disk request outstanding on a connected disk, for its
 * completion if that comes first. False, with a stop in *a, if no device
 * will ever wake it. */
bool session__halt(struct session *s, struct session_answer *a);
/* Reads the environment's clock into the PIT, and acknowledges the PIC's
 * interrupt into a->inject_vector if the guest can take it now (true), or
 * asks for an interrupt window. */
bool session__advance_and_deliver(struct session *s, uint64_t now_ns, struct session_answer *a);
/* A kick that changes nothing must keep exactly what the last answer
 * asked for: a dropped request would lose an exit (IRQ window open) that a
 * replica still makes, and a new one would add an exit it never makes
 * (the PIC can hold a second request behind the interrupt just injected,
 * with no window asked for it until the next shared point). Kicks come at
 * any time (a disk's completions kick), so this must not depend on when. */
void session__keep_window(const struct session *s, struct session_answer *a);
/* The guest's isa-debug-exit status, if it has written one. */
bool session__guest_exited(const struct session *s, uint32_t *status);
/* CLOCK_MONOTONIC of the host, never logged: timers of the VMM itself. */
uint64_t session__host_ns(void);

/* live: what `ftvmm run` does. */
struct session_live {
        struct session base;
};
void session_live__init(struct session_live *l, struct machine *m,
                        const struct machine_control *control);

#endif
