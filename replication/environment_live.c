#include "environment.h"

#include <time.h>

static uint64_t clock_ns(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t live_monotonic_ns(struct environment *env)
{
        (void)env;
        return clock_ns(CLOCK_MONOTONIC);
}

static int64_t live_realtime_ns(struct environment *env)
{
        (void)env;
        return (int64_t)clock_ns(CLOCK_REALTIME);
}

struct environment *environment__live(void)
{
        static struct environment live = {
                .monotonic_ns = live_monotonic_ns,
                .realtime_ns = live_realtime_ns,
        };
        return &live;
}
