#include "vcpu_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <zlib.h>

#include "checkpoint.h"
#include "kick_timer.h"

/* Realtime signals are never used by libc or by default handlers. */
#define KICK_SIGNAL (SIGRTMIN + 1)

struct loop {
        struct machine *m;
        struct kvm_run *run;
        struct kick_timer kick;
        uint64_t start_ns;
        uint64_t timeout_at_ns; /* KICK_TIMER_NONE: no timeout */
        uint64_t stop_at_position;
        struct run_result *result;
        uint64_t previous_exit_rip; /* where the guest was at the exit before */
        struct replay_session *replay;
        uint64_t max_stall_ns;
        uint64_t pending_since_ns;   /* an interrupt waits for the guest since */
        /* Events may be delivered now: a record and its replay are at the
         * same point (a deterministic exit, the boot, a checkpoint). */
        bool at_deterministic_exit;
        bool done;
};

/* The host's clock, for the wall-clock timeout: never recorded, since it
 * limits the VMM rather than informing the guest. */
static uint64_t host_ns(void)
{
        return environment__monotonic_ns(environment__live());
}

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
                if (rc)
                        report_bad_access(l, &l->m->pio, run->io.port, data, size, is_write, rc);
        }
        if (l->m->debug_exit.requested) {
                if (l->replay)
                        replay_session__guest_exit(l->replay, l->m->debug_exit.status);
                l->result->outcome = RUN_GUEST_EXITED;
                l->result->guest_status = l->m->debug_exit.status;
                l->done = true;
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
        if (rc)
                report_bad_access(l, &l->m->mmio, run->mmio.phys_addr, run->mmio.data,
                                  size, run->mmio.is_write, rc);
}

/* The next moment the VMM must regain control without a guest exit. The
 * live environment's clock is CLOCK_MONOTONIC, so device deadlines and the
 * kick timer share one time base. When recording or replaying, a kick could
 * deliver nothing (events wait for a deterministic exit), so only the
 * timeout kicks. */
static bool recording(const struct loop *l)
{
        return l->replay && l->replay->mode == REPLAY_RECORD;
}

/* Since when an interrupt has been waiting for the guest, or will be:
 * UINT64_MAX if none is due. */
static uint64_t interrupt_due_ns(const struct loop *l)
{
        if (pic8259__interrupt_pending(&l->m->pic))
                return l->pending_since_ns;
        return pit8254__next_deadline_ns(&l->m->pit);
}

static uint64_t stall_deadline_ns(const struct loop *l)
{
        uint64_t due = interrupt_due_ns(l);
        return due > UINT64_MAX - l->max_stall_ns ? UINT64_MAX : due + l->max_stall_ns;
}

static uint64_t next_wakeup_ns(const struct loop *l)
{
        uint64_t at = l->timeout_at_ns;
        if (!l->replay) {
                uint64_t pit = pit8254__next_deadline_ns(&l->m->pit);
                if (pit < at)
                        at = pit;
        } else if (recording(l)) {
                uint64_t stall = stall_deadline_ns(l);
                if (stall < at)
                        at = stall;
        }
        return at;
}

static void handle_hlt(struct loop *l)
{
        l->result->exits.hlt++;
        if (!l->run->if_flag) {
                crash(l, "guest halted with interrupts disabled (it can never wake)");
                return;
        }
        if (pic8259__interrupt_pending(&l->m->pic))
                return;
        uint64_t deadline = pit8254__next_deadline_ns(&l->m->pit);
        if (deadline == UINT64_MAX) {
                crash(l, "guest halted waiting for an interrupt that no device will raise");
                return;
        }
        /* A replay takes the time that passed from the log, not the host. */
        if (l->replay && l->replay->mode == REPLAY_REPLAY)
                return;
        kick_timer__arm(&l->kick, deadline < l->timeout_at_ns ? deadline : l->timeout_at_ns);
        kick_timer__wait(&l->kick);
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

/* What an epoch's end records of the guest, so that a replay that went
 * elsewhere is caught: the registers, the control registers that say
 * which address space and mode it runs in, and the position. */
static uint32_t state_digest(const struct loop *l)
{
        const struct kvm_sync_regs *s = &l->run->s.regs;
        uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)&s->regs, sizeof(s->regs));
        const uint64_t more[] = { s->sregs.cr0, s->sregs.cr3, s->sregs.cr4, s->sregs.efer,
                                  l->m->position };
        return (uint32_t)crc32(crc, (const Bytef *)more, sizeof(more));
}

/* The PIC's INTR line reaches the CPU only when the guest can take an
 * interrupt; otherwise ask KVM to exit as soon as it can (PLATFORM.md:
 * KVM_INTERRUPT injects even when IF=0, so this check is ours to make). */
static int deliver_interrupt(struct loop *l, uint64_t now)
{
        struct kvm_run *run = l->run;
        run->request_interrupt_window = 0;
        if (!pic8259__interrupt_pending(&l->m->pic))
                return 0;
        if (!run->ready_for_interrupt_injection || !run->if_flag) {
                run->request_interrupt_window = 1;
                if (l->pending_since_ns == UINT64_MAX)
                        l->pending_since_ns = now;
                return 0;
        }
        struct kvm_interrupt irq = { .irq = pic8259__acknowledge(&l->m->pic) };
        if (ioctl(l->m->vm.vcpu_fd, KVM_INTERRUPT, &irq) < 0)
                return -errno;
        l->pending_since_ns = UINT64_MAX;
        l->result->exits.interrupts_injected++;
        if (l->replay)
                replay_session__epoch_end(l->replay, EPOCH_INTERRUPT, (uint8_t)irq.irq,
                                          state_digest(l));
        return 0;
}

/* Recording, after a kick: the guest has kept an interrupt waiting too long
 * without a deterministic exit, so the epoch ends here, in a checkpoint. */
static void take_checkpoint(struct loop *l)
{
        uint8_t *state;
        size_t length;
        uint32_t pages;
        int rc = checkpoint__encode(l->m, &state, &length, &pages);
        if (rc) {
                finish(l, RUN_HOST_ERROR, "checkpoint at position %llu: %s",
                       (unsigned long long)l->m->position, strerror(-rc));
                return;
        }
        replay_session__checkpoint(l->replay, state, length);
        free(state);
        l->result->checkpoint_pages += pages;
        l->at_deterministic_exit = true;
        /* A guest with interrupts masked stalls again only after another
         * full bound, not at once. */
        if (l->pending_since_ns != UINT64_MAX)
                l->pending_since_ns = host_ns();
}

static bool reached_stop_position(struct loop *l)
{
        if (l->done || l->m->position < l->stop_at_position)
                return false;
        finish(l, RUN_STOPPED_AT_POSITION, "stopped at position %llu",
               (unsigned long long)l->m->position);
        return true;
}

/* Replaying a checkpoint epoch: the recorder's state replaces executing it. */
static void apply_checkpoint(struct loop *l, const struct replay_entry *cp)
{
        char err[256];
        if (checkpoint__apply(l->m, cp->state, cp->state_length, err, sizeof(err))) {
                finish(l, RUN_DIVERGED, "epoch %llu (a checkpoint epoch ending at position %llu): %s",
                       (unsigned long long)l->replay->epochs, (unsigned long long)cp->position, err);
                return;
        }
        l->m->position = cp->position;
        machine__console_write(l->m, cp->output, cp->output_length);
        l->at_deterministic_exit = true;
        reached_stop_position(l);
}

static bool replay_stopped(struct loop *l)
{
        if (!l->replay || l->replay->stop == REPLAY_RUNNING)
                return false;
        finish(l, l->replay->stop == REPLAY_DIVERGED ? RUN_DIVERGED : RUN_LOG_ENDED,
               "%s", l->replay->why);
        return true;
}

/* Where both runs stand at the same point: advance the clock and deliver
 * what is due; recording or replaying, end the epoch if its timer says so,
 * and look at how the next epoch ends. False if the loop must not enter
 * the guest now. */
static bool at_shared_point(struct loop *l, uint64_t now)
{
        l->m->clock_ns = environment__monotonic_ns(l->m->env);
        pit8254__advance(&l->m->pit, l->m->clock_ns);
        int rc = deliver_interrupt(l, now);
        if (rc) {
                finish(l, RUN_HOST_ERROR, "interrupt delivery: %s", strerror(-rc));
                return false;
        }
        if (!l->replay)
                return true;
        if (l->replay->in_epoch && replay_session__epoch_timer_expired(l->replay, now))
                replay_session__epoch_end(l->replay, EPOCH_TIMER, 0, state_digest(l));
        struct replay_entry checkpoint;
        if (!l->replay->in_epoch && replay_session__begin_epoch(l->replay, now, &checkpoint)) {
                apply_checkpoint(l, &checkpoint);
                return false;
        }
        return !replay_stopped(l);
}

static void run_once(struct loop *l)
{
        uint64_t now = host_ns();
        if (now >= l->timeout_at_ns) {
                finish(l, RUN_TIMED_OUT, "timeout after %.1f s",
                       (double)(now - l->start_ns) / 1e9);
                return;
        }
        /* Recording or replaying, events wait for a deterministic exit,
         * where both runs are at the same position: what P1 and P5 will
         * rest on in a replicated pair. */
        if ((!l->replay || l->at_deterministic_exit) && !at_shared_point(l, now))
                return;
        int rc = kick_timer__arm(&l->kick, next_wakeup_ns(l));
        if (rc) {
                finish(l, RUN_HOST_ERROR, "arming the kick timer: %s", strerror(-rc));
                return;
        }
        if (ioctl(l->m->vm.vcpu_fd, KVM_RUN, 0) < 0) {
                if (errno == EINTR || errno == EAGAIN) {
                        l->result->exits.kicks++;
                        l->at_deterministic_exit = false;
                        kick_timer__consume(&l->kick);
                        if (recording(l) && host_ns() >= stall_deadline_ns(l))
                                take_checkpoint(l);
                        return;
                }
                finish(l, RUN_HOST_ERROR, "KVM_RUN: %s", strerror(errno));
                return;
        }
        handle_exit(l);
        l->at_deterministic_exit = is_deterministic_exit(l->run->exit_reason);
        l->previous_exit_rip = l->run->s.regs.regs.rip;
        if (!replay_stopped(l))
                reached_stop_position(l);
}

void vcpu_loop__run(struct machine *m, const struct run_limits *limits,
                    struct run_result *result)
{
        memset(result, 0, sizeof(*result));
        struct loop l = {
                .m = m,
                .run = m->vm.run,
                .result = result,
                .start_ns = host_ns(),
                .timeout_at_ns = KICK_TIMER_NONE,
                .stop_at_position = limits->stop_at_position,
                .replay = limits->replay,
                .max_stall_ns = limits->max_stall_ns,
                .pending_since_ns = UINT64_MAX,
                .at_deterministic_exit = true,
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
        while (!l.done)
                run_once(&l);
        kick_timer__destroy(&l.kick);
        result->elapsed_ns = host_ns() - l.start_ns;
}
