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
 * P7: going live, it settles every outstanding I/O operation
 *     (vmm/machine.h): by default the VMM reissues it (reads read again,
 *     writes written again from guest memory), so any guest sees ordinary
 *     completions; with --uncertain=error it completes it with an I/O
 *     error for a guest that reissues itself.
 * It then runs as a primary without a backup (session_primary.h), and
 * first prints the console output the primary produced but never released
 * (what lies past the last release mark), so nothing is lost; output in
 * flight at the crash may appear twice, as an exact copy. Its first write
 * to the shared disk waits until the old primary's write lease has surely
 * ended (primary_protocol.h): at most half the failure timeout after it
 * last heard from it, which silence detection has already waited out.
 *
 * A pair is a pair: the primary's greeting names its guest, RAM, disk and
 * arbiter (pair_wire.h), and a backup follows only a primary that matches
 * what it was given and whose generation its own arbiter records. */
#ifndef FTVMM_SESSION_BACKUP_H
#define FTVMM_SESSION_BACKUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter.h"
#include "backup_protocol.h"
#include "log_queue.h"
#include "log_reader.h"
#include "pair_link.h"
#include "session_primary.h"
#include "session_replay.h"
#include "../vmm/machine.h"

struct backup {
        struct replayer replay;      /* first: its session is the backup's */
        struct primary promoted;     /* the role after going live */
        struct primary_options opts; /* for then, and the link's timing */
        struct pair_identity expected; /* what this replica was given */
        enum uncertain_policy uncertain; /* P7 */
        struct arbiter *arbiter;
        struct environment *host;
        struct environment_continued live;
        int listen_fd;               /* for a backup of its own, once live */
        struct backup_protocol protocol;
        uint64_t writes_not_before_ns; /* once live: the old primary's lease */
        /* The log from the primary, checked by the receiver thread. */
        pthread_mutex_t lock;
        pthread_cond_t arrived;      /* a record, or the primary lost */
        struct pair_link link;
        bool link_started;
        struct log_reader reader;
        struct log_queue incoming;
        struct replay_source source;
        struct log_entry current;    /* handed to the replayer */
        void *current_blob;
        uint64_t executed_position;
        char primary_name[80];
        /* Console bytes produced but not yet known to be released:
         * offsets [shadow_start, shadow_start + shadow.length). */
        struct state_writer shadow;
        uint64_t shadow_start;
        bool executing;              /* backup__start has run */
        bool promoted_flag;
        uint64_t promoted_at_ns;
};

/* Connects the backup to a primary over fd (connected): greetings (a
 * primary whose identity differs from expected, where expected names it,
 * is refused with 78), then the receiver. Returns 0 or an exit status with
 * a message. */
int backup__connect(struct backup *b, int fd, const struct primary_options *opts,
                    const struct pair_identity *expected, enum uncertain_policy uncertain,
                    struct arbiter *arbiter, char *err, size_t err_size);
/* The log's first record (the primary's machine state), waiting up to
 * timeout_ms. Returns 0, or an exit status with a message. *e stays valid
 * until backup__start. */
int backup__first_record(struct backup *b, int timeout_ms, struct log_entry *e,
                         char *err, size_t err_size);
/* Starts executing on m, built from that record (whose unreleased console
 * output it keeps). listen_fd (or -1): where it takes a backup of its own
 * once live. Returns 0 or an exit status with a message. */
int backup__start(struct backup *b, struct machine *m, const struct machine_control *control,
                  struct environment *host, int listen_fd, char *err, size_t err_size);
/* The session the vCPU loop calls, before and after going live. */
struct session *backup__session(struct backup *b);
void backup__finish(struct backup *b);

/* For status reports. */
struct backup_status {
        const char *protection;      /* joining, following, taking over */
        uint64_t generation, acked_seq, release_mark, position;
};
void backup__status(struct backup *b, struct backup_status *out);

#endif
