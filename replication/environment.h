/* The environment: every value the guest can observe that is not a function
 * of guest state (host clocks today; input bytes and I/O completions later).
 *
 * Devices read the outside world only through this interface. A live
 * environment asks the host; record and replay wrap the same calls so that
 * one call site records on one side and consumes on the other. */
#ifndef FTVMM_ENVIRONMENT_H
#define FTVMM_ENVIRONMENT_H

#include <stdint.h>

struct environment {
        /* Monotonic nanoseconds; never decreases. Drives the PIT. */
        uint64_t (*monotonic_ns)(struct environment *env);
        /* Nanoseconds since the Unix epoch. Drives the RTC's time of day. */
        int64_t (*realtime_ns)(struct environment *env);
};

static inline uint64_t environment__monotonic_ns(struct environment *env)
{
        return env->monotonic_ns(env);
}

static inline int64_t environment__realtime_ns(struct environment *env)
{
        return env->realtime_ns(env);
}

/* The host's clocks, unrecorded: for `ftvmm run`. */
struct environment *environment__live(void);

#endif
