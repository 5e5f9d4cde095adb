#include "backup_protocol.h"

#include <stdio.h>
#include <string.h>

const char *backup_protocol__state_name(enum backup_state state)
{
        static const char *const names[] = {
                [BACKUP_JOINING] = "joining", [BACKUP_FOLLOWING] = "following",
                [BACKUP_TAKING_OVER] = "taking over", [BACKUP_CLAIMING] = "taking over",
                [BACKUP_LIVE] = "live", [BACKUP_STOPPED] = "stopped",
        };
        return names[state];
}

void backup_protocol__init(struct backup_protocol *bp, uint64_t generation,
                           uint64_t failure_timeout_ns, uint64_t now_ns)
{
        memset(bp, 0, sizeof(*bp));
        bp->state = BACKUP_JOINING;
        bp->generation = generation;
        bp->lease_ns = failure_timeout_ns / 2;
        bp->last_heard_ns = now_ns;
        pthread_mutex_init(&bp->lock, NULL);
        pthread_cond_init(&bp->changed, NULL);
}

bool backup_protocol__record(struct backup_protocol *bp, uint64_t seq, uint64_t now_ns)
{
        pthread_mutex_lock(&bp->lock);
        bool first = bp->state == BACKUP_JOINING;
        if (first)
                bp->state = BACKUP_FOLLOWING;
        bp->received_seq = seq;
        bp->last_heard_ns = now_ns;
        pthread_cond_broadcast(&bp->changed);
        pthread_mutex_unlock(&bp->lock);
        return first;
}

void backup_protocol__heard(struct backup_protocol *bp, uint64_t now_ns)
{
        pthread_mutex_lock(&bp->lock);
        if (now_ns > bp->last_heard_ns)
                bp->last_heard_ns = now_ns;
        pthread_mutex_unlock(&bp->lock);
}

void backup_protocol__released(struct backup_protocol *bp, uint64_t mark)
{
        pthread_mutex_lock(&bp->lock);
        if (mark > bp->release_mark)
                bp->release_mark = mark;
        pthread_mutex_unlock(&bp->lock);
}

void backup_protocol__beat(struct backup_protocol *bp, uint64_t sent_ns)
{
        pthread_mutex_lock(&bp->lock);
        if (sent_ns > bp->echo_ns)
                bp->echo_ns = sent_ns;
        pthread_mutex_unlock(&bp->lock);
}

bool backup_protocol__ack_due(struct backup_protocol *bp, bool force, uint64_t *seq,
                              uint64_t *echo_ns)
{
        pthread_mutex_lock(&bp->lock);
        bool following = bp->state == BACKUP_JOINING || bp->state == BACKUP_FOLLOWING;
        bool due = following && (force || bp->received_seq > bp->acked_seq);
        if (due) {
                *seq = bp->acked_seq = bp->received_seq;
                *echo_ns = bp->echo_ns;
        }
        pthread_mutex_unlock(&bp->lock);
        return due;
}

void backup_protocol__primary_lost(struct backup_protocol *bp, const char *why, uint64_t now_ns)
{
        pthread_mutex_lock(&bp->lock);
        if (bp->state == BACKUP_JOINING || bp->state == BACKUP_FOLLOWING) {
                bp->state = BACKUP_TAKING_OVER;
                bp->lost_at_ns = now_ns;
                snprintf(bp->lost_why, sizeof(bp->lost_why), "%s", why);
                pthread_cond_broadcast(&bp->changed);
        }
        pthread_mutex_unlock(&bp->lock);
}

bool backup_protocol__primary_is_lost(struct backup_protocol *bp)
{
        pthread_mutex_lock(&bp->lock);
        bool lost = bp->state >= BACKUP_TAKING_OVER;
        pthread_mutex_unlock(&bp->lock);
        return lost;
}

bool backup_protocol__begin_claim(struct backup_protocol *bp, uint64_t *next)
{
        pthread_mutex_lock(&bp->lock);
        bool claims = bp->state == BACKUP_TAKING_OVER;
        if (claims) {
                bp->state = BACKUP_CLAIMING;
                *next = bp->generation + 1;
        }
        pthread_mutex_unlock(&bp->lock);
        return claims;
}

/* The old primary stopped writing by itself at the latest lease_ns after
 * the send time of the last heartbeat it had echoed, which is before this
 * replica last heard from it. */
void backup_protocol__claimed(struct backup_protocol *bp, int result, const char *why,
                              uint64_t *writes_not_before_ns)
{
        pthread_mutex_lock(&bp->lock);
        if (bp->state == BACKUP_CLAIMING && result == 0) {
                bp->state = BACKUP_LIVE;
                bp->generation++;
                *writes_not_before_ns = bp->last_heard_ns + bp->lease_ns;
        } else if (bp->state == BACKUP_CLAIMING) {
                bp->state = BACKUP_STOPPED;
                snprintf(bp->stop_why, sizeof(bp->stop_why), "%s", why);
        }
        pthread_cond_broadcast(&bp->changed);
        pthread_mutex_unlock(&bp->lock);
}

enum backup_state backup_protocol__state(struct backup_protocol *bp)
{
        pthread_mutex_lock(&bp->lock);
        enum backup_state state = bp->state;
        pthread_mutex_unlock(&bp->lock);
        return state;
}

uint64_t backup_protocol__release_mark(struct backup_protocol *bp)
{
        pthread_mutex_lock(&bp->lock);
        uint64_t mark = bp->release_mark;
        pthread_mutex_unlock(&bp->lock);
        return mark;
}
