/* Runs the vCPU until the guest stops: classifies every KVM exit, routes
 * port I/O and MMIO to the devices, advances the PIT, and delivers the PIC's
 * interrupts only when the guest can take them. */
#ifndef FTVMM_VCPU_LOOP_H
#define FTVMM_VCPU_LOOP_H

#include <stdint.h>

#include "machine.h"
#include "../replication/replay_session.h"

enum run_outcome {
        RUN_GUEST_EXITED,  /* the guest wrote a status to isa-debug-exit */
        RUN_GUEST_CRASHED, /* triple fault, emulation failure, unknown port... */
        RUN_TIMED_OUT,
        RUN_STOPPED_AT_POSITION, /* --until reached; the machine can be saved */
        RUN_DIVERGED,            /* replay: the run left what the log describes */
        RUN_LOG_ENDED,           /* replay: the log ran out before the guest stopped */
        RUN_HOST_ERROR,
};

#define RUN_NO_POSITION_LIMIT UINT64_MAX

struct replay_session;

struct run_limits {
        uint64_t timeout_ns;       /* wall clock; 0 for none */
        uint64_t stop_at_position; /* RUN_NO_POSITION_LIMIT for none */
        /* Recording or replaying: interrupts are delivered only at
         * deterministic exits, and every epoch end goes through the log. */
        struct replay_session *replay;
        /* Recording: how long an interrupt may wait for a deterministic
         * exit before the epoch ends in a checkpoint instead. */
        uint64_t max_stall_ns;
};

struct exit_counts {
        uint64_t pio, mmio, hlt, irq_window, kicks, other;
        uint64_t interrupts_injected;
};

struct run_result {
        enum run_outcome outcome;
        uint32_t guest_status;
        char message[512];     /* why the run ended, for anything but an exit */
        struct exit_counts exits;
        uint64_t checkpoint_pages;  /* dirty pages the checkpoints carried */
        uint64_t elapsed_ns;
};

void vcpu_loop__run(struct machine *m, const struct run_limits *limits,
                    struct run_result *result);

#endif
