/* One connection between a primary and its backup, as both ends use it: a
 * receiver thread that splits the peer's bytes into intact records, a
 * heartbeat thread that sends what is due every heartbeat period and
 * declares the peer lost after failure_timeout of silence, and a send
 * path that keeps records whole. Whoever notices first (a corrupt record,
 * the connection closing, a failed send, silence) declares the peer lost,
 * once; the socket is then shut down, so nothing damaged is ever passed on. */
#ifndef FTVMM_PAIR_LINK_H
#define FTVMM_PAIR_LINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state_record.h"

struct pair_link_callbacks {
        /* An intact record from the peer, control or log (receiver thread). */
        void (*record)(void *context, const struct state_record_header *h,
                       const uint8_t *record, size_t length);
        /* Every record that had arrived so far was handed out (optional):
         * the moment to acknowledge them together. */
        void (*drained)(void *context);
        /* Every heartbeat period (heartbeat thread): send what is due. */
        void (*tick)(void *context);
        /* The peer is lost, and why: called once, on the thread that noticed. */
        void (*lost)(void *context, const char *why);
        void *context;
};

struct pair_link {
        int fd;
        pthread_mutex_t send_lock;
        pthread_mutex_t lock;
        pthread_cond_t stopping_cond;
        uint64_t heartbeat_ns, failure_timeout_ns;
        uint64_t last_heard_ns, last_sent_ns; /* CLOCK_MONOTONIC */
        uint64_t bytes_sent, bytes_received;
        size_t max_record;
        bool lost, stopping, started;
        bool armed;                 /* silence counts as failure */
        char why[256];
        pthread_t receiver, heartbeat;
        struct pair_link_callbacks cb;
};

/* Takes over fd (connected, HELO already exchanged). armed: silence
 * counts as failure from now on (else from pair_link__arm). Returns 0 or
 * -errno. */
int pair_link__start(struct pair_link *l, int fd, uint64_t heartbeat_ns,
                     uint64_t failure_timeout_ns, size_t max_record, bool armed,
                     const struct pair_link_callbacks *cb);
/* From now on, failure_timeout of silence means the peer is lost (a backup
 * arms it once the primary's machine state has arrived: encoding it may
 * keep the primary quiet for longer). */
void pair_link__arm(struct pair_link *l);
/* Sends whole records. Returns 0, or -EPIPE once the peer is lost. */
int pair_link__send(struct pair_link *l, const uint8_t *bytes, size_t n);
/* For the tick callback: sends one small record unless another send holds
 * the connection or the socket has no room, and then skips it. The
 * heartbeat thread also watches for silence, so it must never block. */
int pair_link__send_beat(struct pair_link *l, const uint8_t *bytes, size_t n);
/* Declares the peer lost (if it was not already) for the reason given. */
void pair_link__fail(struct pair_link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool pair_link__is_lost(struct pair_link *l);
/* Milliseconds since the peer was last heard from. */
uint64_t pair_link__silence_ms(struct pair_link *l);
/* Shuts the connection down and joins the threads (not from a callback). */
void pair_link__stop(struct pair_link *l);

/* Reads one intact record from fd (before the threads start: HELO).
 * Returns its length (malloc'd in *record), or -1 with a reason. */
long pair_link__read_record(int fd, int timeout_ms, uint8_t **record, char *err, size_t err_size);

#endif
