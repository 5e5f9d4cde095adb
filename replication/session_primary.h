/* The primary role: the recording role whose log goes to a backup over TCP
 * instead of a file, and whose output waits for the backup's
 * acknowledgement (the output commit rule).
 *
 * P0: every environment value the guest takes (a clock read) is logged,
 *     with its position, before the guest sees it (session_record.c).
 * P1, P2: interrupts reach the guest only at the end of an epoch, which
 *     the log records before the guest runs on (shared points).
 * The paper's optimisation: the primary does not wait for the backup
 * except before output leaves (output_commit.h, gated by acknowledgements).
 *
 * A backup joins at a shared point: the primary sends the whole machine
 * (MSTA), then the log from there. When the backup falls silent, the
 * primary must win the next generation from the arbiter before any more
 * output leaves; it then runs alone (unprotected) until a backup joins
 * again, or it stops if the backup won. Whatever happens, no output leaves
 * once another replica holds a later generation (the fence). */
#ifndef FTVMM_SESSION_PRIMARY_H
#define FTVMM_SESSION_PRIMARY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter.h"
#include "pair_link.h"
#include "session_record.h"

struct primary_options {
        struct recorder_options record;
        uint64_t heartbeat_ns;
        uint64_t failure_timeout_ns;
        uint64_t max_lag_ns;     /* 0: the backup may lag without bound */
        const char *name;        /* this replica, for the arbiter and the peer */
};

enum primary_protection {
        PRIMARY_ALONE,       /* no backup: output leaves once written */
        PRIMARY_PROTECTED,   /* output waits for the backup's acknowledgement */
        PRIMARY_DECIDING,    /* the backup is lost; the arbiter decides */
        PRIMARY_FENCED,      /* another replica holds a later generation */
};

#define PRIMARY_LAG_SAMPLES 1024

struct primary {
        struct recorder rec;         /* first: its session is the primary's */
        struct primary_options opts;
        struct arbiter *arbiter;
        struct log_writer writer;
        struct log_sink sink;        /* the backup's link, or nowhere */
        struct output_commit output;
        pthread_mutex_t lock;
        pthread_cond_t changed;      /* state, acknowledgements */
        enum primary_protection state;
        uint64_t generation;         /* the one this replica holds */
        struct pair_link link;
        bool link_started;
        int joining_fd;              /* a backup waiting to join, -1 if none */
        int listen_fd;
        pthread_t listener;
        bool listener_started, closing;
        uint64_t acked_seq, backup_position;
        uint64_t end_seq;            /* the log's END record, once appended */
        uint64_t released_sent;
        uint64_t backups_joined, backups_lost;
        char lost_why[256];
        /* Where the guest was when: for the backup's lag in time. */
        struct { uint64_t position, ns; } lag_samples[PRIMARY_LAG_SAMPLES];
        unsigned lag_next;
        uint64_t lag_wait_ns;        /* how long --max-lag held the guest */
        uint64_t lag_measured, lag_total_ns, lag_max_ns; /* while protected */
        /* A promoted backup says when its first output leaves: the end of
         * a failover as the outside world sees it. */
        bool announce_first_output;
        uint64_t live_since_ns;
        bool stop;                   /* lost the arbiter: the session stops */
        char stop_message[320];
};

/* Starts the role on a machine ready to run: claims the first generation
 * from the arbiter (EXIT_LOST_ARBITER, before anything else is touched, if
 * it already holds one: the guest has run), starts the writer and the output
 * commit, and listens for backups on listen_fd (from tcp__listen). The
 * primary runs alone until a backup joins. Returns 0, or an exit status
 * with a message. */
int primary__start(struct primary *p, struct machine *m, const struct machine_control *control,
                   struct environment *host, const struct primary_options *opts,
                   struct arbiter *arbiter, int listen_fd, char *err, size_t err_size);
/* The same for a replica that already holds `generation` (a backup that
 * won it to go live); listen_fd may be -1 (no backup will join). */
int primary__start_holding(struct primary *p, struct machine *m,
                           const struct machine_control *control, struct environment *host,
                           const struct primary_options *opts, struct arbiter *arbiter,
                           int listen_fd, uint64_t generation, char *err, size_t err_size);
/* Blocks until a backup has connected (its joining happens at the guest's
 * first shared point), or timeout_ms passes. Returns 0 or -ETIMEDOUT. */
int primary__wait_for_backup(struct primary *p, int timeout_ms);
/* After the run: the log to the backup ends, output the fence allows is
 * released, threads stop. A backup that holds less than the guest's end
 * then takes over (this replica's run failed), unless ends_the_guest
 * (--timeout stopped it): then this replica takes the next generation
 * first. True if this replica is fenced (another holds a later
 * generation; p->stop_message says which), then or while it waited for
 * its backup to hold the log's end: its last output did not leave. */
bool primary__finish(struct primary *p, bool ends_the_guest);

/* For status reports: a consistent copy of what the primary knows. */
struct primary_status {
        enum primary_protection state;
        uint64_t generation, position, appended_seq, acked_seq, backup_position;
        uint64_t lag_positions, lag_ms;
        uint64_t log_bytes, output_produced, output_released, output_held;
        uint64_t backups_joined, backups_lost;
};
void primary__status(struct primary *p, struct primary_status *out);
/* One line for --stats: log, acknowledgements, output commit, lag. */
void primary__print_stats(struct primary *p, const char *who);
const char *primary__state_name(enum primary_protection state);

#endif
