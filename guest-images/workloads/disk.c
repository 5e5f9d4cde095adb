/* disk: numbered, checksummed records on the virtio-blk disk, flushed in
 * groups, then read back and verified; or, with mode=bench, random 4 KiB
 * reads and writes (IOPS and per-request latency) and sequential
 * bandwidth. Timing is printed only as `<name>_us=` fields.
 *
 * Parameters: records=64 record_size=4096 flush_every=8 depth=8 start=0
 * seed=1 pause_ms=0 (verify; pause_ms waits between groups, so that a
 * failover drill's kill can land anywhere in a run of a few seconds); mode=bench ops=2000 lat_ops=500 depth=8 span_mb=64
 * seq_mb=16 (bench). */
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
        char mode[16];
        if (arg_string("mode", mode, sizeof(mode)) >= 0 && strcmp(mode, "bench") == 0)
                return bench_mode(&info);
        return verify_mode(&info);
}
