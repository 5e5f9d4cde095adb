#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../vmm/machine.h"

void session__init(struct session *s, const struct session_ops *ops, struct machine *m,
                   const struct machine_control *control, struct environment *env)
{
        memset(s, 0, sizeof(*s));
        s->ops = ops;
        s->m = m;
        s->control = control;
        s->env = env;
        s->pending_since_ns = UINT64_MAX;
        machine__set_environment(m, env);
}

static void answer_init(struct session_answer *a)
{
        memset(a, 0, sizeof(*a));
        a->inject_vector = -1;
        a->wakeup_ns = SESSION_NO_WAKEUP;
}

void session__at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
{
        answer_init(a);
        s->ops->at_deterministic_exit(s, halted, a);
        s->window_requested = a->request_window;
}

void session__at_kick(struct session *s, struct session_answer *a)
{
        answer_init(a);
        s->ops->at_kick(s, a);
        s->window_requested = a->request_window;
}

void session__stop(struct session_answer *a, enum run_outcome outcome, const char *fmt, ...)
{
        if (a->stop)
                return; /* the first reason is the one that matters */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->message, sizeof(a->message), fmt, ap);
        va_end(ap);
        a->stop = true;
        a->outcome = outcome;
        a->inject_vector = -1;
}

uint64_t session__host_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void session__keep_window(const struct session *s, struct session_answer *a)
{
        a->request_window = s->window_requested;
}

bool session__guest_exited(const struct session *s, uint32_t *status)
{
        if (!s->m->debug_exit.requested)
                return false;
        *status = s->m->debug_exit.status;
        return true;
}

bool session__halt(struct session *s, struct session_answer *a)
{
        if (pic8259__interrupt_pending(&s->m->pic))
                return true;
        uint64_t deadline = pit8254__next_deadline_ns(&s->m->pit);
        bool io = machine__outstanding_io(s->m) > 0;
        if (deadline == UINT64_MAX && !io) {
                session__stop(a, RUN_GUEST_CRASHED,
                              "guest halted waiting for an interrupt that no device will raise");
                return false;
        }
        /* A disk that is not connected (a replay's) completes from the log,
         * at the shared point that follows. */
        if (machine__disk_connected(s->m) && io)
                machine__wait_io_until(s->m, environment__host_ns_of(s->env, deadline));
        else if (deadline != UINT64_MAX)
                environment__wait_until(s->env, deadline);
        return true;
}

/* PLATFORM.md: KVM_INTERRUPT injects even when IF=0, so whether the guest
 * can take the interrupt is ours to check. */
static bool guest_can_take_interrupt(const struct machine *m)
{
        const struct kvm_run *run = m->vm.run;
        return run->ready_for_interrupt_injection && run->if_flag;
}

bool session__advance_and_deliver(struct session *s, uint64_t now_ns, struct session_answer *a)
{
        struct machine *m = s->m;
        m->clock_ns = environment__monotonic_ns(s->env);
        pit8254__advance(&m->pit, m->clock_ns);
        if (!pic8259__interrupt_pending(&m->pic))
                return false;
        if (!guest_can_take_interrupt(m)) {
                a->request_window = true;
                if (s->pending_since_ns == UINT64_MAX)
                        s->pending_since_ns = now_ns;
                return false;
        }
        a->inject_vector = pic8259__acknowledge(&m->pic);
        s->pending_since_ns = UINT64_MAX;
        s->counters.interrupts++;
        return true;
}

/* live: deliver at every chance, kick at the PIT's next deadline. Disk
 * completions are applied first, so that their interrupt goes out at this
 * chance too. */
static void live_deliver(struct session *s, struct session_answer *a)
{
        machine__apply_pending_io(s->m);
        session__advance_and_deliver(s, session__host_ns(), a);
        a->wakeup_ns = environment__host_ns_of(s->env, pit8254__next_deadline_ns(&s->m->pit));
}

static void live_at_deterministic_exit(struct session *s, bool halted, struct session_answer *a)
{
        uint32_t status;
        if (session__guest_exited(s, &status)) {
                a->stop = true;
                a->outcome = RUN_GUEST_EXITED;
                a->guest_status = status;
                return;
        }
        if (halted && !session__halt(s, a))
                return;
        live_deliver(s, a);
}

static const struct session_ops live_ops = {
        .at_deterministic_exit = live_at_deterministic_exit,
        .at_kick = live_deliver,
};

void session_live__init(struct session_live *l, struct machine *m,
                        const struct machine_control *control)
{
        session__init(&l->base, &live_ops, m, control, environment__live());
}
