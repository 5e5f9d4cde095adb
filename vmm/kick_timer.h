/* Wakes the vCPU thread at a deadline: a POSIX timer whose signal is blocked
 * in the VMM but unblocked inside KVM_RUN (KVM_SET_SIGNAL_MASK), so it
 * interrupts a running guest and never a VMM system call. */
#ifndef FTVMM_KICK_TIMER_H
#define FTVMM_KICK_TIMER_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#define KICK_TIMER_NONE UINT64_MAX

struct kick_timer {
        timer_t timer;
        int signo;
        uint64_t armed_ns; /* CLOCK_MONOTONIC deadline, KICK_TIMER_NONE if idle */
};

/* Blocks signo in the calling thread and creates a timer that signals it.
 * Returns 0 or -errno. */
int kick_timer__create(struct kick_timer *t, int signo);
void kick_timer__destroy(struct kick_timer *t);
/* Arms for an absolute CLOCK_MONOTONIC deadline; a no-op when unchanged. */
int kick_timer__arm(struct kick_timer *t, uint64_t deadline_ns);
/* Clears a pending kick so the next KVM_RUN is not interrupted at once. */
void kick_timer__consume(struct kick_timer *t);
/* Sleeps until the armed deadline passes (or a kick arrives). */
void kick_timer__wait(struct kick_timer *t);

#endif
