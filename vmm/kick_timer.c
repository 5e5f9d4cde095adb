#include "kick_timer.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int kick_timer__create(struct kick_timer *t, int signo)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signo);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        struct sigevent ev;
        memset(&ev, 0, sizeof(ev));
        ev.sigev_notify = SIGEV_THREAD_ID;
        ev.sigev_signo = signo;
        ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &ev, &t->timer) < 0)
                return -errno;
        t->signo = signo;
        t->armed_ns = KICK_TIMER_NONE;
        return 0;
}

void kick_timer__destroy(struct kick_timer *t)
{
        timer_delete(t->timer);
}

int kick_timer__arm(struct kick_timer *t, uint64_t deadline_ns)
{
        if (deadline_ns == t->armed_ns)
                return 0;
        struct itimerspec spec;
        memset(&spec, 0, sizeof(spec));
        if (deadline_ns != KICK_TIMER_NONE) {
                /* An absolute time of zero would disarm the timer. */
                uint64_t when = deadline_ns ? deadline_ns : 1;
                spec.it_value.tv_sec = (time_t)(when / 1000000000ull);
                spec.it_value.tv_nsec = (long)(when % 1000000000ull);
        }
        if (timer_settime(t->timer, TIMER_ABSTIME, &spec, NULL) < 0)
                return -errno;
        t->armed_ns = deadline_ns;
        return 0;
}

static void wait_for_kick(struct kick_timer *t, const struct timespec *timeout)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, t->signo);
        int rc;
        while ((rc = sigtimedwait(&set, NULL, timeout)) < 0 && errno == EINTR)
                ;
        /* The timer is one-shot: once it has fired it must be re-armed. */
        if (rc == t->signo)
                t->armed_ns = KICK_TIMER_NONE;
}

void kick_timer__consume(struct kick_timer *t)
{
        static const struct timespec zero;
        wait_for_kick(t, &zero);
}

void kick_timer__wait(struct kick_timer *t)
{
        if (t->armed_ns != KICK_TIMER_NONE)
                wait_for_kick(t, NULL);
}
