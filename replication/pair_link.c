#include "pair_link.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp.h"

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pair_link__fail(struct pair_link *l, const char *fmt, ...)
{
        pthread_mutex_lock(&l->lock);
        bool first = !l->lost;
        /* This side's own pair_link__stop makes its receiver read the end
         * of the connection: that is no failure of the peer. */
        bool peer_failed = first && !l->stopping;
        if (first) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(l->why, sizeof(l->why), fmt, ap);
                va_end(ap);
                l->lost = true;
                /* Unblocks the receiver's read and any send in progress. */
                shutdown(l->fd, SHUT_RDWR);
                pthread_cond_broadcast(&l->stopping_cond);
        }
        pthread_mutex_unlock(&l->lock);
        if (peer_failed && l->cb.lost)
                l->cb.lost(l->cb.context, l->why);
}

bool pair_link__is_lost(struct pair_link *l)
{
        pthread_mutex_lock(&l->lock);
        bool lost = l->lost;
        pthread_mutex_unlock(&l->lock);
        return lost;
}

/* The receiver may note a message between the two reads: never less than
 * zero. */
static uint64_t silence_ns(struct pair_link *l)
{
        uint64_t heard = __atomic_load_n(&l->last_heard_ns, __ATOMIC_ACQUIRE);
        uint64_t now = now_ns();
        return now > heard ? now - heard : 0;
}

uint64_t pair_link__silence_ms(struct pair_link *l)
{
        return silence_ns(l) / 1000000;
}

/* 1 if the beat went out, 0 if it was skipped (no room), or -errno. A
 * beat that went out in part is finished within the failure timeout, or
 * the stream is broken and the peer lost. */
static int send_beat_locked(struct pair_link *l, const uint8_t *bytes, size_t n)
{
        ssize_t sent;
        do
                sent = send(l->fd, bytes, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (sent < 0 && errno == EINTR);
        if (sent < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        uint64_t deadline = now_ns() + l->failure_timeout_ns;
        for (size_t done = (size_t)sent; done < n;) {
                uint64_t now = now_ns();
                struct pollfd p = { .fd = l->fd, .events = POLLOUT };
                if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000) + 1) == 0)
                        return -ETIMEDOUT;
                sent = send(l->fd, bytes + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (sent < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                        return -errno;
                if (sent > 0)
                        done += (size_t)sent;
        }
        return 1;
}

int pair_link__send(struct pair_link *l, const uint8_t *bytes, size_t n)
{
        if (pair_link__is_lost(l))
                return -EPIPE;
        pthread_mutex_lock(&l->send_lock);
        int rc = tcp__send_all(l->fd, bytes, n);
        pthread_mutex_unlock(&l->send_lock);
        if (rc) {
                pair_link__fail(l, "sending to the peer: %s", strerror(-rc));
                return -EPIPE;
        }
        __atomic_store_n(&l->last_sent_ns, now_ns(), __ATOMIC_RELAXED);
        __atomic_add_fetch(&l->bytes_sent, n, __ATOMIC_RELAXED);
        return 0;
}

/* Heartbeats are the peer's only sign of life when nothing else flows;
 * while a send is in progress or the socket is full, the peer has bytes of
 * ours to read anyway. */
int pair_link__send_beat(struct pair_link *l, const uint8_t *bytes, size_t n)
{
        if (pair_link__is_lost(l))
                return -EPIPE;
        if (pthread_mutex_trylock(&l->send_lock))
                return 0;
        int rc = send_beat_locked(l, bytes, n);
        pthread_mutex_unlock(&l->send_lock);
        if (rc < 0) {
                pair_link__fail(l, "sending to the peer: %s", strerror(-rc));
                return -EPIPE;
        }
        if (rc > 0) {
                __atomic_store_n(&l->last_sent_ns, now_ns(), __ATOMIC_RELAXED);
                __atomic_add_fetch(&l->bytes_sent, n, __ATOMIC_RELAXED);
        }
        return 0;
}

/* Hands out every intact record at the front of buf; returns the bytes
 * consumed, or -1 once a record is corrupt (the peer is then lost). */
static long split_records(struct pair_link *l, const uint8_t *buf, size_t length)
{
        size_t at = 0;
        for (;;) {
                struct state_record_header h;
                char why[160];
                enum state_record_check c = state_record__check(buf + at, length - at, &h, why, sizeof(why));
                if (c == STATE_RECORD_CORRUPT) {
                        pair_link__fail(l, "a corrupt record from the peer: %s", why);
                        return -1;
                }
                if (length - at >= STATE_RECORD_HEADER_SIZE && h.payload_length > l->max_record) {
                        pair_link__fail(l, "a %s record of %u bytes from the peer, over the limit", h.tag,
                                        h.payload_length);
                        return -1;
                }
                if (c == STATE_RECORD_INCOMPLETE)
                        return (long)at;
                size_t n = STATE_RECORD_OVERHEAD + h.payload_length;
                l->cb.record(l->cb.context, &h, buf + at, n);
                at += n;
                if (pair_link__is_lost(l))
                        return -1;
        }
}

static void *receive_thread(void *arg)
{
        struct pair_link *l = arg;
        size_t capacity = 1 << 20, length = 0;
        uint8_t *buf = malloc(capacity);
        while (buf && !pair_link__is_lost(l)) {
                if (length == capacity) {
                        uint8_t *grown = realloc(buf, capacity * 2);
                        if (!grown)
                                break;
                        buf = grown;
                        capacity *= 2;
                }
                ssize_t n = recv(l->fd, buf + length, capacity - length, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        pair_link__fail(l, "receiving from the peer: %s", strerror(errno));
                        break;
                }
                if (n == 0) {
                        if (length)
                                pair_link__fail(l, "the peer closed the connection inside a record "
                                                   "(%zu bytes of it arrived; dropped)", length);
                        else
                                pair_link__fail(l, "the peer closed the connection");
                        break;
                }
                __atomic_store_n(&l->last_heard_ns, now_ns(), __ATOMIC_RELEASE);
                __atomic_add_fetch(&l->bytes_received, (uint64_t)n, __ATOMIC_RELAXED);
                length += (size_t)n;
                long used = split_records(l, buf, length);
                if (used < 0)
                        break;
                if (used > 0 && l->cb.drained)
                        l->cb.drained(l->cb.context);
                memmove(buf, buf + used, length - (size_t)used);
                length -= (size_t)used;
        }
        if (!buf)
                pair_link__fail(l, "out of memory receiving from the peer");
        free(buf);
        return NULL;
}

static void *heartbeat_thread(void *arg)
{
        struct pair_link *l = arg;
        pthread_mutex_lock(&l->lock);
        while (!l->lost && !l->stopping) {
                struct timespec until;
                clock_gettime(CLOCK_MONOTONIC, &until);
                uint64_t t = (uint64_t)until.tv_sec * 1000000000ull + (uint64_t)until.tv_nsec +
                             l->heartbeat_ns;
                until.tv_sec = (time_t)(t / 1000000000ull);
                until.tv_nsec = (long)(t % 1000000000ull);
                pthread_cond_timedwait(&l->stopping_cond, &l->lock, &until);
                if (l->lost || l->stopping)
                        break;
                pthread_mutex_unlock(&l->lock);
                uint64_t silence = silence_ns(l);
                if (silence > l->failure_timeout_ns && __atomic_load_n(&l->armed, __ATOMIC_ACQUIRE))
                        pair_link__fail(l, "nothing from the peer for %llu ms",
                                        (unsigned long long)(silence / 1000000));
                else if (l->cb.tick)
                        l->cb.tick(l->cb.context);
                pthread_mutex_lock(&l->lock);
        }
        pthread_mutex_unlock(&l->lock);
        return NULL;
}

void pair_link__arm(struct pair_link *l)
{
        __atomic_store_n(&l->last_heard_ns, now_ns(), __ATOMIC_RELEASE);
        __atomic_store_n(&l->armed, true, __ATOMIC_RELEASE);
}

int pair_link__start(struct pair_link *l, int fd, uint64_t heartbeat_ns,
                     uint64_t failure_timeout_ns, size_t max_record, bool armed,
                     const struct pair_link_callbacks *cb)
{
        memset(l, 0, sizeof(*l));
        l->armed = armed;
        l->fd = fd;
        l->heartbeat_ns = heartbeat_ns;
        l->failure_timeout_ns = failure_timeout_ns;
        l->max_record = max_record;
        l->cb = *cb;
        l->last_heard_ns = l->last_sent_ns = now_ns();
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&l->stopping_cond, &attr);
        pthread_condattr_destroy(&attr);
        pthread_mutex_init(&l->lock, NULL);
        pthread_mutex_init(&l->send_lock, NULL);
        int rc = pthread_create(&l->receiver, NULL, receive_thread, l);
        if (!rc && (rc = pthread_create(&l->heartbeat, NULL, heartbeat_thread, l))) {
                pair_link__fail(l, "starting the heartbeat: %s", strerror(rc));
                pthread_join(l->receiver, NULL);
        }
        l->started = rc == 0;
        return -rc;
}

void pair_link__stop(struct pair_link *l)
{
        if (!l->started)
                return;
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        shutdown(l->fd, SHUT_RDWR);
        pthread_cond_broadcast(&l->stopping_cond);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->receiver, NULL);
        pthread_join(l->heartbeat, NULL);
        close(l->fd);
        l->started = false;
        pthread_cond_destroy(&l->stopping_cond);
        pthread_mutex_destroy(&l->lock);
        pthread_mutex_destroy(&l->send_lock);
}

/* Reads exactly n bytes before the deadline. */
static int read_exactly(int fd, uint8_t *buf, size_t n, uint64_t deadline, char *err, size_t err_size)
{
        for (size_t got = 0; got < n;) {
                uint64_t now = now_ns();
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0) {
                        snprintf(err, err_size, "nothing from the peer in time");
                        return -1;
                }
                ssize_t r = recv(fd, buf + got, n - got, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        snprintf(err, err_size, "%s", r == 0 ? "the peer closed the connection" : strerror(errno));
                        return -1;
                }
                got += (size_t)r;
        }
        return 0;
}

/* Byte-exact, so that what follows the record stays in the socket for the
 * receiver thread. */
long pair_link__read_record(int fd, int timeout_ms, uint8_t **record, char *err, size_t err_size)
{
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
        uint8_t header[STATE_RECORD_HEADER_SIZE];
        struct state_record_header h;
        char why[160];
        if (read_exactly(fd, header, sizeof(header), deadline, err, err_size))
                return -1;
        if (state_record__check(header, sizeof(header), &h, why, sizeof(why)) == STATE_RECORD_CORRUPT) {
                snprintf(err, err_size, "%s", why);
                return -1;
        }
        if (h.payload_length > 4096) {
                snprintf(err, err_size, "a %s greeting of %u bytes", h.tag, h.payload_length);
                return -1;
        }
        size_t length = STATE_RECORD_OVERHEAD + h.payload_length;
        uint8_t *buf = malloc(length);
        if (!buf) {
                snprintf(err, err_size, "out of memory");
                return -1;
        }
        memcpy(buf, header, sizeof(header));
        if (read_exactly(fd, buf + sizeof(header), length - sizeof(header), deadline, err, err_size)) {
                free(buf);
                return -1;
        }
        if (state_record__check(buf, length, &h, why, sizeof(why)) != STATE_RECORD_COMPLETE) {
                snprintf(err, err_size, "%s", why);
                free(buf);
                return -1;
        }
        *record = buf;
        return (long)length;
}
