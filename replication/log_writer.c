#include "log_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void fail_locked(struct log_writer *w, int error, const char *what)
{
        if (w->error)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        w->failed_at_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        w->error = error;
        snprintf(w->error_text, sizeof(w->error_text), "%s: %s: %s", w->sink->name, what,
                 strerror(-error));
        pthread_cond_broadcast(&w->progress);
}

static bool has_work(const struct log_writer *w)
{
        if (!w->pending.length)
                return false;
        return w->closing || w->flush_wanted > w->written ||
               w->pending.length >= LOG_WRITER_BATCH_BYTES;
}

static struct timespec idle_deadline(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += LOG_WRITER_IDLE_FLUSH_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        return ts;
}

/* Takes the pending records; the caller writes them without the lock. */
static struct state_writer take_pending(struct log_writer *w, uint64_t *last)
{
        struct state_writer batch = w->pending;
        state_writer__init(&w->pending);
        *last = w->carrying = w->pending_last;
        return batch;
}

static int carry(struct log_writer *w, struct state_writer *batch, uint64_t last)
{
        int rc = w->sink->write(w->sink, batch->buf, batch->length);
        pthread_mutex_lock(&w->lock);
        if (rc) {
                fail_locked(w, rc, "writing the log");
        } else {
                w->stats.bytes += batch->length;
                w->stats.writes++;
                w->written = last;
                if (w->safety == LOG_SAFE_WHEN_WRITTEN)
                        w->safe = last;
                pthread_cond_broadcast(&w->progress);
        }
        bool sync = w->safety == LOG_SAFE_WHEN_SYNCED;
        pthread_mutex_unlock(&w->lock);
        if (rc || !sync)
                return rc;
        /* Group commit: everything written so far, one fdatasync. */
        rc = w->sink->sync(w->sink);
        pthread_mutex_lock(&w->lock);
        if (rc) {
                fail_locked(w, rc, "syncing the log");
        } else {
                w->stats.syncs++;
                w->safe = last;
                pthread_cond_broadcast(&w->progress);
        }
        pthread_mutex_unlock(&w->lock);
        return rc;
}

static void *writer_thread(void *arg)
{
        struct log_writer *w = arg;
        pthread_mutex_lock(&w->lock);
        for (;;) {
                while (!has_work(w) && !(w->closing && !w->pending.length) && !w->error) {
                        struct timespec until = idle_deadline();
                        if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == ETIMEDOUT &&
                            w->pending.length)
                                w->flush_wanted = w->appended;
                }
                if (w->error || !w->pending.length)
                        break;
                uint64_t last;
                struct state_writer batch = take_pending(w, &last);
                pthread_mutex_unlock(&w->lock);
                int rc = carry(w, &batch, last);
                state_writer__release(&batch);
                uint64_t safe = log_writer__safe(w);
                if (rc) {
                        if (w->on_failure)
                                w->on_failure(w->failure_context);
                        pthread_mutex_lock(&w->lock);
                        break;
                }
                if (w->on_progress)
                        w->on_progress(w->progress_context, safe);
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

int log_writer__start(struct log_writer *w, struct log_sink *sink, enum log_safety safety)
{
        w->sink = sink;
        w->safety = safety;
        state_writer__init(&w->pending);
        w->appended = w->pending_last = w->written = w->safe = w->flush_wanted = w->carrying = 0;
        w->closing = false;
        w->error = 0;
        w->error_text[0] = '\0';
        memset(&w->stats, 0, sizeof(w->stats));
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, &attr);
        pthread_cond_init(&w->progress, &attr);
        pthread_condattr_destroy(&attr);
        int rc = pthread_create(&w->thread, NULL, writer_thread, w);
        w->thread_started = rc == 0;
        return -rc;
}

int log_writer__append(struct log_writer *w, const uint8_t *bytes, size_t n, uint64_t seq)
{
        pthread_mutex_lock(&w->lock);
        int rc = w->error;
        if (!rc) {
                state_writer__bytes(&w->pending, bytes, n);
                if (w->pending.failed)
                        fail_locked(w, -ENOMEM, "buffering the log");
                rc = w->error;
        }
        if (!rc) {
                w->appended = w->pending_last = seq;
                w->stats.records++;
                if (w->pending.length >= LOG_WRITER_BATCH_BYTES)
                        pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->lock);
        return rc;
}

void log_writer__flush(struct log_writer *w)
{
        pthread_mutex_lock(&w->lock);
        if (w->flush_wanted < w->appended) {
                w->flush_wanted = w->appended;
                pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->lock);
}

int log_writer__wait_safe(struct log_writer *w, uint64_t seq)
{
        pthread_mutex_lock(&w->lock);
        if (w->flush_wanted < seq) {
                w->flush_wanted = seq;
                pthread_cond_signal(&w->wake);
        }
        while (w->safe < seq && !w->error)
                pthread_cond_wait(&w->progress, &w->lock);
        int rc = w->safe >= seq ? 0 : w->error;
        pthread_mutex_unlock(&w->lock);
        return rc;
}

int log_writer__wait_safe_for(struct log_writer *w, uint64_t seq, int timeout_ms)
{
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t t = (uint64_t)until.tv_sec * 1000000000ull + (uint64_t)until.tv_nsec +
                     (uint64_t)timeout_ms * 1000000ull;
        until.tv_sec = (time_t)(t / 1000000000ull);
        until.tv_nsec = (long)(t % 1000000000ull);
        pthread_mutex_lock(&w->lock);
        if (w->flush_wanted < seq) {
                w->flush_wanted = seq;
                pthread_cond_signal(&w->wake);
        }
        int rc = 0;
        while (w->safe < seq && !w->error && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&w->progress, &w->lock, &until);
        int result = w->safe >= seq ? 0 : w->error ? w->error : -ETIMEDOUT;
        pthread_mutex_unlock(&w->lock);
        return result;
}

uint64_t log_writer__safe(struct log_writer *w)
{
        pthread_mutex_lock(&w->lock);
        uint64_t safe = w->safe;
        pthread_mutex_unlock(&w->lock);
        return safe;
}

uint64_t log_writer__written(struct log_writer *w)
{
        pthread_mutex_lock(&w->lock);
        uint64_t written = w->written;
        pthread_mutex_unlock(&w->lock);
        return written;
}

struct log_writer_stats log_writer__stats(struct log_writer *w)
{
        pthread_mutex_lock(&w->lock);
        struct log_writer_stats stats = w->stats;
        pthread_mutex_unlock(&w->lock);
        return stats;
}

int log_writer__error(struct log_writer *w, char *text, size_t size)
{
        pthread_mutex_lock(&w->lock);
        int rc = w->error;
        if (rc && text)
                snprintf(text, size, "%s", w->error_text);
        pthread_mutex_unlock(&w->lock);
        return rc;
}

int log_writer__close(struct log_writer *w)
{
        if (!w->thread_started)
                return 0;
        pthread_mutex_lock(&w->lock);
        w->closing = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->thread_started = false;
        state_writer__release(&w->pending);
        pthread_cond_destroy(&w->wake);
        pthread_cond_destroy(&w->progress);
        pthread_mutex_destroy(&w->lock);
        return w->error;
}
