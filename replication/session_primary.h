/* The primary role: the recording role whose log goes to a backup over TCP
 * instead of a file, and whose outputs wait for the backup's
 * acknowledgement (the output commit rule).
 *
 * P0: every environment value the guest takes (a clock read) is logged,
 *     with its position, before the guest sees it (session_record.c).
 * P1, P2: interrupts reach the guest only at the end of an epoch, which
 *     the log records before the guest runs on (shared points).
 * The paper's optimisation: the primary does not wait for the backup
 * except before output leaves (output_commit.h, gated by acknowledgements).
 *
 * Who decides what is primary_protocol.h: a state machine the threads
 * here only deliver events to. A backup joins at a shared point: the
 * primary sends the whole machine (MSTA, with the console output that had
 * not left yet), then the log from there. When the backup falls silent,
 * the primary must win the next generation from the arbiter before any
 * more output leaves; it then runs alone (unprotected) until a backup
 * joins again, or it stops if the backup won. Whatever happens, no output
 * leaves once another replica holds a later generation (the fence), and
 * no write reaches the shared disk once this replica's lease has run out. */
#ifndef FTVMM_SESSION_PRIMARY_H
#define FTVMM_SESSION_PRIMARY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter.h"
#include "pair_link.h"
#include "pair_wire.h"
#include "primary_protocol.h"
#include "session_record.h"

struct primary_options {
        struct recorder_options record;
        uint64_t heartbeat_ns;
        uint64_t failure_timeout_ns;
        uint64_t max_lag_ns;     /* 0: the backup may lag without bound */
        const char *name;        /* this replica, for the arbiter and the peer */
        struct pair_identity identity; /* what a backup must match */
};

#define PRIMARY_LAG_SAMPLES 1024

struct primary {
        struct recorder rec;         /* first: its session is the primary's */
        struct primary_options opts;
        struct arbiter *arbiter;
        struct log_writer writer;
        struct log_sink sink;        /* the backup's link, or nowhere */
        struct output_commit output;
        struct primary_protocol protocol;
        struct pair_link link;
        bool link_started;
        pthread_mutex_t lock;        /* joining_fd, released_sent, the lag samples */
        int joining_fd;              /* an admitted backup, until it joins; -1 if none */
        int listen_fd;
        pthread_t listener;
        bool listener_started;
        uint64_t released_sent;
        /* Where the guest was when: for the backup's lag in time. */
        struct { uint64_t position, ns; } lag_samples[PRIMARY_LAG_SAMPLES];
        unsigned lag_next;
        uint64_t lag_wait_ns;        /* how long --max-lag held the guest */
        uint64_t lag_measured, lag_total_ns, lag_max_ns; /* while protected */
        /* A promoted backup says when its first output leaves: the end of
         * a failover as the outside world sees it. */
        bool announce_first_output;
        uint64_t live_since_ns;
};

/* Starts the role on a machine ready to run: claims the first generation
 * from the arbiter (EXIT_LOST_ARBITER, before anything else is touched, if
 * it already holds one: the guest has run), records the pair's identity
 * there (the arbiter's and the disk's ids, which its backups must match), starts the
 * writer and the output commit, and listens for backups on listen_fd (from
 * tcp__listen). The primary runs alone until a backup joins. Returns 0, or
 * an exit status with a message. */
int primary__start(struct primary *p, struct machine *m, const struct machine_control *control,
                   struct environment *host, const struct primary_options *opts,
                   struct arbiter *arbiter, int listen_fd, char *err, size_t err_size);
/* The same for a replica that already holds `generation` (a backup that
 * won it to go live); listen_fd may be -1 (no backup will join).
 * writes_not_before_ns: its predecessor's lease (primary_protocol.h). */
int primary__start_holding(struct primary *p, struct machine *m,
                           const struct machine_control *control, struct environment *host,
                           const struct primary_options *opts, struct arbiter *arbiter,
                           int listen_fd, uint64_t generation, uint64_t writes_not_before_ns,
                           char *err, size_t err_size);
/* Blocks until a backup has connected (its joining happens at the guest's
 * first shared point), or timeout_ms passes. Returns 0 or -ETIMEDOUT. */
int primary__wait_for_backup(struct primary *p, int timeout_ms);
/* After the run: the log to the backup ends, outputs the fence allows are
 * released (the disk's writes performed), threads stop. A backup that
 * holds less than the guest's end then takes over (this replica's run
 * failed), unless ends_the_guest (--timeout stopped it): then this replica
 * takes the next generation first. True if this replica is fenced
 * (another holds a later generation; primary__fence_reason says which),
 * then or while it waited for its backup to hold the log's end: its last
 * outputs did not leave. */
bool primary__finish(struct primary *p, bool ends_the_guest);
const char *primary__fence_reason(struct primary *p);

/* For status reports: a consistent copy of what the primary knows. */
struct primary_status {
        enum primary_state state;
        uint64_t generation, position, appended_seq, acked_seq, backup_position;
        uint64_t lag_positions, lag_ms;
        uint64_t log_bytes, output_produced, output_released, output_held;
        uint64_t backups_joined, backups_lost;
};
void primary__status(struct primary *p, struct primary_status *out);
/* One line for --stats: log, acknowledgements, output commit, lag. */
void primary__print_stats(struct primary *p, const char *who);
const char *primary__state_name(enum primary_state state);

#endif
