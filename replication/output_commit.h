/* The output rule (BRIEF.md, "Outputs"): a console byte the guest produced
 * leaves ftvmm only once the log that reproduces it is safe. Each byte is
 * held with the sequence number of the last log record appended before it
 * (everything a replay needs to produce it again); when the log is safe up
 * to that record, a thread of its own hands the byte to the console, so
 * the guest never waits for its output. */
#ifndef FTVMM_OUTPUT_COMMIT_H
#define FTVMM_OUTPUT_COMMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*output_emit_fn)(void *context, const uint8_t *bytes, size_t n);

struct held_chunk {
        uint64_t seq;        /* released once the log is safe up to here */
        uint64_t end;        /* produced offset just past its last byte */
        uint64_t held_at_ns; /* CLOCK_MONOTONIC, for the latency it adds */
};

struct output_commit_stats {
        uint64_t produced, released;   /* bytes */
        uint64_t chunks_released;
        uint64_t latency_total_ns, latency_max_ns;
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
        uint64_t produced, released;
        uint64_t safe;          /* the log is safe up to this seq */
        bool closing, discard;
        struct output_commit_stats stats;
        /* Optional, set before output_commit__start's caller holds bytes:
         * gate says whether output may leave now (a primary's fence: no
         * other replica has taken over); released hears each new release
         * mark (a primary tells its backup). On the release thread. */
        bool (*gate)(void *context);
        void (*released_hook)(void *context, uint64_t released);
        void *hook_context;
};

/* produced_before: console bytes the guest wrote before this commit began
 * (a backup's position in the transcript). Returns 0 or -errno. */
int output_commit__start(struct output_commit *oc, output_emit_fn emit, void *context,
                         uint64_t produced_before);
/* Holds n bytes until the log is safe up to seq (vCPU thread). Returns 0
 * or -ENOMEM. */
int output_commit__hold(struct output_commit *oc, const uint8_t *bytes, size_t n, uint64_t seq);
/* The log is safe up to seq: release what waited for it. */
void output_commit__safe(struct output_commit *oc, uint64_t seq);
/* Bytes produced and bytes released so far, as offsets in the transcript. */
uint64_t output_commit__produced(struct output_commit *oc);
uint64_t output_commit__released(struct output_commit *oc);
struct output_commit_stats output_commit__stats(struct output_commit *oc);
/* Waits up to timeout_ms for everything up to offset to have left.
 * Returns true if it has. */
bool output_commit__wait_released(struct output_commit *oc, uint64_t offset, int timeout_ms);
/* Sets the gate and release hook (before any bytes are held). */
void output_commit__set_hooks(struct output_commit *oc, bool (*gate)(void *context),
                              void (*released_hook)(void *context, uint64_t released),
                              void *context);
/* Stops the thread: with release_rest, after emitting everything the log
 * covers (call it once the log is closed) if the gate allows; without,
 * dropping what is still held (the log failed: nothing it does not hold
 * may leave). */
void output_commit__close(struct output_commit *oc, bool release_rest);

#endif
