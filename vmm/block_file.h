/* A raw disk image file as a block backend (devices/block_backend.h):
 * `--disk FILE[,readonly][,cache=direct|dsync]`.
 *
 * Requests are queued to a few worker threads that do pread, pwrite,
 * fdatasync and hole punching, so the vCPU never waits for the disk and
 * several requests are in flight at once. Requests that touch overlapping
 * sectors, one of them a write or a discard, are performed in the order
 * they were queued (a write reissued at a failover never lands after a
 * later write to the same sectors). A finished request becomes a
 * completion in a thread-safe queue; the vCPU side takes them with
 * block_file__take_completions and applies them to the device as events
 * when it chooses. A worker announces each completion on an eventfd (for a
 * vCPU thread that sleeps in a halt) and through `wake` (machine__kick,
 * for one inside KVM_RUN).
 *
 * Durability. A write completes only once it is on the storage, not in
 * this host's page cache, so that a host that dies loses no write its
 * guest saw complete: cache=direct (the default) opens the file with
 * O_DIRECT (QEMU's cache=none: the storage has the write, a flush makes
 * it stable), cache=dsync with O_DSYNC (every write stable before it
 * completes: 4.7 times slower per 4 KiB write than O_DIRECT on the
 * project's ext4, measured). A file system that refuses O_DIRECT (tmpfs)
 * gets O_DSYNC, said once on stderr. A flush is fdatasync.
 *
 * The output rule. A write, flush or discard of a recording replica is an
 * output (BRIEF.md): block_file__hold prepares it without queuing it, and
 * output commit queues it once the log that leads to it is safe. A replica
 * that may write only under a permit (a primary's lease and fence: permit.h)
 * sets `gate`; every write and discard asks it right before the system
 * call, waits while it says wait, and is dropped, never performed, once it
 * says never.
 *
 * Host errors never reach the VMM's control flow: a failed or short
 * read, a failed write or flush, or no memory for a request, become a
 * completion with BLOCK_STATUS_IOERR, and the first of each kind is
 * reported on stderr naming the file. */
#ifndef FTVMM_BLOCK_FILE_H
#define FTVMM_BLOCK_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../devices/block_backend.h"
#include "../replication/output_commit.h"
#include "../replication/permit.h"

#define BLOCK_FILE_WORKERS 4
#define BLOCK_FILE_MAX_FAILED 256

enum block_cache {
        BLOCK_CACHE_DIRECT, /* O_DIRECT (O_DSYNC where refused) */
        BLOCK_CACHE_DSYNC,  /* O_DSYNC */
};

struct block_file_options {
        bool readonly;
        enum block_cache cache;
};

struct block_completion {
        uint32_t device;
        uint64_t id;
        uint8_t status;   /* enum block_status */
        uint32_t length;  /* bytes at data: a successful read's */
        uint8_t *data;    /* owned by the completion: block_completion__release */
};

struct block_job;

struct block_file_stats {
        uint64_t direct, synced;  /* requests done through O_DIRECT, through O_DSYNC */
        uint64_t permit_waits;    /* writes that waited for the gate */
        uint64_t dropped;         /* writes the gate refused for good */
};

struct block_file {
        struct block_backend backend;  /* what the device submits to */
        const char *path;
        int fd;
        int dsync_fd;                  /* O_DSYNC: requests O_DIRECT refuses */
        bool direct;                   /* fd is O_DIRECT */
        struct block_file_options options;
        uint64_t size;                 /* bytes when opened */
        int event_fd;                  /* readable while completions may wait */
        void (*wake)(void *context);
        void *wake_context;
        struct permit_gate gate;       /* for writes and discards; none: always */
        pthread_mutex_t lock;
        pthread_cond_t work;           /* jobs, stopping, or a job finished */
        struct block_job *jobs, **jobs_tail;       /* queued, not started */
        struct block_job *running[BLOCK_FILE_WORKERS];
        struct block_job *done, **done_tail;       /* finished, not taken */
        unsigned in_flight;            /* held, queued or running, or done and not taken */
        /* Requests no job could be allocated for: completed as I/O errors
         * without allocating (the device has at most this many
         * outstanding). */
        struct { uint32_t device; uint64_t id; } failed[BLOCK_FILE_MAX_FAILED];
        unsigned failed_count;
        bool stopping;
        unsigned reported;                         /* error kinds already on stderr */
        struct block_file_stats stats;
        pthread_t workers[BLOCK_FILE_WORKERS];
        unsigned worker_count;
};

/* Opens path and starts the workers. Returns 0, or an exit status (66:
 * cannot open, not a regular file or block device, empty; 71: no threads)
 * with a one-line reason in err. */
int block_file__open(struct block_file *f, const char *path, const struct block_file_options *o,
                     char *err, size_t err_size);
/* The size in bytes of the file (or block device) at path, without
 * reading or writing it: for a backup, which must present the same disk
 * but never touch it. Returns 0 or 66 with a one-line reason. */
int block_file__probe(const char *path, uint64_t *size, char *err, size_t err_size);
/* Stops the workers (after the requests they hold) and closes the file. */
void block_file__close(struct block_file *f);
/* Whole 512-byte sectors of the file: the disk's capacity. */
uint64_t block_file__sectors(const struct block_file *f);
/* The request as an output to hold (its data copied): released, it is
 * queued; discarded, it is never performed nor completed. It counts as in
 * flight meanwhile. NULL without memory: then it has been completed as an
 * I/O error instead. */
struct held_output *block_file__hold(struct block_file *f, const struct block_request *r);
/* Moves up to max finished requests into out, oldest first; returns how
 * many. Thread-safe. */
size_t block_file__take_completions(struct block_file *f, struct block_completion *out, size_t max);
/* Requests held, queued or being performed, and finished ones not taken. */
unsigned block_file__in_flight(struct block_file *f);
/* Waits up to timeout_ms for every request queued or running to finish
 * (held ones are output commit's). True if none is left. */
bool block_file__idle(struct block_file *f, int timeout_ms);
/* Sets (or, with NULL, clears) the permit writes and discards need; clear
 * it only once the file is idle. */
void block_file__set_gate(struct block_file *f, const struct permit_gate *gate);
struct block_file_stats block_file__stats(struct block_file *f);
void block_completion__release(struct block_completion *c);

/* "FILE[,readonly][,cache=direct|dsync]" as --disk takes it. Returns 0, or
 * -1 with a one-line reason. path points into a copy the caller frees. */
int block_file__parse_spec(const char *spec, char **path, struct block_file_options *o,
                           char *err, size_t err_size);

#endif
