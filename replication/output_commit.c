#include "output_commit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t monotonic_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Chunks at the front whose records are safe, and how far they reach. */
static size_t releasable(const struct output_commit *oc, uint64_t *until)
{
        size_t n = 0;
        *until = oc->released;
        while (n < oc->chunk_count && (oc->chunks[n].seq <= oc->safe || oc->closing)) {
                *until = oc->chunks[n].end;
                n++;
        }
        return n;
}

static void account_latency(struct output_commit *oc, size_t chunks, uint64_t now)
{
        for (size_t i = 0; i < chunks; i++) {
                uint64_t waited = now - oc->chunks[i].held_at_ns;
                oc->stats.latency_total_ns += waited;
                if (waited > oc->stats.latency_max_ns)
                        oc->stats.latency_max_ns = waited;
        }
        oc->stats.chunks_released += chunks;
        memmove(oc->chunks, oc->chunks + chunks, (oc->chunk_count - chunks) * sizeof(oc->chunks[0]));
        oc->chunk_count -= chunks;
}

static bool gate_open(struct output_commit *oc)
{
        if (!oc->gate)
                return true;
        pthread_mutex_unlock(&oc->lock);
        bool open = oc->gate(oc->hook_context);
        pthread_mutex_lock(&oc->lock);
        return open;
}

/* Emits without the lock, from a private copy, so the vCPU thread can hold
 * more meanwhile. */
static void emit_released(struct output_commit *oc)
{
        uint64_t until;
        size_t chunks = releasable(oc, &until);
        if (!chunks)
                return;
        if (!gate_open(oc)) {
                if (oc->closing)
                        oc->discard = true; /* fenced for good: nothing more leaves */
                return;
        }
        chunks = releasable(oc, &until);
        size_t n = (size_t)(until - oc->released);
        uint8_t *copy = malloc(n ? n : 1);
        if (copy && n)
                memcpy(copy, oc->bytes + (oc->released - oc->base), n);
        account_latency(oc, chunks, monotonic_ns());
        oc->released = until;
        oc->stats.released = until;
        bool discard = oc->discard;
        pthread_mutex_unlock(&oc->lock);
        if (copy && !discard)
                oc->emit(oc->emit_context, copy, n);
        free(copy);
        if (!discard && oc->released_hook)
                oc->released_hook(oc->hook_context, until);
        pthread_mutex_lock(&oc->lock);
}

static void *release_thread(void *arg)
{
        struct output_commit *oc = arg;
        pthread_mutex_lock(&oc->lock);
        for (;;) {
                uint64_t until;
                while (!releasable(oc, &until) && !oc->closing)
                        pthread_cond_wait(&oc->wake, &oc->lock);
                /* A closed gate is polled: what opens it is not ours to see. */
                if (!oc->closing && oc->gate && !gate_open(oc)) {
                        struct timespec in_10ms;
                        clock_gettime(CLOCK_REALTIME, &in_10ms);
                        in_10ms.tv_nsec += 10000000;
                        if (in_10ms.tv_nsec >= 1000000000) {
                                in_10ms.tv_sec++;
                                in_10ms.tv_nsec -= 1000000000;
                        }
                        pthread_cond_timedwait(&oc->wake, &oc->lock, &in_10ms);
                        continue;
                }
                if (oc->closing && !oc->discard)
                        emit_released(oc);
                if (oc->closing)
                        break;
                emit_released(oc);
        }
        pthread_mutex_unlock(&oc->lock);
        return NULL;
}

int output_commit__start(struct output_commit *oc, output_emit_fn emit, void *context,
                         uint64_t produced_before)
{
        memset(oc, 0, sizeof(*oc));
        oc->emit = emit;
        oc->emit_context = context;
        oc->base = oc->produced = oc->released = produced_before;
        oc->stats.produced = oc->stats.released = produced_before;
        pthread_mutex_init(&oc->lock, NULL);
        pthread_cond_init(&oc->wake, NULL);
        int rc = pthread_create(&oc->thread, NULL, release_thread, oc);
        oc->thread_started = rc == 0;
        return -rc;
}

/* Drops released bytes from the front once they are half the buffer. */
static void compact(struct output_commit *oc)
{
        size_t done = (size_t)(oc->released - oc->base);
        if (!oc->bytes || done < oc->capacity / 2)
                return;
        memmove(oc->bytes, oc->bytes + done, (size_t)(oc->produced - oc->released));
        oc->base = oc->released;
}

static int grow(struct output_commit *oc, size_t n)
{
        compact(oc);
        size_t used = (size_t)(oc->produced - oc->base);
        if (used + n > oc->capacity) {
                size_t cap = oc->capacity ? oc->capacity : 4096;
                while (cap < used + n)
                        cap *= 2;
                uint8_t *grown = realloc(oc->bytes, cap);
                if (!grown)
                        return -ENOMEM;
                oc->bytes = grown;
                oc->capacity = cap;
        }
        if (oc->chunk_count == oc->chunk_capacity) {
                size_t cap = oc->chunk_capacity ? oc->chunk_capacity * 2 : 64;
                struct held_chunk *grown = realloc(oc->chunks, cap * sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                oc->chunks = grown;
                oc->chunk_capacity = cap;
        }
        return 0;
}

int output_commit__hold(struct output_commit *oc, const uint8_t *bytes, size_t n, uint64_t seq)
{
        pthread_mutex_lock(&oc->lock);
        int rc = grow(oc, n);
        if (!rc) {
                memcpy(oc->bytes + (oc->produced - oc->base), bytes, n);
                oc->produced += n;
                oc->stats.produced = oc->produced;
                struct held_chunk *last = oc->chunk_count ? &oc->chunks[oc->chunk_count - 1] : NULL;
                if (last && last->seq == seq)
                        last->end = oc->produced;
                else
                        oc->chunks[oc->chunk_count++] = (struct held_chunk){
                                .seq = seq, .end = oc->produced, .held_at_ns = monotonic_ns() };
                if (seq <= oc->safe)
                        pthread_cond_signal(&oc->wake);
        }
        pthread_mutex_unlock(&oc->lock);
        return rc;
}

void output_commit__safe(struct output_commit *oc, uint64_t seq)
{
        pthread_mutex_lock(&oc->lock);
        if (seq > oc->safe) {
                oc->safe = seq;
                pthread_cond_signal(&oc->wake);
        }
        pthread_mutex_unlock(&oc->lock);
}

void output_commit__set_hooks(struct output_commit *oc, bool (*gate)(void *context),
                              void (*released_hook)(void *context, uint64_t released),
                              void *context)
{
        pthread_mutex_lock(&oc->lock);
        oc->gate = gate;
        oc->released_hook = released_hook;
        oc->hook_context = context;
        pthread_mutex_unlock(&oc->lock);
}

uint64_t output_commit__produced(struct output_commit *oc)
{
        pthread_mutex_lock(&oc->lock);
        uint64_t v = oc->produced;
        pthread_mutex_unlock(&oc->lock);
        return v;
}

uint64_t output_commit__released(struct output_commit *oc)
{
        pthread_mutex_lock(&oc->lock);
        uint64_t v = oc->released;
        pthread_mutex_unlock(&oc->lock);
        return v;
}

bool output_commit__wait_released(struct output_commit *oc, uint64_t offset, int timeout_ms)
{
        for (int waited = 0; waited <= timeout_ms; waited++) {
                if (output_commit__released(oc) >= offset)
                        return true;
                struct timespec ms = { .tv_nsec = 1000000 };
                nanosleep(&ms, NULL);
        }
        return false;
}

struct output_commit_stats output_commit__stats(struct output_commit *oc)
{
        pthread_mutex_lock(&oc->lock);
        struct output_commit_stats s = oc->stats;
        pthread_mutex_unlock(&oc->lock);
        return s;
}

void output_commit__close(struct output_commit *oc, bool release_rest)
{
        if (oc->thread_started) {
                pthread_mutex_lock(&oc->lock);
                oc->closing = true;
                oc->discard = !release_rest;
                pthread_cond_signal(&oc->wake);
                pthread_mutex_unlock(&oc->lock);
                pthread_join(oc->thread, NULL);
                oc->thread_started = false;
        }
        pthread_cond_destroy(&oc->wake);
        pthread_mutex_destroy(&oc->lock);
        free(oc->bytes);
        free(oc->chunks);
        oc->bytes = NULL;
        oc->chunks = NULL;
}
