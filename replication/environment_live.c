#include "environment.h"

#include <errno.h>
#include <time.h>

static uint64_t clock_ns(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t host_deadline_ns)
{
        struct timespec ts = { .tv_sec = (time_t)(host_deadline_ns / 1000000000ull),
                               .tv_nsec = (long)(host_deadline_ns % 1000000000ull) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
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

static void live_wait_until(struct environment *env, uint64_t deadline_ns)
{
        (void)env;
        sleep_until(deadline_ns);
}

struct environment *environment__live(void)
{
        static struct environment live = {
                .monotonic_ns = live_monotonic_ns,
                .realtime_ns = live_realtime_ns,
                .wait_until = live_wait_until,
        };
        return &live;
}

static uint64_t continued_monotonic_ns(struct environment *env)
{
        struct environment_continued *c = (struct environment_continued *)env;
        return (uint64_t)((int64_t)clock_ns(CLOCK_MONOTONIC) + c->monotonic_offset_ns);
}

static int64_t continued_realtime_ns(struct environment *env)
{
        struct environment_continued *c = (struct environment_continued *)env;
        return (int64_t)clock_ns(CLOCK_REALTIME) + c->realtime_offset_ns;
}

static void continued_wait_until(struct environment *env, uint64_t deadline_ns)
{
        struct environment_continued *c = (struct environment_continued *)env;
        sleep_until((uint64_t)((int64_t)deadline_ns - c->monotonic_offset_ns));
}

static uint64_t continued_host_ns_of(struct environment *env, uint64_t t)
{
        struct environment_continued *c = (struct environment_continued *)env;
        return (uint64_t)((int64_t)t - c->monotonic_offset_ns);
}

void environment_continued__init(struct environment_continued *c,
                                 uint64_t last_monotonic_ns, int64_t last_realtime_ns)
{
        c->env = (struct environment){ .monotonic_ns = continued_monotonic_ns,
                                       .realtime_ns = continued_realtime_ns,
                                       .wait_until = continued_wait_until,
                                       .host_ns_of = continued_host_ns_of };
        int64_t mono = (int64_t)clock_ns(CLOCK_MONOTONIC);
        int64_t real = (int64_t)clock_ns(CLOCK_REALTIME);
        /* Monotonic clocks of two hosts have unrelated origins: continue
         * from the logged value. Wall clocks agree (NTP) unless one is
         * behind, and then it is moved forward, never back. */
        c->monotonic_offset_ns = (int64_t)last_monotonic_ns - mono;
        c->realtime_offset_ns = real < last_realtime_ns ? last_realtime_ns - real : 0;
}
