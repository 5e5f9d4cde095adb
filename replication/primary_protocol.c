#include "primary_protocol.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *primary_protocol__state_name(enum primary_state state)
{
        static const char *const names[] = {
                [PRIMARY_ALONE] = "unprotected", [PRIMARY_PROTECTED] = "protected",
                [PRIMARY_DECIDING] = "deciding", [PRIMARY_FENCED] = "fenced",
        };
        return names[state];
}

void primary_protocol__init(struct primary_protocol *pp, uint64_t generation,
                            uint64_t failure_timeout_ns)
{
        memset(pp, 0, sizeof(*pp));
        pp->state = PRIMARY_ALONE;
        pp->generation = generation;
        pp->lease_ns = failure_timeout_ns / 2;
        pthread_mutex_init(&pp->lock, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&pp->changed, &attr);
        pthread_condattr_destroy(&attr);
}

void primary_protocol__destroy(struct primary_protocol *pp)
{
        pthread_cond_destroy(&pp->changed);
        pthread_mutex_destroy(&pp->lock);
}

void primary_protocol__writes_not_before(struct primary_protocol *pp, uint64_t ns)
{
        pthread_mutex_lock(&pp->lock);
        pp->writes_not_before_ns = ns;
        pthread_mutex_unlock(&pp->lock);
}

/* The output rule, in one place: called under the lock after anything
 * that may move it. Returns the new mark, or 0 if it did not move. */
static uint64_t advance_safe(struct primary_protocol *pp)
{
        uint64_t reach = pp->safe;
        if (pp->state == PRIMARY_ALONE)
                reach = pp->written;
        else if (pp->state == PRIMARY_PROTECTED)
                reach = pp->acked < pp->written ? pp->acked : pp->written;
        if (reach <= pp->safe)
                return 0;
        pp->safe = reach;
        return reach;
}

static void changed(struct primary_protocol *pp)
{
        pthread_cond_broadcast(&pp->changed);
}

bool primary_protocol__admit(struct primary_protocol *pp, uint64_t *generation, char *why,
                             size_t why_size)
{
        pthread_mutex_lock(&pp->lock);
        const char *refusal = pp->closing ? "the guest's run is over" :
                              pp->joining || pp->state == PRIMARY_PROTECTED ?
                                      "this primary already has a backup" :
                              pp->state == PRIMARY_DECIDING ?
                                      "this primary is deciding with the arbiter whether it goes on" :
                              pp->state == PRIMARY_FENCED ? "this primary is fenced" : NULL;
        if (!refusal) {
                pp->joining = true;
                *generation = pp->generation;
                changed(pp);
        }
        pthread_mutex_unlock(&pp->lock);
        if (refusal)
                snprintf(why, why_size, "%s", refusal);
        return !refusal;
}

void primary_protocol__admission_failed(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        pp->joining = false;
        changed(pp);
        pthread_mutex_unlock(&pp->lock);
}

bool primary_protocol__joined(struct primary_protocol *pp, uint64_t seq, uint64_t position,
                              uint64_t now_ns)
{
        pthread_mutex_lock(&pp->lock);
        pp->joining = false;
        bool joins = pp->state == PRIMARY_ALONE;
        if (joins) {
                pp->state = PRIMARY_PROTECTED;
                pp->acked = seq;
                pp->backup_position = position;
                pp->lease_until_ns = now_ns + pp->lease_ns;
                pp->backups_joined++;
        }
        changed(pp);
        pthread_mutex_unlock(&pp->lock);
        return joins;
}

void primary_protocol__sending(struct primary_protocol *pp, uint64_t seq)
{
        pthread_mutex_lock(&pp->lock);
        if (seq > pp->sending)
                pp->sending = seq;
        pthread_mutex_unlock(&pp->lock);
}

uint64_t primary_protocol__written(struct primary_protocol *pp, uint64_t seq)
{
        pthread_mutex_lock(&pp->lock);
        if (seq > pp->written)
                pp->written = seq;
        if (seq > pp->sending)
                pp->sending = seq;
        uint64_t safe = advance_safe(pp);
        if (safe)
                changed(pp);
        pthread_mutex_unlock(&pp->lock);
        return safe;
}

int primary_protocol__acked(struct primary_protocol *pp, uint64_t seq, uint64_t position,
                            uint64_t echo_ns, uint64_t *safe, char *why, size_t why_size)
{
        *safe = 0;
        pthread_mutex_lock(&pp->lock);
        if (seq > pp->sending) {
                uint64_t sent = pp->sending;
                pthread_mutex_unlock(&pp->lock);
                snprintf(why, why_size, "the backup acknowledged record %llu, but only %llu were sent",
                         (unsigned long long)seq, (unsigned long long)sent);
                return -1;
        }
        if (pp->state == PRIMARY_PROTECTED) {
                if (seq > pp->acked)
                        pp->acked = seq;
                pp->backup_position = position;
                /* An echo is the primary's own clock, so only its age
                 * matters, never the peer's clock. */
                if (echo_ns && echo_ns + pp->lease_ns > pp->lease_until_ns)
                        pp->lease_until_ns = echo_ns + pp->lease_ns;
                *safe = advance_safe(pp);
                changed(pp);
        }
        pthread_mutex_unlock(&pp->lock);
        return 0;
}

void primary_protocol__guest_ended(struct primary_protocol *pp, uint64_t end_seq)
{
        pthread_mutex_lock(&pp->lock);
        pp->end_seq = end_seq;
        pthread_mutex_unlock(&pp->lock);
}

static bool holds_end_locked(const struct primary_protocol *pp)
{
        return pp->end_seq && pp->acked >= pp->end_seq;
}

enum primary_loss primary_protocol__backup_lost(struct primary_protocol *pp, const char *why,
                                                uint64_t *claim, uint64_t *safe)
{
        *safe = 0;
        pthread_mutex_lock(&pp->lock);
        enum primary_loss loss = LOSS_IGNORED;
        if (pp->state == PRIMARY_PROTECTED && holds_end_locked(pp)) {
                /* It ended its run where this one did: everything written
                 * is as safe as it will ever be. */
                pp->state = PRIMARY_ALONE;
                loss = LOSS_BACKUP_FINISHED;
        } else if (pp->state == PRIMARY_PROTECTED) {
                pp->state = PRIMARY_DECIDING;
                pp->backups_lost++;
                snprintf(pp->lost_why, sizeof(pp->lost_why), "%s", why);
                *claim = pp->generation + 1;
                loss = LOSS_CLAIM;
        }
        *safe = advance_safe(pp);
        changed(pp);
        pthread_mutex_unlock(&pp->lock);
        return loss;
}

static bool fence_locked(struct primary_protocol *pp, const char *why)
{
        bool first = pp->state != PRIMARY_FENCED;
        if (first) {
                pp->state = PRIMARY_FENCED;
                snprintf(pp->fence_why, sizeof(pp->fence_why), "%s", why);
                changed(pp);
        }
        /* Whatever was decided before the fence finishes; nothing starts. */
        while (pp->permits)
                pthread_cond_wait(&pp->changed, &pp->lock);
        return first;
}

void primary_protocol__claimed(struct primary_protocol *pp, int result, const char *why,
                               uint64_t *safe)
{
        *safe = 0;
        pthread_mutex_lock(&pp->lock);
        if (result == 0 && pp->state == PRIMARY_DECIDING) {
                pp->generation++;
                pp->state = PRIMARY_ALONE;
                *safe = advance_safe(pp);
                changed(pp);
        } else if (result != 0) {
                fence_locked(pp, why);
        }
        pthread_mutex_unlock(&pp->lock);
}

bool primary_protocol__end_the_guest(struct primary_protocol *pp, uint64_t *claim)
{
        pthread_mutex_lock(&pp->lock);
        bool backup_would_go_on = pp->state == PRIMARY_PROTECTED && !holds_end_locked(pp);
        if (backup_would_go_on) {
                pp->state = PRIMARY_DECIDING;
                *claim = pp->generation + 1;
                changed(pp);
        }
        pthread_mutex_unlock(&pp->lock);
        return backup_would_go_on;
}

bool primary_protocol__fence(struct primary_protocol *pp, const char *why)
{
        pthread_mutex_lock(&pp->lock);
        bool first = fence_locked(pp, why);
        pthread_mutex_unlock(&pp->lock);
        return first;
}

static enum permit permit_locked(struct primary_protocol *pp)
{
        if (pp->state == PRIMARY_FENCED)
                return PERMIT_NEVER;
        if (pp->state == PRIMARY_DECIDING)
                return PERMIT_WAIT;
        pp->permits++;
        return PERMIT_GO;
}

enum permit primary_protocol__begin_release(struct primary_protocol *pp, uint64_t *next_generation)
{
        pthread_mutex_lock(&pp->lock);
        enum permit permit = permit_locked(pp);
        *next_generation = pp->generation + 1;
        pthread_mutex_unlock(&pp->lock);
        return permit;
}

enum permit primary_protocol__begin_write(struct primary_protocol *pp, uint64_t now_ns)
{
        pthread_mutex_lock(&pp->lock);
        enum permit permit;
        if (pp->state == PRIMARY_FENCED)
                permit = PERMIT_NEVER;
        else if (now_ns < pp->writes_not_before_ns ||
                 (pp->state == PRIMARY_PROTECTED && now_ns >= pp->lease_until_ns))
                permit = PERMIT_WAIT;
        else
                permit = permit_locked(pp);
        pthread_mutex_unlock(&pp->lock);
        return permit;
}

void primary_protocol__end_permit(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        pp->permits--;
        if (!pp->permits)
                changed(pp);
        pthread_mutex_unlock(&pp->lock);
}

void primary_protocol__close(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        pp->closing = true;
        changed(pp);
        pthread_mutex_unlock(&pp->lock);
}

bool primary_protocol__closing(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        bool closing = pp->closing;
        pthread_mutex_unlock(&pp->lock);
        return closing;
}

uint64_t primary_protocol__safe(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        uint64_t safe = pp->safe;
        pthread_mutex_unlock(&pp->lock);
        return safe;
}

bool primary_protocol__backup_holds_end(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        bool holds = holds_end_locked(pp);
        pthread_mutex_unlock(&pp->lock);
        return holds;
}

enum primary_state primary_protocol__state(struct primary_protocol *pp)
{
        pthread_mutex_lock(&pp->lock);
        enum primary_state state = pp->state;
        pthread_mutex_unlock(&pp->lock);
        return state;
}

void primary_protocol__wait(struct primary_protocol *pp, int timeout_ms)
{
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t t = (uint64_t)until.tv_sec * 1000000000ull + (uint64_t)until.tv_nsec +
                     (uint64_t)timeout_ms * 1000000ull;
        until.tv_sec = (time_t)(t / 1000000000ull);
        until.tv_nsec = (long)(t % 1000000000ull);
        pthread_mutex_lock(&pp->lock);
        pthread_cond_timedwait(&pp->changed, &pp->lock, &until);
        pthread_mutex_unlock(&pp->lock);
}
