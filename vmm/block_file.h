/* A raw disk image file as a block backend (devices/block_backend.h):
 * `--disk FILE[,readonly]`.
 *
 * Requests are queued to a few worker threads that do pread, pwrite,
 * fdatasync and hole punching, so the vCPU never waits for the disk and
 * several requests are in flight at once. A finished request becomes a
 * completion in a thread-safe queue; the vCPU side takes them with
 * block_file__take_completions and applies them to the device as events
 * when it chooses. A worker announces each completion on an eventfd (for a
 * vCPU thread that sleeps in a halt) and through `wake` (machine__kick,
 * for one inside KVM_RUN).
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

#define BLOCK_FILE_WORKERS 4
#define BLOCK_FILE_MAX_FAILED 256

struct block_completion {
        uint32_t device;
        uint64_t id;
        uint8_t status;   /* enum block_status */
        uint32_t length;  /* bytes at data: a successful read's */
        uint8_t *data;    /* owned by the completion: block_completion__release */
};

struct block_job;

struct block_file {
        struct block_backend backend;  /* what the device submits to */
        const char *path;
        int fd;
        bool readonly;
        uint64_t size;                 /* bytes when opened */
        int event_fd;                  /* readable while completions may wait */
        void (*wake)(void *context);
        void *wake_context;
        pthread_mutex_t lock;
        pthread_cond_t work;
        struct block_job *jobs, **jobs_tail;       /* submitted, not started */
        struct block_job *done, **done_tail;       /* finished, not taken */
        unsigned in_flight;                        /* submitted, not taken */
        /* Requests no job could be allocated for: completed as I/O errors
         * without allocating (the device has at most this many
         * outstanding). */
        struct { uint32_t device; uint64_t id; } failed[BLOCK_FILE_MAX_FAILED];
        unsigned failed_count;
        bool stopping;
        unsigned reported;                         /* error kinds already on stderr */
        pthread_t workers[BLOCK_FILE_WORKERS];
        unsigned worker_count;
};

/* Opens path (read-only if asked) and starts the workers. Returns 0, or
 * an exit status (66: cannot open, not a regular file or block device,
 * empty; 71: no threads) with a one-line reason in err. */
int block_file__open(struct block_file *f, const char *path, bool readonly,
                     char *err, size_t err_size);
/* The size in bytes of the file (or block device) at path, without
 * reading or writing it: for a backup, which must present the same disk
 * but never touch it. Returns 0 or 66 with a one-line reason. */
int block_file__probe(const char *path, uint64_t *size, char *err, size_t err_size);
/* Stops the workers (after the requests they hold) and closes the file. */
void block_file__close(struct block_file *f);
/* Whole 512-byte sectors of the file: the disk's capacity. */
uint64_t block_file__sectors(const struct block_file *f);
/* Moves up to max finished requests into out, oldest first; returns how
 * many. Thread-safe. */
size_t block_file__take_completions(struct block_file *f, struct block_completion *out, size_t max);
/* Submitted requests whose completion has not been taken yet. */
unsigned block_file__in_flight(struct block_file *f);
void block_completion__release(struct block_completion *c);

/* "FILE" or "FILE,readonly" as --disk takes it. Returns 0, or -1 with a
 * one-line reason. path points into a copy the caller frees. */
int block_file__parse_spec(const char *spec, char **path, bool *readonly,
                           char *err, size_t err_size);

#endif
