#include "vcpu_loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kick_timer.h"

/* Realtime signals are never used by libc or by default handlers. */
#define KICK_SIGNAL (SIGRTMIN + 1)

enum vcpu_event { VCPU_DETERMINISTIC_EXIT, VCPU_HALTED, VCPU_KICKED };

#define REPORTED_ADDRESSES 128

struct loop {
        struct machine *m;
        struct session *session;
        struct kvm_run *run;
        struct kick_timer kick;
        uint64_t start_ns;
        uint64_t timeout_at_ns; /* KICK_TIMER_NONE: no timeout */
        uint64_t stop_at_position;
        struct run_result *result;
        uint64_t previous_exit_rip; /* where the guest was at the exit before */
        enum vcpu_event event;      /* what happened in the last KVM_RUN */
        bool strict_io;
        /* Unclaimed addresses reported so far (each once). */
        struct { uint64_t addr; bool mmio; } reported[REPORTED_ADDRESSES];
        unsigned reported_count;
        bool done;
};

static void finish(struct loop *l, enum run_outcome outcome, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void finish(struct loop *l, enum run_outcome outcome, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->result->message, sizeof(l->result->message), fmt, ap);
        va_end(ap);
        l->result->outcome = outcome;
        l->done = true;
}

/* "at rip=0x... (cpl 3)", from the registers KVM synced into kvm_run. */
static const char *where(const struct loop *l, char *buf, size_t size)
{
        const struct kvm_sync_regs *s = &l->run->s.regs;
        snprintf(buf, size, "rip=0x%llx cs=0x%x cpl=%u",
                 (unsigned long long)s->regs.rip, s->sregs.cs.selector,
                 s->sregs.cs.dpl);
        return buf;
}

static void crash(struct loop *l, const char *what)
{
        char at[96];
        finish(l, RUN_GUEST_CRASHED, "%s at %s", what, where(l, at, sizeof(at)));
}

static uint64_t value_of(const uint8_t *data, uint32_t size)
{
        uint64_t v = 0;
        memcpy(&v, data, size < 8 ? size : 8);
        return v;
}

static void report_bad_access(struct loop *l, const struct io_bus *bus, uint64_t addr,
                              const uint8_t *data, uint32_t size, bool is_write, int rc)
{
        char what[256];
        const struct io_range *r = io_bus__find(bus, addr, size);
        const char *dir = is_write ? "write" : "read";
        if (!r)
                snprintf(what, sizeof(what), "guest %s of %u byte(s) to unknown %s address 0x%llx",
                         dir, size, bus->name, (unsigned long long)addr);
        else
                snprintf(what, sizeof(what), "device '%s' refused a %u-byte %s at %s 0x%llx (%s)",
                         r->name, size, dir, bus->name, (unsigned long long)addr, strerror(-rc));
        if (is_write) {
                size_t len = strlen(what);
                snprintf(what + len, sizeof(what) - len, ", value 0x%llx",
                         (unsigned long long)value_of(data, size));
        }
        crash(l, what);
}

static bool reported_before(struct loop *l, uint64_t addr, bool mmio)
{
        for (unsigned i = 0; i < l->reported_count; i++)
                if (l->reported[i].addr == addr && l->reported[i].mmio == mmio)
                        return true;
        if (l->reported_count < REPORTED_ADDRESSES)
                l->reported[l->reported_count++] = (typeof(l->reported[0])){ addr, mmio };
        return false;
}

/* An address no device decodes behaves as on a PC with nothing there:
 * reads float to all ones, writes vanish (Linux probes many such ports).
 * Deterministic, so record and replay are unaffected. False if the access
 * must stop the guest instead. */
static bool answer_unclaimed(struct loop *l, const struct io_bus *bus, uint64_t addr,
                             uint8_t *data, uint32_t size, bool is_write, int rc)
{
        if (rc != -ENODEV || l->strict_io)
                return false;
        if (!is_write)
                memset(data, 0xff, size);
        l->result->exits.unclaimed++;
        bool mmio = bus == &l->m->mmio;
        if (!reported_before(l, addr, mmio)) {
                l->result->exits.unclaimed_addresses++;
                fprintf(stderr, "ftvmm: unclaimed %s %s of %u byte(s) at 0x%llx answered as no device "
                        "(reported once; --strict-io stops the guest instead)\n",
                        bus->name, is_write ? "write" : "read", size, (unsigned long long)addr);
        }
        return true;
}

static void handle_pio(struct loop *l)
{
        struct kvm_run *run = l->run;
        uint32_t size = run->io.size;
        bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
        uint64_t bytes = (uint64_t)run->io.count * size;
        if (run->io.data_offset > l->m->vm.run_size ||
            bytes > l->m->vm.run_size - run->io.data_offset) {
                finish(l, RUN_HOST_ERROR, "KVM reported port I/O data outside kvm_run");
                return;
        }
        uint8_t *data = (uint8_t *)run + run->io.data_offset;
        l->result->exits.pio++;
        for (uint32_t i = 0; i < run->io.count && !l->done; i++, data += size) {
                int rc = io_bus__access(&l->m->pio, run->io.port, data, size, is_write);
                if (rc && !answer_unclaimed(l, &l->m->pio, run->io.port, data, size, is_write, rc))
                        report_bad_access(l, &l->m->pio, run->io.port, data, size, is_write, rc);
        }
}

static void handle_mmio(struct loop *l)
{
        struct kvm_run *run = l->run;
        uint32_t size = run->mmio.len;
        l->result->exits.mmio++;
        if (size == 0 || size > sizeof(run->mmio.data)) {
                finish(l, RUN_HOST_ERROR, "KVM reported an MMIO access of %u bytes", size);
                return;
        }
        int rc = io_bus__access(&l->m->mmio, run->mmio.phys_addr, run->mmio.data, size,
                                run->mmio.is_write);
        if (rc && !answer_unclaimed(l, &l->m->mmio, run->mmio.phys_addr, run->mmio.data, size,
                                    run->mmio.is_write, rc))
                report_bad_access(l, &l->m->mmio, run->mmio.phys_addr, run->mmio.data,
                                  size, run->mmio.is_write, rc);
}

/* How long a halted guest sleeps is the session's to decide (a replay
 * does not sleep at all); one that can never wake is a crash. */
static void handle_hlt(struct loop *l)
{
        l->result->exits.hlt++;
        l->event = VCPU_HALTED;
        if (!l->run->if_flag)
                crash(l, "guest halted with interrupts disabled (it can never wake)");
}

static void handle_internal_error(struct loop *l)
{
        char what[256];
        const struct kvm_run *run = l->run;
        int n = snprintf(what, sizeof(what), "KVM internal error (suberror %u%s)",
                         run->internal.suberror,
                         run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
                         ": instruction emulation failed" : "");
        for (unsigned i = 0; i < run->internal.ndata && i < 4 && n < (int)sizeof(what); i++)
                n += snprintf(what + n, sizeof(what) - (size_t)n, " data[%u]=0x%llx", i,
                              (unsigned long long)run->internal.data[i]);
        crash(l, what);
}

/* Exits the guest's own instructions cause: two runs fed the same inputs
 * see the same sequence of them, so their count names a point in the
 * instruction stream (BRIEF.md). */
static bool is_deterministic_exit(uint32_t reason)
{
        return reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO || reason == KVM_EXIT_HLT ||
               reason == KVM_EXIT_IRQ_WINDOW_OPEN;
}

static void handle_exit(struct loop *l)
{
        char what[192];
        l->event = VCPU_DETERMINISTIC_EXIT;
        if (is_deterministic_exit(l->run->exit_reason))
                l->m->position++;
        switch (l->run->exit_reason) {
        case KVM_EXIT_IO:
                handle_pio(l);
                return;
        case KVM_EXIT_MMIO:
                handle_mmio(l);
                return;
        case KVM_EXIT_HLT:
                handle_hlt(l);
                return;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
                l->result->exits.irq_window++;
                return;
        case KVM_EXIT_SHUTDOWN:
                /* KVM resets the vCPU on shutdown, so its registers no longer
                 * say where the guest was; the previous exit does. */
                snprintf(what, sizeof(what),
                         "guest triple fault (KVM_EXIT_SHUTDOWN); its previous exit was at rip=0x%llx",
                         (unsigned long long)l->previous_exit_rip);
                finish(l, RUN_GUEST_CRASHED, "%s", what);
                return;
        case KVM_EXIT_INTERNAL_ERROR:
                handle_internal_error(l);
                return;
        case KVM_EXIT_FAIL_ENTRY:
                snprintf(what, sizeof(what), "VM entry failed (reason 0x%llx)",
                         (unsigned long long)l->run->fail_entry.hardware_entry_failure_reason);
                crash(l, what);
                return;
        case KVM_EXIT_SYSTEM_EVENT:
                snprintf(what, sizeof(what), "guest requested system event %u (reset or power off)",
                         l->run->system_event.type);
                crash(l, what);
                return;
        default:
                l->result->exits.other++;
                snprintf(what, sizeof(what), "unexpected KVM exit reason %u", l->run->exit_reason);
                crash(l, what);
        }
}

static void apply_answer_stop(struct loop *l, const struct session_answer *a)
{
        l->result->outcome = a->outcome;
        l->result->guest_status = a->guest_status;
        snprintf(l->result->message, sizeof(l->result->message), "%s", a->message);
        l->done = true;
}

static bool reached_stop_position(struct loop *l)
{
        if (l->event == VCPU_KICKED || l->m->position < l->stop_at_position)
                return false;
        finish(l, RUN_STOPPED_AT_POSITION, "stopped at position %llu",
               (unsigned long long)l->m->position);
        return true;
}

/* The session's answer for this point: stop, or what to do before the
 * guest runs again. False if the guest must not run. */
static bool ask_session(struct loop *l)
{
        struct session_answer a;
        if (l->event == VCPU_KICKED)
                session__at_kick(l->session, &a);
        else
                session__at_deterministic_exit(l->session, l->event == VCPU_HALTED, &a);
        if (a.stop) {
                apply_answer_stop(l, &a);
                return false;
        }
        l->run->request_interrupt_window = a.request_window;
        if (a.inject_vector >= 0) {
                struct kvm_interrupt irq = { .irq = (uint32_t)a.inject_vector };
                if (ioctl(l->m->vm.vcpu_fd, KVM_INTERRUPT, &irq) < 0) {
                        finish(l, RUN_HOST_ERROR, "KVM_INTERRUPT: %s", strerror(errno));
                        return false;
                }
                l->result->exits.interrupts_injected++;
        }
        uint64_t wakeup = a.wakeup_ns < l->timeout_at_ns ? a.wakeup_ns : l->timeout_at_ns;
        int rc = kick_timer__arm(&l->kick, wakeup);
        if (rc) {
                finish(l, RUN_HOST_ERROR, "arming the kick timer: %s", strerror(-rc));
                return false;
        }
        return true;
}

static void run_once(struct loop *l)
{
        uint64_t now = session__host_ns();
        if (now >= l->timeout_at_ns) {
                finish(l, RUN_TIMED_OUT, "timeout after %.1f s",
                       (double)(now - l->start_ns) / 1e9);
                return;
        }
        if (reached_stop_position(l) || !ask_session(l))
                return;
        if (ioctl(l->m->vm.vcpu_fd, KVM_RUN, 0) < 0) {
                if (errno == EINTR || errno == EAGAIN) {
                        l->result->exits.kicks++;
                        l->event = VCPU_KICKED;
                        kick_timer__consume(&l->kick);
                        return;
                }
                finish(l, RUN_HOST_ERROR, "KVM_RUN: %s", strerror(errno));
                return;
        }
        handle_exit(l);
        l->previous_exit_rip = l->run->s.regs.regs.rip;
}

void vcpu_loop__run(struct machine *m, struct session *s, const struct run_limits *limits,
                    struct run_result *result)
{
        memset(result, 0, sizeof(*result));
        struct loop l = {
                .m = m,
                .session = s,
                .run = m->vm.run,
                .result = result,
                .start_ns = session__host_ns(),
                .timeout_at_ns = KICK_TIMER_NONE,
                .stop_at_position = limits->stop_at_position,
                .strict_io = limits->strict_io,
                /* The boot, or the restored point, is where both replicas
                 * stand at the same place. */
                .event = VCPU_DETERMINISTIC_EXIT,
        };
        if (limits->timeout_ns)
                l.timeout_at_ns = l.start_ns + limits->timeout_ns;
        int rc = kick_timer__create(&l.kick, KICK_SIGNAL);
        if (!rc)
                rc = kvm_vm__unblock_signal_in_guest(&m->vm, KICK_SIGNAL);
        if (rc) {
                finish(&l, RUN_HOST_ERROR, "setting up the vCPU kick: %s", strerror(-rc));
                return;
        }
        m->vcpu_thread = pthread_self();
        m->kick_signal = KICK_SIGNAL;
        while (!l.done)
                run_once(&l);
        m->kick_signal = 0;
        kick_timer__destroy(&l.kick);
        result->elapsed_ns = session__host_ns() - l.start_ns;
}
