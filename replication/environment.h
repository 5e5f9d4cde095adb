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
        /* Returns once monotonic_ns would read at least deadline_ns: a
         * live environment sleeps, a replayed one has nothing to wait for
         * (the log says what time it became). */
        void (*wait_until)(struct environment *env, uint64_t deadline_ns);
        /* The host's CLOCK_MONOTONIC when monotonic_ns will read t, for
         * the VMM's own timers (NULL: the same clock). */
        uint64_t (*host_ns_of)(struct environment *env, uint64_t t);
};

static inline uint64_t environment__monotonic_ns(struct environment *env)
{
        return env->monotonic_ns(env);
}

static inline int64_t environment__realtime_ns(struct environment *env)
{
        return env->realtime_ns(env);
}

static inline void environment__wait_until(struct environment *env, uint64_t deadline_ns)
{
        env->wait_until(env, deadline_ns);
}

static inline uint64_t environment__host_ns_of(struct environment *env, uint64_t t)
{
        if (t == UINT64_MAX || !env->host_ns_of)
                return t;
        return env->host_ns_of(env, t);
}

/* The host's clocks, unrecorded: for `ftvmm run`. */
struct environment *environment__live(void);

/* The host's clocks moved so that they continue from given values: what a
 * promoted backup runs on, so that guest time never runs backward across a
 * failover however the two hosts' clocks differ. */
struct environment_continued {
        struct environment env;
        int64_t monotonic_offset_ns; /* added to the host's CLOCK_MONOTONIC */
        int64_t realtime_offset_ns;  /* added to the host's CLOCK_REALTIME */
};

/* From now on the monotonic clock continues from last_monotonic_ns (the
 * last value logged), the wall clock reads no less than last_realtime_ns,
 * and both advance with the host's. */
void environment_continued__init(struct environment_continued *c,
                                 uint64_t last_monotonic_ns, int64_t last_realtime_ns);

#endif
