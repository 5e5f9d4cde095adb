/* The backup role: executes the primary's log as it arrives, one epoch
 * behind, and goes live when the primary is lost.
 *
 * P3: every environment value is the one the primary logged for the same
 *     position (session_replay.c).
 * P4: the backup has no environment of its own while it is a backup: its
 *     devices see only logged values, so interrupts of its own never arise.
 * P5: it delivers exactly the interrupts the log's epoch ends name, at
 *     their positions (session_replay.c).
 * P6: when the primary falls silent (or its stream ends or is damaged),
 *     the backup executes every complete epoch it holds and then the
 *     failover epoch as far as its records go; the first environment value
 *     they do not cover is taken from its own host, after it has won the
 *     next generation from the arbiter.
 * P7: right before going live it completes every outstanding I/O operation
 *     with an uncertain interrupt (vmm/machine.h).
 * It then runs as a primary without a backup (session_primary.h), and
 * first prints the console output the primary produced but never released
 * (what lies past the last release mark), so nothing is lost; output in
 * flight at the crash may appear twice, as an exact copy. */
#ifndef FTVMM_SESSION_BACKUP_H
#define FTVMM_SESSION_BACKUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter.h"
#include "log_queue.h"
#include "log_reader.h"
#include "pair_link.h"
#include "session_primary.h"
#include "session_replay.h"

struct backup {
        struct replayer replay;      /* first: its session is the backup's */
        struct primary promoted;     /* the role after going live */
        struct primary_options opts; /* for then, and the link's timing */
        struct arbiter *arbiter;
        struct environment *host;
        struct environment_continued live;
        int listen_fd;               /* for a backup of its own, once live */
        /* From the primary, validated by the receiver thread. */
        pthread_mutex_t lock;
        pthread_cond_t arrived;
        struct pair_link link;
        bool link_started;
        struct log_reader reader;
        struct log_queue incoming;
        struct replay_source source;
        struct log_entry current;    /* handed to the replayer */
        void *current_blob;
        uint64_t received_seq, acked_seq;
        uint64_t executed_position;
        uint64_t release_mark;
        uint64_t generation;         /* the primary's */
        char primary_name[80];
        bool primary_lost;
        char lost_why[256];
        uint64_t lost_at_ns;
        /* Console bytes produced but not yet known to be released:
         * offsets [shadow_start, shadow_start + shadow.length). */
        struct state_writer shadow;
        uint64_t shadow_start;
        bool promoted_flag;
        uint64_t promoted_at_ns;
};

/* Connects the backup to a primary over fd (connected): greetings, then the
 * receiver. Returns 0 or an exit status with a message. */
int backup__connect(struct backup *b, int fd, const struct primary_options *opts,
                    struct arbiter *arbiter, char *err, size_t err_size);
/* The log's first record (the primary's machine state), waiting up to
 * timeout_ms. Returns 0, or an exit status with a message. *e stays valid
 * until backup__start. */
int backup__first_record(struct backup *b, int timeout_ms, struct log_entry *e,
                         char *err, size_t err_size);
/* Starts executing on m, built from that record. listen_fd (or -1): where
 * it takes a backup of its own once live. Returns 0 or -errno. */
int backup__start(struct backup *b, struct machine *m, const struct machine_control *control,
                  struct environment *host, int listen_fd);
/* The session the vCPU loop calls, before and after going live. */
struct session *backup__session(struct backup *b);
void backup__finish(struct backup *b);

#endif
