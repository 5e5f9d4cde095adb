/* disk: numbered, checksummed records on the virtio-blk disk, flushed in
 * groups, then read back and verified; or, with mode=bench, random 4 KiB
 * reads and writes (IOPS and per-request latency) and sequential
 * bandwidth; or, with mode=clock, writes whose record and place depend on
 * a clock read. Timing is printed only as `<name>_us=` fields (and, in
 * mode=clock, as each write's t= and slot= and the durable lines' counts
 * and places among the writes).
 *
 * Parameters: records=64 record_size=4096 flush_every=8 depth=8 start=0
 * seed=1 pause_ms=0 (verify; pause_ms waits between groups, so that a
 * failover drill's kill can land anywhere in a run of a few seconds); mode=bench ops=2000 lat_ops=500 depth=8 span_mb=64
 * seq_mb=16 (bench); mode=clock records=200 depth=8 compute_ms=10
 * flush_every=8 slots=64 record_size=4096 start=0 seed=1 (clock; see
 * guest-images/README.md). */
#include "disk_record.h"
#include "ulib.h"

const char workload_name[] = "disk";

int main(void);

#define SECTOR 512u
#define SEQ_BYTES 65536u

static uint8_t buffers[BLK_MAX_INFLIGHT][BLK_MAX_BYTES] __attribute__((aligned(4096)));
static struct blk_done done[BLK_MAX_INFLIGHT];
static unsigned long long latencies[20000];

static unsigned long long now_us(void)
{
        return sys_time_ns() / 1000;
}

/* One request and nothing else in flight: submit and wait. */
static unsigned long one_request(unsigned op, unsigned long sector, void *buf, unsigned bytes)
{
        struct blk_req r = { .op = op, .bytes = bytes, .sector = sector, .buf = (unsigned long)buf };
        if (sys_blk_submit(&r, 1) != 1)
                return BLK_STATUS_REFUSED;
        while (sys_blk_wait(done, 1) != 1)
                ;
        return done[0].status;
}

struct run {
        long record_size, depth, start, seed;
};

static long check_record(const struct run *r, long i, const uint8_t *buf)
{
        enum disk_record_problem p = disk_record_check(buf, (uint32_t)r->record_size, (uint32_t)i,
                                                       (uint32_t)r->seed);
        if (p == DISK_RECORD_OK)
                return 0;
        printf("disk: record %ld: %s\n", i, disk_record_problem_name(p));
        return 1;
}

/* Queues records from *next into the free slots (in_slot -1); returns how
 * many requests it put in reqs. */
static long fill_slots(const struct run *r, long *in_slot, long *next, long last, unsigned op,
                       struct blk_req *reqs)
{
        long n = 0;
        unsigned long spr = (unsigned long)r->record_size / SECTOR;
        for (long s = 0; s < r->depth && *next < last; s++) {
                if (in_slot[s] != -1)
                        continue;
                if (op == BLK_OP_WRITE)
                        disk_record_fill(buffers[s], (uint32_t)r->record_size, (uint32_t)*next,
                                         (uint32_t)r->seed);
                in_slot[s] = *next;
                reqs[n++] = (struct blk_req){ .op = op, .bytes = (unsigned)r->record_size,
                                              .sector = (unsigned long)r->start + (unsigned long)*next * spr,
                                              .buf = (unsigned long)buffers[s], .tag = (unsigned long)s };
                (*next)++;
        }
        return n;
}

/* Records [first, last): written with up to depth in flight, or read and
 * checked. Returns the number of failures (each printed). */
static long transfer(const struct run *r, long first, long last, unsigned op)
{
        long in_slot[BLK_MAX_INFLIGHT];
        for (long s = 0; s < BLK_MAX_INFLIGHT; s++)
                in_slot[s] = -1;
        long next = first, failures = 0, busy = 0;
        while (next < last || busy) {
                struct blk_req reqs[BLK_MAX_INFLIGHT];
                long n = fill_slots(r, in_slot, &next, last, op, reqs);
                if (n && sys_blk_submit(reqs, n) != n) {
                        printf("disk: the kernel refused a request\n");
                        return failures + 1;
                }
                busy += n;
                long got = sys_blk_wait(done, BLK_MAX_INFLIGHT);
                for (long k = 0; k < got; k++) {
                        long s = (long)done[k].tag;
                        if (done[k].status != BLK_STATUS_OK) {
                                printf("disk: %s of record %ld failed (status %lu)\n",
                                       op == BLK_OP_WRITE ? "write" : "read", in_slot[s], done[k].status);
                                failures++;
                        } else if (op == BLK_OP_READ) {
                                failures += check_record(r, in_slot[s], buffers[s]);
                        }
                        in_slot[s] = -1;
                        busy--;
                }
        }
        return failures;
}

/* Waits this many timer ticks (no port access per tick). */
static void pause(unsigned long long ticks)
{
        unsigned long long deadline = sys_ticks() + ticks;
        while (ticks && sys_wait_tick() < deadline)
                ;
}

static int verify_mode(const struct blk_info *info)
{
        long records = arg_long("records", 64), flush_every = arg_long("flush_every", 8);
        long pause_ms = arg_long("pause_ms", 0);
        unsigned long long pause_ticks = pause_ms > 0 ?
                ((unsigned long long)pause_ms * TIMER_DEFAULT_HZ + 999) / 1000 : 0;
        struct run r = { arg_long("record_size", 4096), arg_long("depth", 8), arg_long("start", 0),
                         arg_long("seed", 1) };
        if (records < 0 || flush_every < 1 || r.record_size < (long)SECTOR ||
            r.record_size % SECTOR || r.record_size > (long)BLK_MAX_BYTES || r.depth < 1 ||
            r.depth > BLK_MAX_INFLIGHT || r.start < 0) {
                printf("disk: records >= 0, flush_every >= 1, record_size a multiple of 512 up to 65536, depth 1..16\n");
                return 2;
        }
        unsigned long need = (unsigned long)r.start + (unsigned long)records * ((unsigned long)r.record_size / SECTOR);
        if (need > info->capacity) {
                printf("disk: %ld records of %ld bytes from sector %ld need %lu sectors; the disk has %lu\n",
                       records, r.record_size, r.start, need, info->capacity);
                return 2;
        }
        unsigned long long t0 = now_us();
        for (long group = 0; group < records; group += flush_every) {
                long end = group + flush_every < records ? group + flush_every : records;
                if (transfer(&r, group, end, BLK_OP_WRITE))
                        return 1;
                unsigned long status = one_request(BLK_OP_FLUSH, 0, 0, 0);
                if (status != BLK_STATUS_OK) {
                        printf("disk: flush failed (status %lu)\n", status);
                        return 1;
                }
                printf("disk durable=%ld\n", end);
                pause(pause_ticks);
        }
        long errors = transfer(&r, 0, records, BLK_OP_READ);
        printf("disk records=%ld record_size=%ld flush_every=%ld verified=%ld errors=%ld elapsed_us=%llu\n",
               records, r.record_size, flush_every, records - errors, errors, now_us() - t0);
        return errors ? 1 : 0;
}

static unsigned long long rng_state = 0x2545f4914f6cdd1dull;

static unsigned long long next_random(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

struct load {
        unsigned op;
        long ops, depth;
        unsigned bytes;
        unsigned long span;      /* sectors the requests spread over */
        int random;
};

static unsigned long place(const struct load *l, long i)
{
        unsigned long per = l->bytes / SECTOR;
        if (l->random)
                return (next_random() % (l->span / per)) * per;
        return ((unsigned long)i * per) % (l->span - l->span % per);
}

/* l->ops requests with up to l->depth in flight; the guest time they took
 * in *elapsed. Returns 0, or -1 after printing what failed. */
static int run_load(const struct load *l, unsigned long long *elapsed)
{
        long issued = 0, completed = 0;
        int free_slot[BLK_MAX_INFLIGHT];
        for (long s = 0; s < l->depth; s++)
                free_slot[s] = 1;
        unsigned long long t0 = now_us();
        while (completed < l->ops) {
                struct blk_req reqs[BLK_MAX_INFLIGHT];
                long n = 0;
                for (long s = 0; s < l->depth && issued < l->ops; s++) {
                        if (!free_slot[s])
                                continue;
                        free_slot[s] = 0;
                        reqs[n++] = (struct blk_req){ .op = l->op, .bytes = l->bytes,
                                                      .sector = place(l, issued), .tag = (unsigned long)s,
                                                      .buf = (unsigned long)buffers[s] };
                        issued++;
                }
                if (n && sys_blk_submit(reqs, n) != n) {
                        printf("disk: the kernel refused a request\n");
                        return -1;
                }
                long got = sys_blk_wait(done, BLK_MAX_INFLIGHT);
                for (long k = 0; k < got; k++) {
                        if (done[k].status != BLK_STATUS_OK) {
                                printf("disk: bench request failed (status %lu)\n", done[k].status);
                                return -1;
                        }
                        free_slot[done[k].tag] = 1;
                        completed++;
                }
        }
        *elapsed = now_us() - t0;
        return 0;
}

static void sort(unsigned long long *a, long n)
{
        for (long gap = n / 2; gap > 0; gap /= 2)
                for (long i = gap; i < n; i++)
                        for (long j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
                                unsigned long long t = a[j];
                                a[j] = a[j - gap];
                                a[j - gap] = t;
                        }
}

/* One request at a time, each timed from the end of the one before (the
 * clock read between them is part of the figure: 3 PIT exits). */
static int run_latency(const struct load *l, const char *name)
{
        unsigned long long t0 = now_us();
        for (long i = 0; i < l->ops; i++) {
                unsigned long status = one_request(l->op, place(l, i), buffers[0], l->bytes);
                if (status != BLK_STATUS_OK) {
                        printf("disk: bench request failed (status %lu)\n", status);
                        return -1;
                }
                unsigned long long t1 = now_us();
                latencies[i] = t1 - t0;
                t0 = t1;
        }
        sort(latencies, l->ops);
        printf("disk bench %s_lat ops=%ld p50_us=%llu p99_us=%llu\n", name, l->ops,
               latencies[l->ops / 2], latencies[l->ops * 99 / 100]);
        return 0;
}

static int bench_random(unsigned op, const char *name, long ops, long lat_ops, long depth,
                        unsigned long span)
{
        struct load l = { op, ops, depth, 4096, span, 1 };
        unsigned long long elapsed;
        if (run_load(&l, &elapsed))
                return -1;
        printf("disk bench %s ops=%ld depth=%ld elapsed_us=%llu\n", name, ops, depth, elapsed);
        l.ops = lat_ops;
        l.depth = 1;
        return lat_ops ? run_latency(&l, name) : 0;
}

static int bench_sequential(unsigned op, const char *name, unsigned long bytes, unsigned long span)
{
        struct load l = { op, (long)(bytes / SEQ_BYTES), 4, SEQ_BYTES, span, 0 };
        unsigned long long elapsed;
        if (run_load(&l, &elapsed))
                return -1;
        printf("disk bench %s bytes=%lu elapsed_us=%llu\n", name, (unsigned long)l.ops * SEQ_BYTES,
               elapsed);
        return 0;
}

static int bench_mode(const struct blk_info *info)
{
        long ops = arg_long("ops", 2000), lat_ops = arg_long("lat_ops", 500);
        long depth = arg_long("depth", 8), span_mb = arg_long("span_mb", 64);
        long seq_mb = arg_long("seq_mb", 16);
        if (ops < 1 || lat_ops < 0 || lat_ops > 20000 || depth < 1 || depth > BLK_MAX_INFLIGHT ||
            span_mb < 1 || seq_mb < 1) {
                printf("disk: ops >= 1, lat_ops 0..20000, depth 1..16, span_mb and seq_mb >= 1\n");
                return 2;
        }
        unsigned long span = (unsigned long)span_mb << 11;
        if (span > info->capacity)
                span = info->capacity;
        if (span < SEQ_BYTES / SECTOR) {
                printf("disk: the disk is smaller than 64 KiB\n");
                return 2;
        }
        if (bench_random(BLK_OP_WRITE, "randwrite", ops, lat_ops, depth, span) ||
            bench_random(BLK_OP_READ, "randread", ops, lat_ops, depth, span) ||
            bench_sequential(BLK_OP_WRITE, "seqwrite", (unsigned long)seq_mb << 20, span) ||
            bench_sequential(BLK_OP_READ, "seqread", (unsigned long)seq_mb << 20, span))
                return 1;
        return 0;
}

/* mode=clock: every write depends on a clock read. Write i computes for
 * compute_ms in user mode (no exit), reads the clock (t), picks one of
 * `slots` places from t, announces itself as `disk write i= t= slot=` and
 * only then is submitted, with up to `depth` writes and one flush in
 * flight and completions taken with blk_poll (blk_wait only when depth
 * writes are in flight). A failover must leave on the disk no record the
 * surviving guest never announced; tests/tools/disk_verify.c checks that
 * against the transcript. */

#define CLOCK_FLUSH_TAG BLK_MAX_INFLIGHT    /* writes are tagged with their buffer */
#define CALIBRATE_ITERATIONS (1ull << 22)   /* about 8 ms on the build machines */

struct clock_params {
        long records, depth, compute_ms, flush_every, slots, record_size, start, seed;
};

struct clock_slot {
        long busy;                  /* index of the write in flight to it, or -1 */
        long last;                  /* index of the last write completed to it, or -1 */
        unsigned long long last_t;
        int unknown;                /* its last write failed: the content is unknown */
};

struct clock_run {
        struct clock_params p;
        unsigned long long spin_per_ms;
        struct disk_clock_id writing[BLK_MAX_INFLIGHT]; /* per buffer */
        int buffer_busy[BLK_MAX_INFLIGHT];
        long writes_in_flight, first_failed;
        long next;                  /* writes submitted so far */
        long flushes_due;           /* flush_every reached, flush not yet submitted */
        int flush_in_flight;
        long flush_covers;
        long errors;
};

static struct clock_slot clock_slots[DISK_CLOCK_MAX_SLOTS];
static volatile unsigned long long spin_sink;

static int clock_params_read(struct clock_params *p, const struct blk_info *info)
{
        *p = (struct clock_params){ arg_long("records", 200), arg_long("depth", 8),
                                    arg_long("compute_ms", 10), arg_long("flush_every", 8),
                                    arg_long("slots", DISK_CLOCK_DEFAULT_SLOTS),
                                    arg_long("record_size", 4096), arg_long("start", 0),
                                    arg_long("seed", 1) };
        if (p->records < 0 || p->records > 0x7fffffff || p->depth < 1 ||
            p->depth > BLK_MAX_INFLIGHT - 1 || p->compute_ms < 0 || p->compute_ms > 60000 ||
            p->flush_every < 1 || p->slots < p->depth || p->slots > DISK_CLOCK_MAX_SLOTS ||
            p->record_size < (long)SECTOR || p->record_size % SECTOR ||
            p->record_size > (long)BLK_MAX_BYTES || p->start < 0) {
                printf("disk: mode=clock: records 0..2^31-1, depth 1..15, compute_ms 0..60000, "
                       "flush_every >= 1, slots depth..4096, record_size a multiple of 512 up to 65536\n");
                return 2;
        }
        unsigned long need = (unsigned long)p->start +
                             (unsigned long)p->slots * ((unsigned long)p->record_size / SECTOR);
        if (need > info->capacity) {
                printf("disk: %ld slots of %ld bytes from sector %ld need %lu sectors; the disk has %lu\n",
                       p->slots, p->record_size, p->start, need, info->capacity);
                return 2;
        }
        return 0;
}

/* User-mode work with no exit: a xorshift chain the compiler cannot skip. */
static void spin(unsigned long long iterations)
{
        unsigned long long x = spin_sink | 1;
        for (unsigned long long k = 0; k < iterations; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
        }
        spin_sink = x;
}

/* Two clock reads around a fixed spin: iterations per millisecond. */
static unsigned long long calibrate(void)
{
        unsigned long long t0 = sys_time_ns();
        spin(CALIBRATE_ITERATIONS);
        unsigned long long ns = sys_time_ns() - t0;
        unsigned long long per_ms = CALIBRATE_ITERATIONS * 1000000ull / (ns ? ns : 1);
        return per_ms ? per_ms : 1;
}

/* The first write not known to have completed: a flush submitted now
 * makes every write below it durable. */
static long completed_prefix(const struct clock_run *r)
{
        long lowest = r->next < r->first_failed ? r->next : r->first_failed;
        for (long b = 0; b < r->p.depth; b++)
                if (r->buffer_busy[b] && (long)r->writing[b].index < lowest)
                        lowest = (long)r->writing[b].index;
        return lowest;
}

/* A hash of t, or the next slot after it that has no write in flight
 * (fewer than depth <= slots are in flight, so there is one). */
static long choose_slot(const struct clock_run *r, unsigned long long t)
{
        long slot = (long)(disk_record_mix64(t) % (unsigned long long)r->p.slots);
        while (clock_slots[slot].busy != -1)
                slot = (slot + 1) % r->p.slots;
        return slot;
}

static long free_buffer(const struct clock_run *r)
{
        long b = 0;
        while (r->buffer_busy[b])
                b++;
        return b;
}

static int submit(const struct blk_req *req)
{
        if (sys_blk_submit(req, 1) == 1)
                return 0;
        printf("disk: the kernel refused a request\n");
        return -1;
}

/* Write r->next: clock read, slot, record, announcement, then submission. */
static int issue_write(struct clock_run *r)
{
        unsigned long long t = sys_time_ns();
        long slot = choose_slot(r, t), b = free_buffer(r);
        r->writing[b] = (struct disk_clock_id){ (uint32_t)r->next, (uint32_t)slot, t };
        disk_clock_record_fill(buffers[b], (uint32_t)r->p.record_size, (uint32_t)r->p.seed,
                               &r->writing[b]);
        printf("disk write i=%ld t=%llu slot=%ld\n", r->next, t, slot);
        struct blk_req req = { .op = BLK_OP_WRITE, .bytes = (unsigned)r->p.record_size,
                               .sector = (unsigned long)r->p.start +
                                         (unsigned long)slot * ((unsigned long)r->p.record_size / SECTOR),
                               .buf = (unsigned long)buffers[b], .tag = (unsigned long)b };
        if (submit(&req))
                return -1;
        r->buffer_busy[b] = 1;
        clock_slots[slot].busy = r->next++;
        r->writes_in_flight++;
        return 0;
}

/* One flush at a time: a flush that falls due while another is in flight
 * waits for it, so every flush_every writes still give one durable line. */
static int start_flush_if_due(struct clock_run *r)
{
        if (!r->flushes_due || r->flush_in_flight)
                return 0;
        struct blk_req req = { .op = BLK_OP_FLUSH, .tag = CLOCK_FLUSH_TAG };
        r->flush_covers = completed_prefix(r);
        if (submit(&req))
                return -1;
        r->flushes_due--;
        r->flush_in_flight = 1;
        return 0;
}

static void write_done(struct clock_run *r, long b, unsigned long status)
{
        const struct disk_clock_id *w = &r->writing[b];
        struct clock_slot *s = &clock_slots[w->slot];
        s->busy = -1;
        if (status == BLK_STATUS_OK) {
                s->last = (long)w->index;
                s->last_t = w->t;
                s->unknown = 0;
        } else {
                printf("disk: write i=%u failed (status %lu)\n", w->index, status);
                r->errors++;
                s->unknown = 1;
                if ((long)w->index < r->first_failed)
                        r->first_failed = (long)w->index;
        }
        r->buffer_busy[b] = 0;
        r->writes_in_flight--;
}

static void flush_done(struct clock_run *r, unsigned long status)
{
        r->flush_in_flight = 0;
        if (status == BLK_STATUS_OK) {
                printf("disk durable writes=%ld\n", r->flush_covers);
                return;
        }
        printf("disk: flush failed (status %lu)\n", status);
        r->errors++;
}

/* Completions from blk_wait (wait = 1) or blk_poll, taken; then a flush
 * that fell due, submitted, so that it covers what just completed. */
static int take_completions(struct clock_run *r, int wait)
{
        long got = wait ? sys_blk_wait(done, BLK_MAX_INFLIGHT)
                        : sys_blk_poll(done, BLK_MAX_INFLIGHT);
        if (got < 0) {
                printf("disk: the kernel refused to report completions\n");
                return -1;
        }
        for (long k = 0; k < got; k++) {
                if (done[k].tag == CLOCK_FLUSH_TAG)
                        flush_done(r, done[k].status);
                else
                        write_done(r, (long)done[k].tag, done[k].status);
        }
        return start_flush_if_due(r);
}

/* Takes what has completed without waiting, unless depth writes are in
 * flight: then waits until one of them completes. */
static int harvest_clock(struct clock_run *r)
{
        do {
                if (take_completions(r, r->writes_in_flight >= r->p.depth))
                        return -1;
        } while (r->writes_in_flight >= r->p.depth);
        return 0;
}

/* Everything in flight and every flush due, completed. */
static int drain(struct clock_run *r)
{
        if (start_flush_if_due(r))
                return -1;
        while (r->writes_in_flight || r->flush_in_flight)
                if (take_completions(r, 1))
                        return -1;
        return 0;
}

/* Each slot must hold the last write completed to it, and a slot the run
 * never wrote must hold no record of this run. Returns slots verified. */
static long read_back(struct clock_run *r)
{
        long verified = 0;
        uint32_t size = (uint32_t)r->p.record_size;
        for (long k = 0; k < r->p.slots; k++) {
                const struct clock_slot *s = &clock_slots[k];
                unsigned long sector = (unsigned long)r->p.start + (unsigned long)k * (size / SECTOR);
                unsigned long status = one_request(BLK_OP_READ, sector, buffers[0], size);
                if (status != BLK_STATUS_OK) {
                        printf("disk: read of slot %ld failed (status %lu)\n", k, status);
                        r->errors++;
                } else if (s->unknown) {
                        continue;           /* its failed write was counted already */
                } else if (s->last >= 0) {
                        struct disk_clock_id want = { (uint32_t)s->last, (uint32_t)k, s->last_t };
                        enum disk_record_problem p = disk_clock_record_check(buffers[0], size,
                                                                             (uint32_t)r->p.seed, &want);
                        if (p == DISK_RECORD_OK) {
                                verified++;
                        } else {
                                printf("disk: slot %ld: %s (expected write i=%ld)\n", k,
                                       disk_record_problem_name(p), s->last);
                                r->errors++;
                        }
                } else if (disk_clock_record_of_run(buffers[0], size, (uint32_t)r->p.seed)) {
                        printf("disk: slot %ld: a record of this run that it never wrote there\n", k);
                        r->errors++;
                } else {
                        verified++;
                }
        }
        return verified;
}

static int clock_mode(const struct blk_info *info)
{
        static struct clock_run r;
        int bad = clock_params_read(&r.p, info);
        if (bad)
                return bad;
        for (long k = 0; k < r.p.slots; k++)
                clock_slots[k] = (struct clock_slot){ .busy = -1, .last = -1 };
        r.first_failed = r.p.records;
        unsigned long long t0 = now_us();
        r.spin_per_ms = calibrate();
        while (r.next < r.p.records) {
                spin(r.spin_per_ms * (unsigned long long)r.p.compute_ms);
                if (issue_write(&r))
                        return 1;
                if (r.next % r.p.flush_every == 0)
                        r.flushes_due++;
                if (harvest_clock(&r))
                        return 1;
        }
        /* The final flush, once every write has completed: all durable. */
        if (drain(&r))
                return 1;
        r.flushes_due++;
        if (drain(&r))
                return 1;
        long verified = read_back(&r);
        printf("disk clock records=%ld slots=%ld verified=%ld errors=%ld elapsed_us=%llu\n",
               r.p.records, r.p.slots, verified, r.errors, now_us() - t0);
        return r.errors ? 1 : 0;
}

int main(void)
{
        struct blk_info info;
        if (sys_blk_info(&info) < 0) {
                printf("disk: no disk (the command line names no virtio_mmio.device)\n");
                return 2;
        }
        char id[24] = { 0 };
        unsigned long status = one_request(BLK_OP_GET_ID, 0, buffers[0], 20);
        memcpy(id, buffers[0], 20);
        printf("disk capacity=%lu readonly=%lu id=%s%s\n", info.capacity,
               info.flags & BLK_INFO_READONLY, status == BLK_STATUS_OK ? id : "",
               status == BLK_STATUS_OK ? "" : "(none)");
        char mode[16] = "";
        arg_string("mode", mode, sizeof(mode));
        if (strcmp(mode, "bench") == 0)
                return bench_mode(&info);
        if (strcmp(mode, "clock") == 0)
                return clock_mode(&info);
        return verify_mode(&info);
}
