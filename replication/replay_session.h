/* Record and replay through one interface: the environment the devices
 * read, and the epoch ends the vCPU loop reports, go to the log when
 * recording and come from it when replaying, from the same call sites. */
#ifndef FTVMM_REPLAY_SESSION_H
#define FTVMM_REPLAY_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "environment.h"
#include "replay_log.h"

enum replay_mode { REPLAY_RECORD, REPLAY_REPLAY };

enum replay_stop {
        REPLAY_RUNNING,
        REPLAY_DIVERGED,   /* the run did something the log does not say */
        REPLAY_LOG_ENDED,  /* the log ran out (cut short by a crash) */
};

struct replay_session {
        struct environment env;     /* first: devices are given &session->env */
        enum replay_mode mode;
        struct environment *live;   /* the host, when recording */
        const uint64_t *position;   /* the machine's position counter */
        struct replay_writer writer;
        struct replay_reader reader;
        uint64_t epochs;
        uint64_t last_time;
        int64_t last_wall;
        enum replay_stop stop;
        char why[256];
};

void replay_session__init_record(struct replay_session *s, struct environment *live,
                                 const uint64_t *position);
void replay_session__init_replay(struct replay_session *s, const uint64_t *position);
/* An interrupt was delivered: an epoch ends here. The digest names the
 * guest's registers at this point, so a replay detects divergence. */
void replay_session__epoch_end(struct replay_session *s, uint8_t vector, uint32_t digest);
/* The guest stopped with status: recorded, or checked against the log. */
void replay_session__guest_exit(struct replay_session *s, uint32_t status);

#endif
