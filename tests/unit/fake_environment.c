#include "fake_environment.h"

static uint64_t fake_monotonic(struct environment *env)
{
        return ((struct fake_environment *)env)->monotonic_ns;
}

static int64_t fake_realtime(struct environment *env)
{
        return ((struct fake_environment *)env)->realtime_ns;
}

/* Time passes at once: the test's clock jumps to the deadline. */
static void fake_wait_until(struct environment *env, uint64_t deadline_ns)
{
        struct fake_environment *fake = (struct fake_environment *)env;
        if (fake->monotonic_ns < deadline_ns)
                fake->monotonic_ns = deadline_ns;
}

void fake_environment__init(struct fake_environment *fake)
{
        *fake = (struct fake_environment){
                .env = { .monotonic_ns = fake_monotonic, .realtime_ns = fake_realtime,
                         .wait_until = fake_wait_until },
        };
}
