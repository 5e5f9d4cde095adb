/* The control socket of a replica (`launch --control PATH`): a Unix socket
 * that answers one request per connection, a line saying what to answer
 * with: "text" (for people), "json", or "metrics" (Prometheus text
 * exposition, for a scraper). `ftvmm status PATH` is its client. */
#ifndef FTVMM_STATUS_SERVER_H
#define FTVMM_STATUS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct primary;
struct backup;

/* Everything a report says, gathered once under the roles' own locks. */
struct status_report {
        const char *role;        /* "starting", "primary", "backup", "primary (promoted)" */
        const char *protection;  /* "none", "protected", "unprotected", "deciding", "fenced",
                                  * "joining", "following", "taking over" */
        uint64_t generation, position, epochs, checkpoints;
        uint64_t lag_positions, lag_ms;
        uint64_t log_bytes, output_held, output_released;
        uint64_t acked_seq, backups_joined, backups_lost;
        double seconds, log_bytes_per_s;
};

struct status_server {
        int fd;
        char path[108];
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        struct primary *primary;
        struct backup *backup;
        uint64_t started_ns;
};

/* Returns 0, or -1 with a message. */
int status_server__start(struct status_server *s, const char *path, char *err, size_t err_size);
void status_server__serve_primary(struct status_server *s, struct primary *p);
void status_server__serve_backup(struct status_server *s, struct backup *b);
void status_server__stop(struct status_server *s);

/* The report itself, into out: format is "text", "json" or "metrics"
 * (anything else: text). Returns the length written. */
size_t status_server__report(struct status_server *s, const char *format, char *out, size_t size);
/* The same, of a report already gathered (for tests). */
size_t status_report__format(const struct status_report *st, const char *format, char *out,
                             size_t size);

#endif
