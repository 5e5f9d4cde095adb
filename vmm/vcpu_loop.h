/* Runs the vCPU until the guest stops: classifies every KVM exit, routes
 * port I/O and MMIO to the devices, counts positions, and does what the
 * replication session answers at each deterministic exit and each kick
 * (replication/session.h). It knows nothing of clocks, epochs or logs. */
#ifndef FTVMM_VCPU_LOOP_H
#define FTVMM_VCPU_LOOP_H

#include <stdint.h>

#include "machine.h"
#include "../replication/session.h"

#define RUN_NO_POSITION_LIMIT UINT64_MAX

struct run_limits {
        uint64_t timeout_ns;       /* wall clock; 0 for none */
        /* Stop at the first deterministic exit at or past this position,
         * before the session sees it (RUN_NO_POSITION_LIMIT for none). */
        uint64_t stop_at_position;
        /* An access no device claims stops the guest, instead of being
         * answered as on a PC with nothing there. */
        bool strict_io;
};

struct exit_counts {
        uint64_t pio, mmio, hlt, irq_window, kicks, other;
        uint64_t interrupts_injected;
        uint64_t unclaimed, unclaimed_addresses; /* accesses, distinct addresses */
};

struct run_result {
        enum run_outcome outcome;
        uint32_t guest_status;
        char message[512];     /* why the run ended, for anything but an exit */
        struct exit_counts exits;
        uint64_t elapsed_ns;
};

void vcpu_loop__run(struct machine *m, struct session *s, const struct run_limits *limits,
                    struct run_result *result);

#endif
