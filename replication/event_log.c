#include "event_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void event_log(const char *role, const char *fmt, ...)
{
        char line[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        /* One write, so that lines from several threads never interleave. */
        fprintf(stderr, "ftvmm %s: %s [t=%lld.%09ld]\n", role, line, (long long)now.tv_sec,
                now.tv_nsec);
}
