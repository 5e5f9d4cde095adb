#include "fake_environment.h"

static uint64_t fake_monotonic(struct environment *env)
{
        return ((struct fake_environment *)env)->monotonic_ns;
}

static int64_t fake_realtime(struct environment *env)
{
        return ((struct fake_environment *)env)->realtime_ns;
}

void fake_environment__init(struct fake_environment *fake)
{
        *fake = (struct fake_environment){
                .env = { .monotonic_ns = fake_monotonic, .realtime_ns = fake_realtime },
        };
}
