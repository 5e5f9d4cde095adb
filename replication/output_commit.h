/* The output rule (BRIEF.md, "Outputs"): nothing another party can see
 * leaves ftvmm before the log that accounts for it is safe. Each output is
 * held with the sequence number of the last log record appended before it
 * (everything a replay needs to produce it again); when the log is safe up
 * to that record, a thread of its own lets it go, so the guest never waits
 * for its outputs.
 *
 * Two kinds of output are held: console bytes, which this module writes
 * itself and counts (the release mark a backup re-emits from), and held
 * outputs of other kinds (a write to the shared disk), which it hands back
 * to their owner to perform. Both leave in one batch under one permit of
 * the gate (a replica's protocol: permit.h), so a batch is decided once,
 * and never after the replica was fenced. */
#ifndef FTVMM_OUTPUT_COMMIT_H
#define FTVMM_OUTPUT_COMMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "permit.h"

/* Writes console bytes; returns how many left (fewer than n only if the
 * console failed for good: the rest are not counted as released). */
typedef size_t (*output_emit_fn)(void *context, const uint8_t *bytes, size_t n);

/* An output of another kind, owned by whoever held it. */
struct held_output {
        struct held_output *next;
        uint64_t seq;                            /* set by output_commit__hold_output */
        void (*release)(struct held_output *h);  /* it leaves now (release thread) */
        void (*discard)(struct held_output *h);  /* it never leaves */
};

struct held_chunk {
        uint64_t seq;        /* released once the log is safe up to here */
        uint64_t end;        /* produced offset just past its last byte */
        uint64_t held_at_ns; /* CLOCK_MONOTONIC, for the latency it adds */
};

struct output_commit_stats {
        uint64_t produced, released;   /* console bytes */
        uint64_t chunks_released;
        uint64_t latency_total_ns, latency_max_ns;
        uint64_t outputs_held, outputs_released, outputs_discarded, batches;
};

struct output_commit {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t thread;
        bool thread_started;
        output_emit_fn emit;
        void *emit_context;
        uint8_t *bytes;         /* held bytes: produced offsets [base, produced) */
        size_t capacity;
        uint64_t base;
        struct held_chunk *chunks;
        size_t chunk_count, chunk_capacity;
        struct held_output *outputs, **outputs_tail; /* in seq order */
        uint64_t produced;
        uint64_t taken;         /* bytes a batch has taken for emitting */
        uint64_t released;      /* bytes that left: the release mark */
        uint64_t safe;          /* the log is safe up to this seq */
        bool closing, discard;
        bool console_failed;    /* the release mark stays where it failed */
        struct output_commit_stats stats;
        /* Optional, set before anything is held: the permit every batch
         * needs, and who hears each new release mark (a primary tells its
         * backup). On the release thread. */
        struct permit_gate gate;
        void (*released_hook)(void *context, uint64_t released);
        void *hook_context;
};

/* produced_before: console bytes the guest wrote before this commit began
 * (a backup's position in the transcript). Returns 0 or -errno. */
int output_commit__start(struct output_commit *oc, output_emit_fn emit, void *context,
                         uint64_t produced_before);
/* Holds n console bytes until the log is safe up to seq (vCPU thread).
 * Returns 0 or -ENOMEM. */
int output_commit__hold(struct output_commit *oc, const uint8_t *bytes, size_t n, uint64_t seq);
/* Holds another output until the log is safe up to seq. */
void output_commit__hold_output(struct output_commit *oc, struct held_output *h, uint64_t seq);
/* The log is safe up to seq: release what waited for it. */
void output_commit__safe(struct output_commit *oc, uint64_t seq);
/* Console bytes produced and released so far, as offsets in the transcript. */
uint64_t output_commit__produced(struct output_commit *oc);
uint64_t output_commit__released(struct output_commit *oc);
/* The console bytes produced and not yet released, copied into *bytes
 * (malloc'd, or NULL when none); *from is the offset of the first, which
 * is the release mark. A backup that joins keeps them, so that it can
 * re-emit them if this replica dies before they leave. 0 or -ENOMEM. */
int output_commit__unreleased(struct output_commit *oc, uint64_t *from, uint8_t **bytes,
                              size_t *n);
struct output_commit_stats output_commit__stats(struct output_commit *oc);
/* Sets the gate and release hook (before anything is held). */
void output_commit__set_gate(struct output_commit *oc, const struct permit_gate *gate,
                             void (*released_hook)(void *context, uint64_t released),
                             void *context);
/* Stops the thread: with release_rest, after letting go of everything held
 * (call it once the log is closed) if the gate allows; without, dropping
 * what is still held (the log failed: nothing it does not hold may leave). */
void output_commit__close(struct output_commit *oc, bool release_rest);

#endif
