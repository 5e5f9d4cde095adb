/* One line per event on stderr, which the journal keeps when ftvmm runs as
 * a service: "ftvmm ROLE: what happened [t=SECONDS.NANOSECONDS]", the time
 * from CLOCK_REALTIME so that lines from two hosts can be lined up (the
 * failover drill measures go-live times from them). */
#ifndef FTVMM_EVENT_LOG_H
#define FTVMM_EVENT_LOG_H

void event_log(const char *role, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
