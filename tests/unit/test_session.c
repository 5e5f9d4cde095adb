/* The replication session without KVM: a scripted "guest" (port accesses
 * at fixed positions, a clock the test moves) is recorded through the
 * recording role into memory, then replayed through the replaying role on
 * a fresh machine, which must make the same decisions at the same
 * positions; a different run is caught as a divergence. The parts that
 * need KVM (checkpoints, dirty pages) are stood in for by fakes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/log_reader.h"
#include "../../replication/session_record.h"
#include "../../replication/session_replay.h"
#include "../../vmm/machine_control.h"
#include "fake_environment.h"
#include "fake_machine.h"
#include "memory_sink.h"
#include "suites.h"

#define RAM_SIZE FAKE_MACHINE_RAM
#define STEPS 400
#define STEP_NS 300000ull        /* guest time between two exits */
#define STALL_AT 150             /* the guest computes without exits here */
#define EXIT_AT 380

static struct fake_environment host;

static struct machine *new_machine(void)
{
        return fake_machine__new(&host.env, -1);
}

static void free_machine(struct machine *m)
{
        fake_machine__free(m);
}

static void out(struct machine *m, uint16_t port, uint32_t value, uint32_t size)
{
        ck_assert_int_eq(io_bus__access(&m->pio, port, (uint8_t *)&value, size, true), 0);
}

static uint8_t in(struct machine *m, uint16_t port)
{
        uint8_t v = 0;
        ck_assert_int_eq(io_bus__access(&m->pio, port, &v, 1, false), 0);
        return v;
}

/* The guest's instruction at exit number `step`: initialise the PIC
 * (auto-EOI) and the PIT (2 ms periods), read the PIT's count now and
 * then, print a line, exit. `extra_read` adds one clock read the recorded
 * run did not make. */
static void guest_step(struct machine *m, unsigned step, unsigned extra_read)
{
        static const struct { uint16_t port; uint8_t value; } init[] = {
                { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x03 }, { 0x21, 0xfe },
                { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0xa1, 0xff },
                { 0x43, 0x34 }, { 0x40, 0x4a }, { 0x40, 0x09 }, /* 2378 counts: 2 ms */
        };
        static const char line[] = "hello\n";
        if (step < sizeof(init) / sizeof(init[0]))
                out(m, init[step].port, init[step].value, 1);
        else if (step >= 200 && step < 200 + sizeof(line) - 1)
                out(m, 0x3f8, (uint8_t)line[step - 200], 1);
        else if (step == EXIT_AT)
                out(m, 0xf4, 7, 4);
        else if (step % 9 == 0 || step == extra_read)
                out(m, 0x43, 0x00, 1); /* latch, then read both bytes */
        else if (step % 9 <= 2)
                in(m, 0x40);
        else
                in(m, 0x21); /* an exit that reads nothing of the outside */
}

#define NOT_EXECUTED (-2)

struct decisions {
        int vector[STEPS + 1];   /* what was injected after each exit */
        struct session_answer last;
        unsigned stopped_at;
};

/* Drives a session the way the vCPU loop does: one call per exit, a kick
 * in the compute stretch at STALL_AT. Exit number `step` is the guest's
 * instruction at position step + 1, so a replay that applies a checkpoint
 * (and jumps to its position) goes on with the instruction after it. */
static void run_guest(struct session *s, struct machine *m, struct decisions *d, unsigned extra_read,
                      bool replaying)
{
        for (unsigned i = 0; i <= STEPS; i++)
                d->vector[i] = NOT_EXECUTED;
        d->stopped_at = STEPS;
        struct session_answer a;
        session__at_deterministic_exit(s, false, &a); /* the boot */
        while (m->position < STEPS && !a.stop) {
                unsigned step = (unsigned)m->position;
                if (step == STALL_AT) {
                        /* 30 ms of computing: the recorder is kicked and
                         * checkpoints; the replay applied that checkpoint
                         * at the point before. */
                        host.monotonic_ns += 30000000;
                        if (!replaying)
                                session__at_kick(s, &a);
                        if (a.stop)
                                break;
                }
                m->position++;
                host.monotonic_ns += STEP_NS;
                guest_step(m, step, extra_read);
                session__at_deterministic_exit(s, false, &a);
                d->vector[step] = a.inject_vector;
                if (a.stop)
                        d->stopped_at = step;
        }
        d->last = a;
}

struct recorded {
        struct memory_sink sink;
        struct decisions decisions;
        char printed[64];
        size_t printed_length;
        uint64_t checkpoints, epochs;
};

static size_t printed(void *context, const uint8_t *bytes, size_t n)
{
        struct recorded *r = context;
        memcpy(r->printed + r->printed_length, bytes, n);
        r->printed_length += n;
        return n;
}

static void release(void *context, uint64_t safe)
{
        output_commit__safe(context, safe);
}

static void record(struct recorded *rec)
{
        static const uint8_t image[] = "not an image: the test loads nothing";
        fake_environment__init(&host);
        host.monotonic_ns = 1000000000;
        struct machine *m = new_machine();
        memory_sink__init(&rec->sink, 1 << 20);
        struct log_writer writer = { .on_progress = release };
        struct output_commit output;
        ck_assert_int_eq(output_commit__start(&output, printed, rec, 0), 0);
        writer.progress_context = &output;
        ck_assert_int_eq(log_writer__start(&writer, &rec->sink.sink, LOG_SAFE_WHEN_WRITTEN), 0);
        struct recorder r;
        struct recorder_options opts = { .epoch_ns = 5000000, .max_stall_ns = 20000000,
                                         .verify_every = 3 };
        struct log_entry boot = { .kind = LOG_BOOT, .ram_size = RAM_SIZE,
                                  .image = { image, sizeof(image) } };
        ck_assert_int_eq(recorder__init(&r, m, &fake_machine_control, &host.env, &opts, &writer, &output,
                                        &boot), 0);
        run_guest(&r.base, m, &rec->decisions, UINT32_MAX, false);
        rec->checkpoints = r.base.counters.checkpoints;
        rec->epochs = r.base.counters.epochs;
        ck_assert_int_eq(log_writer__close(&writer), 0);
        output_commit__close(&output, true);
        recorder__release(&r);
        free_machine(m);
}

/* The log in memory, read 100 bytes at a time; optionally ending (as a
 * lost primary's stream does) right after its first checkpoint. */
struct memory_source {
        struct replay_source source;
        struct log_reader reader;
        const uint8_t *bytes;
        size_t length, fed;
        bool end_after_checkpoint, ended;
        uint64_t last_time;          /* the last clock value handed out */
        bool clock_read_in_epoch;    /* one since the last epoch's end */
};

static void note_record(struct memory_source *ms, const struct log_entry *e)
{
        if (e->kind == LOG_TIME) {
                ms->last_time = e->value;
                ms->clock_read_in_epoch = true;
        } else if (e->kind == LOG_EPOCH_END) {
                ms->clock_read_in_epoch = false;
        } else if (e->kind == LOG_CHECKPOINT && ms->end_after_checkpoint) {
                ms->ended = true;
        }
}

static enum replay_source_state memory_next(struct replay_source *src, struct log_entry *e)
{
        struct memory_source *ms = (struct memory_source *)src;
        if (ms->ended)
                return REPLAY_SOURCE_DONE;
        for (;;) {
                switch (log_reader__next(&ms->reader, e)) {
                case LOG_READ_RECORD:
                        note_record(ms, e);
                        return REPLAY_SOURCE_OPEN;
                case LOG_READ_CORRUPT:
                        return REPLAY_SOURCE_CORRUPT;
                case LOG_READ_NEED_MORE:
                        break;
                }
                size_t n = ms->length - ms->fed < 100 ? ms->length - ms->fed : 100;
                if (!n)
                        return REPLAY_SOURCE_DONE;
                ck_assert_int_eq(log_reader__feed(&ms->reader, ms->bytes + ms->fed, n), 0);
                ms->fed += n;
        }
}

static void memory_describe_end(struct replay_source *src, char *out, size_t size)
{
        struct memory_source *ms = (struct memory_source *)src;
        snprintf(out, size, ms->reader.corrupt ? "corrupt %s" : "the log ends%s",
                 ms->reader.corrupt ? ms->reader.problem : "");
}

static void memory_source__open(struct memory_source *ms, const uint8_t *bytes, size_t length)
{
        memset(ms, 0, sizeof(*ms));
        ms->source = (struct replay_source){ .next = memory_next,
                                             .describe_end = memory_describe_end, .name = "memory" };
        ms->bytes = bytes;
        ms->length = length;
        log_reader__init(&ms->reader, 1 << 20);
        struct log_entry first;
        ck_assert_int_eq(memory_next(&ms->source, &first), REPLAY_SOURCE_OPEN);
        ck_assert_int_eq(first.kind, LOG_BOOT);
}

/* Replays the recorded log on a fresh machine; returns its decisions. */
static void replay(const uint8_t *log, size_t length, struct decisions *d, unsigned extra_read,
                   uint64_t *checkpoints)
{
        fake_environment__init(&host);
        host.monotonic_ns = 777; /* the replay must never read it */
        struct machine *m = new_machine();
        struct memory_source ms;
        memory_source__open(&ms, log, length);
        struct replayer p;
        ck_assert_int_eq(replayer__init(&p, m, &fake_machine_control, &ms.source), 0);
        run_guest(&p.base, m, d, extra_read, true);
        if (checkpoints)
                *checkpoints = p.base.counters.checkpoints;
        replayer__release(&p);
        log_reader__release(&ms.reader);
        free_machine(m);
}

static struct recorded *rec;

static void setup(void)
{
        rec = calloc(1, sizeof(*rec));
        record(rec);
}

static void teardown(void)
{
        memory_sink__release(&rec->sink);
        free(rec);
}

START_TEST(the_recording_runs_to_the_guests_exit)
{
        struct decisions *d = &rec->decisions;
        ck_assert(d->last.stop);
        ck_assert_int_eq(d->last.outcome, RUN_GUEST_EXITED);
        ck_assert_uint_eq(d->last.guest_status, 7);
        ck_assert_uint_eq(d->stopped_at, EXIT_AT);
        unsigned interrupts = 0;
        for (unsigned i = 0; i < STEPS; i++)
                interrupts += d->vector[i] >= 0;
        /* 2 ms periods over about 110 ms of guest time. */
        ck_assert_uint_ge(interrupts, 40);
        ck_assert_uint_eq(rec->checkpoints, 1);
        ck_assert_uint_gt(rec->epochs, interrupts);  /* timer epochs too */
        ck_assert_uint_eq(rec->printed_length, 6);
        ck_assert_mem_eq(rec->printed, "hello\n", 6);
}
END_TEST

START_TEST(a_replay_makes_the_same_decisions_at_the_same_positions)
{
        struct decisions d;
        uint64_t checkpoints;
        replay(rec->sink.bytes, rec->sink.length, &d, UINT32_MAX, &checkpoints);
        ck_assert_msg(d.last.outcome == RUN_GUEST_EXITED, "%s", d.last.message);
        ck_assert_uint_eq(d.last.guest_status, 7);
        ck_assert_uint_eq(d.stopped_at, EXIT_AT);
        unsigned skipped = 0;
        for (unsigned i = 0; i < STEPS; i++) {
                int got = d.vector[i], want = rec->decisions.vector[i];
                /* Exits inside the checkpoint epoch are not executed, and
                 * nothing was injected there (an injection ends an epoch). */
                if (got == NOT_EXECUTED && want == -1 && i < STALL_AT) {
                        skipped++;
                        continue;
                }
                ck_assert_msg(got == want, "exit %u: the replay injects %d, the recording injected %d",
                              i, got, want);
        }
        ck_assert_uint_eq(checkpoints, 1);
        ck_assert_uint_gt(skipped, 0);
}
END_TEST

START_TEST(a_run_that_reads_the_clock_elsewhere_diverges)
{
        struct decisions d;
        replay(rec->sink.bytes, rec->sink.length, &d, 250, NULL);
        ck_assert_int_eq(d.last.outcome, RUN_DIVERGED);
        ck_assert_msg(strstr(d.last.message, "the run needs TIME here"), "%s", d.last.message);
        ck_assert_uint_le(d.stopped_at, 252);
}
END_TEST

/* The log cut at each record boundary of its second half: the replay
 * stops with "log ended" at the last position the records cover, and
 * never decides anything the full replay would not. */
START_TEST(a_log_cut_short_ends_where_its_records_end)
{
        struct decisions full, cut;
        replay(rec->sink.bytes, rec->sink.length, &full, UINT32_MAX, NULL);
        for (size_t length = rec->sink.length / 2; length < rec->sink.length - 100; length += 97) {
                replay(rec->sink.bytes, length, &cut, UINT32_MAX, NULL);
                ck_assert_msg(cut.last.outcome == RUN_LOG_ENDED, "cut at %zu: outcome %d: %s", length,
                              cut.last.outcome, cut.last.message);
                for (unsigned i = 0; i < cut.stopped_at; i++)
                        ck_assert_int_eq(cut.vector[i], full.vector[i]);
                ck_assert_uint_lt(cut.stopped_at, full.stopped_at);
        }
}
END_TEST

START_TEST(a_corrupt_record_stops_the_replay_as_corruption)
{
        rec->sink.bytes[rec->sink.length - 200] ^= 0x40;
        struct decisions d;
        replay(rec->sink.bytes, rec->sink.length, &d, UINT32_MAX, NULL);
        ck_assert_int_eq(d.last.outcome, RUN_LOG_CORRUPT);
        ck_assert_msg(strstr(d.last.message, "corrupt"), "%s", d.last.message);
}
END_TEST

/* A byte of guest memory changed during the replay, where the guest
 * never looks: the memory hash (every 3 epochs here) catches it. */
START_TEST(a_changed_byte_of_memory_is_caught)
{
        fake_environment__init(&host);
        struct machine *m = new_machine();
        struct memory_source ms;
        memory_source__open(&ms, rec->sink.bytes, rec->sink.length);
        struct replayer p;
        ck_assert_int_eq(replayer__init(&p, m, &fake_machine_control, &ms.source), 0);
        p.flip_at_position = 100;
        p.flip_address = 0x300000;
        struct decisions d;
        run_guest(&p.base, m, &d, UINT32_MAX, true);
        ck_assert_int_eq(d.last.outcome, RUN_DIVERGED);
        ck_assert_msg(strstr(d.last.message, "guest memory hash"), "%s", d.last.message);
        /* where: the range of RAM (4 MiB in 64 ranges) that holds it */
        ck_assert_msg(strstr(d.last.message, "it differs in guest memory [0x300000, 0x310000)"), "%s",
                      d.last.message);
        ck_assert_uint_lt(d.stopped_at, 100 + 3 * 8); /* three epochs, each under 8 exits */
        replayer__release(&p);
        log_reader__release(&ms.reader);
        free_machine(m);
}
END_TEST

/* A device that differs (the UART's scratch register, which the guest
 * never reads): the digest catches it at the first epoch's end, and says
 * which device. */
START_TEST(a_divergence_names_the_device_that_differs)
{
        fake_environment__init(&host);
        struct machine *m = new_machine();
        struct memory_source ms;
        memory_source__open(&ms, rec->sink.bytes, rec->sink.length);
        struct replayer p;
        ck_assert_int_eq(replayer__init(&p, m, &fake_machine_control, &ms.source), 0);
        out(m, 0x3ff, 0x5a, 1);
        struct decisions d;
        run_guest(&p.base, m, &d, UINT32_MAX, true);
        ck_assert_int_eq(d.last.outcome, RUN_DIVERGED);
        ck_assert_msg(strstr(d.last.message, "state digest"), "%s", d.last.message);
        ck_assert_msg(strstr(d.last.message, "it differs in device 'UART'"), "%s", d.last.message);
        ck_assert_msg(!strstr(d.last.message, "PIC"), "%s", d.last.message);
        replayer__release(&p);
        log_reader__release(&ms.reader);
        free_machine(m);
}
END_TEST

/* A replica that goes live (P6) continues guest time from the clock value
 * it returns: this is the value the replayer offered. */
static uint64_t clock_at_take_over;

static struct environment *take_over_here(struct replayer *p, void *context)
{
        (void)context;
        clock_at_take_over = p->last_time;
        return &host.env;
}

/* A replica on a fresh machine whose clock reads machine_clock_ns, over
 * the recorded log, going live (take_over_here) when its source ends; the
 * test shapes the source before the replica runs. */
struct going_live {
        struct machine *m;
        struct memory_source ms;
        struct replayer p;
};

static void going_live__start(struct going_live *g, uint64_t machine_clock_ns)
{
        fake_environment__init(&host);
        g->m = new_machine();
        g->m->clock_ns = machine_clock_ns;
        memory_source__open(&g->ms, rec->sink.bytes, rec->sink.length);
        ck_assert_int_eq(replayer__init(&g->p, g->m, &fake_machine_control, &g->ms.source), 0);
        g->p.take_over = take_over_here;
        clock_at_take_over = 0;
}

static void going_live__finish(struct going_live *g)
{
        replayer__release(&g->p);
        log_reader__release(&g->ms.reader);
        free_machine(g->m);
}

/* The stream ends right after a checkpoint: the replica never executed
 * the checkpoint's epoch, but the guest the checkpoint holds has read the
 * clock values logged in it, and must not see time go back to before. */
START_TEST(a_replica_live_after_a_checkpoint_continues_from_its_epochs_clock)
{
        struct going_live g;
        going_live__start(&g, 0);
        g.ms.end_after_checkpoint = true;
        struct decisions d;
        run_guest(&g.p.base, g.m, &d, UINT32_MAX, true);
        ck_assert(g.ms.ended);
        ck_assert_msg(g.ms.clock_read_in_epoch, "the checkpoint's epoch read no clock: this shows nothing");
        ck_assert_uint_eq(g.p.base.counters.checkpoints, 1);
        ck_assert_uint_eq(clock_at_take_over, g.ms.last_time);
        going_live__finish(&g);
}
END_TEST

/* A backup that joined from a machine state and lost its primary before
 * any clock record continues from the state's clock, not from zero (its
 * guest would wait for the state's timer deadlines as long as the
 * primary's host had been up). */
START_TEST(a_replica_live_before_any_clock_record_continues_from_the_machines_clock)
{
        struct going_live g;
        going_live__start(&g, 86400000000000ull); /* a day of the primary host's uptime */
        g.ms.ended = true;
        struct session_answer a;
        session__at_deterministic_exit(&g.p.base, false, &a);
        ck_assert(g.p.live);
        ck_assert_uint_eq(clock_at_take_over, 86400000000000ull);
        going_live__finish(&g);
}
END_TEST

/* A recorder on a fresh machine whose guest has set up its PIC and PIT,
 * for the tests of what a kick answers. */
struct kicked_recorder {
        struct machine *m;
        struct memory_sink sink;
        struct log_writer writer;
        struct output_commit output;
        struct recorder r;
};

static void kicked_recorder__start(struct kicked_recorder *k)
{
        static const uint8_t image[] = "x";
        fake_environment__init(&host);
        host.monotonic_ns = 1000000000;
        memset(k, 0, sizeof(*k));
        k->m = new_machine();
        memory_sink__init(&k->sink, 1 << 20);
        ck_assert_int_eq(output_commit__start(&k->output, printed, rec, 0), 0);
        ck_assert_int_eq(log_writer__start(&k->writer, &k->sink.sink, LOG_SAFE_WHEN_WRITTEN), 0);
        struct recorder_options opts = { .epoch_ns = 5000000, .max_stall_ns = 20000000 };
        struct log_entry boot = { .kind = LOG_BOOT, .image = { image, 1 } };
        ck_assert_int_eq(recorder__init(&k->r, k->m, &fake_machine_control, &host.env, &opts, &k->writer,
                                        &k->output, &boot), 0);
        struct session_answer a;
        session__at_deterministic_exit(&k->r.base, false, &a);
        for (unsigned step = 0; step < 13; step++) { /* PIC and PIT set up */
                k->m->position++;
                guest_step(k->m, step, UINT32_MAX);
                session__at_deterministic_exit(&k->r.base, false, &a);
        }
}

static void kicked_recorder__finish(struct kicked_recorder *k)
{
        ck_assert_int_eq(log_writer__close(&k->writer), 0);
        output_commit__close(&k->output, true);
        recorder__release(&k->r);
        memory_sink__release(&k->sink);
        free_machine(k->m);
}

/* A kick before the stall deadline changes nothing: the interrupt that
 * waits for the guest to enable interrupts must keep its window request,
 * or the recorder would lose an exit its replay makes. */
START_TEST(a_kick_that_changes_nothing_keeps_the_interrupt_window)
{
        struct kicked_recorder k;
        kicked_recorder__start(&k);
        struct machine *m = k.m;
        struct recorder *r = &k.r;
        struct session_answer a;
        m->vm.run->if_flag = 0;                 /* the guest's kernel, interrupts off */
        host.monotonic_ns += 3000000;           /* past the PIT's 2 ms */
        m->position++;
        in(m, 0x21);
        session__at_deterministic_exit(&r->base, false, &a);
        ck_assert_int_eq(a.inject_vector, -1);
        ck_assert(a.request_window);
        host.monotonic_ns += 1000000;           /* a kick, well before the stall */
        session__at_kick(&r->base, &a);
        ck_assert(!a.stop);
        ck_assert_int_eq(a.inject_vector, -1);
        ck_assert_msg(a.request_window, "the kick dropped the interrupt window request");
        kicked_recorder__finish(&k);
}
END_TEST

/* The opposite case: an interrupt injected with a second one behind it in
 * the PIC, and no window asked for the second until the next shared
 * point. A kick (a disk's completion kicks at any time) must not ask for
 * one either: the window's exit would be one the replay never makes. */
START_TEST(a_kick_asks_for_no_window_the_last_answer_did_not)
{
        struct kicked_recorder k;
        kicked_recorder__start(&k);
        struct machine *m = k.m;
        struct recorder *r = &k.r;
        struct session_answer a;
        m->position++;
        out(m, 0x21, 0xfc, 1);                  /* IRQ 1 unmasked too */
        pic8259__set_irq(&m->pic, 1, true);     /* a device's request... */
        host.monotonic_ns += 3000000;           /* ...and the PIT's, which wins */
        session__at_deterministic_exit(&r->base, false, &a);
        ck_assert_int_eq(a.inject_vector, 0x20);
        ck_assert(!a.request_window);
        ck_assert(pic8259__interrupt_pending(&m->pic)); /* IRQ 1 waits behind it */
        host.monotonic_ns += 100000;            /* a kick, well before the stall */
        session__at_kick(&r->base, &a);
        ck_assert(!a.stop);
        ck_assert_int_eq(a.inject_vector, -1);
        ck_assert_msg(!a.request_window, "the kick asked for a window the last answer did not");
        kicked_recorder__finish(&k);
}
END_TEST

Suite *make_session_suite(void)
{
        Suite *s = suite_create("session");
        TCase *tc = tcase_create("record and replay");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, the_recording_runs_to_the_guests_exit);
        tcase_add_test(tc, a_replay_makes_the_same_decisions_at_the_same_positions);
        tcase_add_test(tc, a_run_that_reads_the_clock_elsewhere_diverges);
        tcase_add_test(tc, a_divergence_names_the_device_that_differs);
        tcase_add_test(tc, a_log_cut_short_ends_where_its_records_end);
        tcase_add_test(tc, a_corrupt_record_stops_the_replay_as_corruption);
        tcase_add_test(tc, a_changed_byte_of_memory_is_caught);
        tcase_add_test(tc, a_replica_live_after_a_checkpoint_continues_from_its_epochs_clock);
        tcase_add_test(tc, a_replica_live_before_any_clock_record_continues_from_the_machines_clock);
        tcase_add_test(tc, a_kick_that_changes_nothing_keeps_the_interrupt_window);
        tcase_add_test(tc, a_kick_asks_for_no_window_the_last_answer_did_not);
        suite_add_tcase(s, tc);
        return s;
}
