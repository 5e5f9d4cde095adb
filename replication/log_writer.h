/* A log being written. The vCPU thread appends encoded records and goes on;
 * a thread of the writer carries them to their sink (a file, a socket) and
 * reports how far the log is
 *   written: handed to the kernel (write returned), and
 *   safe:    as safe as the sink makes it: written (--sync=write, and a
 *            primary's link, whose protocol then waits for the backup's
 *            acknowledgement: primary_protocol.h), or on disk (--sync=fsync,
 *            one fdatasync covering everything waiting).
 * Output commit (output_commit.h) releases an output only once the log is
 * safe up to the record that precedes it.
 *
 * Records are written when output waits for them (log_writer__flush),
 * when enough have piled up, and every LOG_WRITER_IDLE_FLUSH_MS anyway. */
#ifndef FTVMM_LOG_WRITER_H
#define FTVMM_LOG_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state_record.h"

#define LOG_WRITER_BATCH_BYTES (256 * 1024)
#define LOG_WRITER_IDLE_FLUSH_MS 100

enum log_safety {
        LOG_SAFE_WHEN_WRITTEN, /* --sync=write */
        LOG_SAFE_WHEN_SYNCED,  /* --sync=fsync */
};

struct log_sink {
        /* Writes all n bytes, or returns -errno. On the writer's thread. */
        int (*write)(struct log_sink *sink, const uint8_t *bytes, size_t n);
        /* Makes everything written durable; -errno on failure. */
        int (*sync)(struct log_sink *sink);
        const char *name; /* for messages: the file or the peer */
};

struct log_writer_stats {
        uint64_t bytes, records, writes, syncs;
};

struct log_writer {
        pthread_mutex_t lock;
        pthread_cond_t wake;     /* the thread: work, or closing */
        pthread_cond_t progress; /* waiters: written or safe moved, or a failure */
        pthread_t thread;
        bool thread_started;
        struct log_sink *sink;
        enum log_safety safety;
        struct state_writer pending; /* encoded, not yet handed to the sink */
        uint64_t appended;       /* seq of the last record appended */
        uint64_t pending_last;   /* seq of the last record in pending */
        uint64_t written, safe;
        uint64_t carrying;       /* the last seq of the batch being written
                                  * (the sink may read it in its write) */
        uint64_t flush_wanted;   /* write at least up to this seq soon */
        bool closing;
        int error;               /* -errno of the first failure, 0 while none */
        uint64_t failed_at_ns;   /* CLOCK_MONOTONIC of that failure */
        char error_text[256];
        struct log_writer_stats stats;
        /* Set before log_writer__start. on_progress runs on the writer's
         * thread each time `safe` advances, on_failure once when the
         * writer fails; never under the lock. */
        void (*on_progress)(void *context, uint64_t safe);
        void *progress_context;
        void (*on_failure)(void *context);
        void *failure_context;
};

/* Starts the writer's thread. Returns 0 or -errno. */
int log_writer__start(struct log_writer *w, struct log_sink *sink, enum log_safety safety);
/* Appends one encoded record (seq is its sequence number). Returns 0, or
 * the writer's error if it has failed: nothing more is accepted then. */
int log_writer__append(struct log_writer *w, const uint8_t *bytes, size_t n, uint64_t seq);
/* Asks for everything appended so far to be written (and made safe) soon;
 * returns at once. */
void log_writer__flush(struct log_writer *w);
/* Blocks until the log is safe up to seq, or the writer failed (returns
 * its error). */
int log_writer__wait_safe(struct log_writer *w, uint64_t seq);
/* The same for at most timeout_ms: -ETIMEDOUT if it is not safe by then. */
int log_writer__wait_safe_for(struct log_writer *w, uint64_t seq, int timeout_ms);
uint64_t log_writer__safe(struct log_writer *w);
uint64_t log_writer__written(struct log_writer *w);
struct log_writer_stats log_writer__stats(struct log_writer *w);
/* 0, or the error that stopped the writer (message in *text, if given). */
int log_writer__error(struct log_writer *w, char *text, size_t size);
/* Writes and syncs what remains, stops the thread. Returns 0 or the error. */
int log_writer__close(struct log_writer *w);

#endif
