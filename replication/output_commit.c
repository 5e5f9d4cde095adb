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

static bool is_safe(const struct output_commit *oc, uint64_t seq)
{
        return seq <= oc->safe || oc->closing;
}

/* Chunks at the front whose records are safe, and how far they reach. */
static size_t releasable_chunks(const struct output_commit *oc, uint64_t *until)
{
        size_t n = 0;
        *until = oc->taken;
        while (n < oc->chunk_count && is_safe(oc, oc->chunks[n].seq)) {
                *until = oc->chunks[n].end;
                n++;
        }
        return n;
}

static bool anything_releasable(const struct output_commit *oc)
{
        uint64_t until;
        return releasable_chunks(oc, &until) || (oc->outputs && is_safe(oc, oc->outputs->seq));
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

/* Detaches the held outputs whose records are safe, in order. */
static struct held_output *take_outputs(struct output_commit *oc)
{
        struct held_output *first = oc->outputs, **end = &oc->outputs;
        while (*end && is_safe(oc, (*end)->seq))
                end = &(*end)->next;
        if (end == &oc->outputs)
                return NULL;
        oc->outputs = *end;
        if (!oc->outputs)
                oc->outputs_tail = &oc->outputs;
        *end = NULL;
        return first;
}

static void discard_outputs(struct held_output *h)
{
        while (h) {
                struct held_output *next = h->next;
                h->discard(h);
                h = next;
        }
}

/* Fenced, or the log failed: nothing held leaves, now or later. */
static void discard_everything(struct output_commit *oc)
{
        oc->discard = true;
        oc->chunk_count = 0;
        oc->taken = oc->produced;
        struct held_output *h = oc->outputs;
        for (struct held_output *o = h; o; o = o->next)
                oc->stats.outputs_discarded++;
        oc->outputs = NULL;
        oc->outputs_tail = &oc->outputs;
        pthread_mutex_unlock(&oc->lock);
        discard_outputs(h);
        pthread_mutex_lock(&oc->lock);
}

static enum permit begin_permit(struct output_commit *oc)
{
        if (!oc->gate.begin)
                return PERMIT_GO;
        pthread_mutex_unlock(&oc->lock);
        enum permit p = oc->gate.begin(oc->gate.context);
        pthread_mutex_lock(&oc->lock);
        return p;
}

/* One batch under one permit: the console bytes whose records are safe,
 * from a private copy so the vCPU thread can hold more meanwhile, and the
 * other outputs, handed back to their owners. */
static void release_batch(struct output_commit *oc)
{
        uint64_t until;
        size_t chunks = releasable_chunks(oc, &until);
        size_t n = (size_t)(until - oc->taken);
        uint8_t *copy = n ? malloc(n) : NULL;
        if (n && !copy) {
                if (oc->gate.end)
                        oc->gate.end(oc->gate.context);
                return; /* tried again at the next wake */
        }
        if (n)
                memcpy(copy, oc->bytes + (oc->taken - oc->base), n);
        uint64_t from = oc->taken;
        account_latency(oc, chunks, monotonic_ns());
        oc->taken = until;
        struct held_output *outputs = take_outputs(oc);
        pthread_mutex_unlock(&oc->lock);
        size_t left = n ? oc->emit(oc->emit_context, copy, n) : 0;
        free(copy);
        unsigned handed = 0;
        for (struct held_output *h = outputs, *next; h; h = next, handed++) {
                next = h->next;
                h->release(h);
        }
        if (oc->gate.end)
                oc->gate.end(oc->gate.context);
        pthread_mutex_lock(&oc->lock);
        oc->stats.outputs_released += handed;
        oc->stats.batches++;
        /* The release mark covers only what left: bytes the console
         * refused are re-emitted by a backup that goes live. */
        if (left < n)
                oc->console_failed = true;
        if (left && oc->released == from) {
                oc->released = from + left;
                oc->stats.released = oc->released;
                uint64_t mark = oc->released;
                if (oc->released_hook) {
                        pthread_mutex_unlock(&oc->lock);
                        oc->released_hook(oc->hook_context, mark);
                        pthread_mutex_lock(&oc->lock);
                }
        }
}

static void wait_a_little(struct output_commit *oc)
{
        struct timespec in_10ms;
        clock_gettime(CLOCK_REALTIME, &in_10ms);
        in_10ms.tv_nsec += 10000000;
        if (in_10ms.tv_nsec >= 1000000000) {
                in_10ms.tv_sec++;
                in_10ms.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&oc->wake, &oc->lock, &in_10ms);
}

static void *release_thread(void *arg)
{
        struct output_commit *oc = arg;
        pthread_mutex_lock(&oc->lock);
        for (;;) {
                while (!anything_releasable(oc) && !oc->closing)
                        pthread_cond_wait(&oc->wake, &oc->lock);
                if (oc->discard) {
                        discard_everything(oc);
                        break;
                }
                if (!anything_releasable(oc))
                        break; /* closing, and everything has left */
                /* A permit that waits is polled: what grants it (an
                 * acknowledgement, the arbiter's answer) is not ours to see. */
                enum permit p = begin_permit(oc);
                if (p == PERMIT_GO)
                        release_batch(oc);
                else if (p == PERMIT_NEVER)
                        oc->discard = true;
                else
                        wait_a_little(oc);
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
        oc->base = oc->produced = oc->taken = oc->released = produced_before;
        oc->stats.produced = oc->stats.released = produced_before;
        oc->outputs_tail = &oc->outputs;
        pthread_mutex_init(&oc->lock, NULL);
        pthread_cond_init(&oc->wake, NULL);
        int rc = pthread_create(&oc->thread, NULL, release_thread, oc);
        oc->thread_started = rc == 0;
        return -rc;
}

/* Drops released bytes from the front once they are half the buffer
 * (output_commit__unreleased needs the rest); once the console has failed
 * for good, the release mark stays where it failed and whatever was taken
 * goes. */
static void compact(struct output_commit *oc)
{
        uint64_t upto = oc->console_failed ? oc->taken : oc->released;
        size_t done = (size_t)(upto - oc->base);
        if (!oc->bytes || done < oc->capacity / 2)
                return;
        memmove(oc->bytes, oc->bytes + done, (size_t)(oc->produced - upto));
        oc->base = upto;
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

void output_commit__hold_output(struct output_commit *oc, struct held_output *h, uint64_t seq)
{
        h->seq = seq;
        h->next = NULL;
        pthread_mutex_lock(&oc->lock);
        bool discard = oc->discard;
        if (!discard) {
                *oc->outputs_tail = h;
                oc->outputs_tail = &h->next;
                oc->stats.outputs_held++;
                if (seq <= oc->safe)
                        pthread_cond_signal(&oc->wake);
        } else {
                oc->stats.outputs_discarded++;
        }
        pthread_mutex_unlock(&oc->lock);
        if (discard)
                h->discard(h);
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

void output_commit__set_gate(struct output_commit *oc, const struct permit_gate *gate,
                             void (*released_hook)(void *context, uint64_t released),
                             void *context)
{
        pthread_mutex_lock(&oc->lock);
        oc->gate = *gate;
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

int output_commit__unreleased(struct output_commit *oc, uint64_t *from, uint8_t **bytes,
                              size_t *n)
{
        pthread_mutex_lock(&oc->lock);
        *from = oc->released > oc->base ? oc->released : oc->base;
        *n = (size_t)(oc->produced - *from);
        *bytes = NULL;
        int rc = 0;
        if (*n && !(*bytes = malloc(*n)))
                rc = -ENOMEM;
        else if (*n)
                memcpy(*bytes, oc->bytes + (*from - oc->base), *n);
        pthread_mutex_unlock(&oc->lock);
        return rc;
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
                if (!release_rest)
                        oc->discard = true;
                pthread_cond_signal(&oc->wake);
                pthread_mutex_unlock(&oc->lock);
                pthread_join(oc->thread, NULL);
                oc->thread_started = false;
        }
        discard_outputs(oc->outputs);
        pthread_cond_destroy(&oc->wake);
        pthread_mutex_destroy(&oc->lock);
        free(oc->bytes);
        free(oc->chunks);
        oc->bytes = NULL;
        oc->chunks = NULL;
        oc->outputs = NULL;
}
