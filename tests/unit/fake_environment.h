/* An environment whose clocks the test sets. */
#ifndef FTVMM_TEST_FAKE_ENVIRONMENT_H
#define FTVMM_TEST_FAKE_ENVIRONMENT_H

#include "../../replication/environment.h"

struct fake_environment {
        struct environment env;
        uint64_t monotonic_ns;
        int64_t realtime_ns;
};

void fake_environment__init(struct fake_environment *fake);

#endif
