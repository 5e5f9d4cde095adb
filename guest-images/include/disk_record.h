/* The records the `disk` workload writes, shared with the host's verifier
 * (tests/tools/disk_verify.c) so that the two cannot disagree.
 *
 * Record i of a run with seed S, SIZE bytes, lies at byte i * SIZE of the
 * disk (from the workload's start sector): a 32-byte header (magic,
 * index, seed, size, an FNV-1a checksum of the whole record taken with the
 * checksum field zero) and a payload that a xorshift generator seeded with
 * (S, i) fills, so a record from another run, another slot or a torn write
 * never checks out.
 *
 * Clock records (mode=clock) are the second kind: write i of a run reads
 * the guest clock, t, and lands in one of `slots` record-sized places
 * chosen from t, so the same bytes must say which write, which clock value
 * and which place they belong to. Their header is magic "FTVC", index,
 * seed, size, the checksum (same offset and function), slot, and t as a
 * 64-bit little-endian value at byte 24; the payload is generated from
 * (S, i, t). A record of another seed, a torn write (a header and payload
 * of two writes) or a record found in a slot its header does not name
 * never checks out. */
#ifndef GUEST_DISK_RECORD_H
#define GUEST_DISK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define DISK_RECORD_MAGIC 0x52565446u /* "FTVR" */
#define DISK_RECORD_HEADER 32u
#define DISK_RECORD_CHECKSUM_AT 16u

#define DISK_CLOCK_MAGIC 0x43565446u /* "FTVC" */
#define DISK_CLOCK_SLOT_AT 20u
#define DISK_CLOCK_TIME_AT 24u
/* The workload's defaults, which the verifier assumes when the command
 * line names none. */
#define DISK_CLOCK_DEFAULT_SLOTS 64
#define DISK_CLOCK_MAX_SLOTS 4096

enum disk_record_problem {
        DISK_RECORD_OK,
        DISK_RECORD_BAD_MAGIC,
        DISK_RECORD_WRONG_INDEX,
        DISK_RECORD_WRONG_RUN,      /* seed or size of another run */
        DISK_RECORD_BAD_CHECKSUM,
        DISK_RECORD_BAD_PAYLOAD,
        DISK_RECORD_WRONG_SLOT,     /* clock records: intact, but it names another slot */
        DISK_RECORD_WRONG_TIME,     /* clock records: another clock value */
};

/* What a clock record's header says it is. */
struct disk_clock_id {
        uint32_t index, slot;
        uint64_t t;
};

static inline uint32_t disk_record_get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void disk_record_put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t disk_record_fnv(const uint8_t *p, size_t n)
{
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++) {
                uint8_t b = (i >= DISK_RECORD_CHECKSUM_AT && i < DISK_RECORD_CHECKSUM_AT + 4) ? 0 : p[i];
                h = (h ^ b) * 16777619u;
        }
        return h;
}

static inline uint64_t disk_record_next(uint64_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

static inline uint64_t disk_record_start(uint32_t index, uint32_t seed)
{
        return ((uint64_t)seed << 32 | index) * 0x9e3779b97f4a7c15ull | 1;
}

/* The payload (everything after the header) from generator state x. */
static inline void disk_record_payload_fill(uint8_t *buf, uint32_t size, uint64_t x)
{
        for (uint32_t i = DISK_RECORD_HEADER; i + 8 <= size; i += 8) {
                uint64_t v = disk_record_next(&x);
                for (unsigned b = 0; b < 8; b++)
                        buf[i + b] = (uint8_t)(v >> (8 * b));
        }
}

static inline int disk_record_payload_ok(const uint8_t *buf, uint32_t size, uint64_t x)
{
        for (uint32_t i = DISK_RECORD_HEADER; i + 8 <= size; i += 8) {
                uint64_t v = disk_record_next(&x);
                for (unsigned b = 0; b < 8; b++)
                        if (buf[i + b] != (uint8_t)(v >> (8 * b)))
                                return 0;
        }
        return 1;
}

static inline void disk_record_fill(uint8_t *buf, uint32_t size, uint32_t index, uint32_t seed)
{
        disk_record_payload_fill(buf, size, disk_record_start(index, seed));
        for (uint32_t i = 0; i < DISK_RECORD_HEADER; i++)
                buf[i] = 0;
        disk_record_put32(buf, DISK_RECORD_MAGIC);
        disk_record_put32(buf + 4, index);
        disk_record_put32(buf + 8, seed);
        disk_record_put32(buf + 12, size);
        disk_record_put32(buf + DISK_RECORD_CHECKSUM_AT, disk_record_fnv(buf, size));
}

static inline enum disk_record_problem disk_record_check(const uint8_t *buf, uint32_t size,
                                                         uint32_t index, uint32_t seed)
{
        if (disk_record_get32(buf) != DISK_RECORD_MAGIC)
                return DISK_RECORD_BAD_MAGIC;
        if (disk_record_get32(buf + 4) != index)
                return DISK_RECORD_WRONG_INDEX;
        if (disk_record_get32(buf + 8) != seed || disk_record_get32(buf + 12) != size)
                return DISK_RECORD_WRONG_RUN;
        if (disk_record_get32(buf + DISK_RECORD_CHECKSUM_AT) != disk_record_fnv(buf, size))
                return DISK_RECORD_BAD_CHECKSUM;
        if (!disk_record_payload_ok(buf, size, disk_record_start(index, seed)))
                return DISK_RECORD_BAD_PAYLOAD;
        return DISK_RECORD_OK;
}

static inline uint64_t disk_record_get64(const uint8_t *p)
{
        return (uint64_t)disk_record_get32(p) | (uint64_t)disk_record_get32(p + 4) << 32;
}

static inline void disk_record_put64(uint8_t *p, uint64_t v)
{
        disk_record_put32(p, (uint32_t)v);
        disk_record_put32(p + 4, (uint32_t)(v >> 32));
}

/* splitmix64's finaliser: clock values a few nanoseconds apart give
 * unrelated results (payloads here, slots in the workload). */
static inline uint64_t disk_record_mix64(uint64_t z)
{
        z += 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static inline uint64_t disk_clock_start(uint32_t index, uint32_t seed, uint64_t t)
{
        return (disk_record_start(index, seed) ^ disk_record_mix64(t)) | 1;
}

static inline void disk_clock_record_fill(uint8_t *buf, uint32_t size, uint32_t seed,
                                          const struct disk_clock_id *id)
{
        disk_record_payload_fill(buf, size, disk_clock_start(id->index, seed, id->t));
        disk_record_put32(buf, DISK_CLOCK_MAGIC);
        disk_record_put32(buf + 4, id->index);
        disk_record_put32(buf + 8, seed);
        disk_record_put32(buf + 12, size);
        disk_record_put32(buf + DISK_RECORD_CHECKSUM_AT, 0);
        disk_record_put32(buf + DISK_CLOCK_SLOT_AT, id->slot);
        disk_record_put64(buf + DISK_CLOCK_TIME_AT, id->t);
        disk_record_put32(buf + DISK_RECORD_CHECKSUM_AT, disk_record_fnv(buf, size));
}

/* Whether buf holds a clock record of this run (seed and size), intact or
 * not: what its header claims is then worth reporting. */
static inline int disk_clock_record_of_run(const uint8_t *buf, uint32_t size, uint32_t seed)
{
        return disk_record_get32(buf) == DISK_CLOCK_MAGIC && disk_record_get32(buf + 8) == seed &&
               disk_record_get32(buf + 12) == size;
}

/* Reads what the record in `slot` claims to be into *id (valid unless the
 * answer is BAD_MAGIC or WRONG_RUN) and checks that it is intact and
 * belongs in that slot. */
static inline enum disk_record_problem disk_clock_record_parse(const uint8_t *buf, uint32_t size,
                                                               uint32_t seed, uint32_t slot,
                                                               struct disk_clock_id *id)
{
        if (disk_record_get32(buf) != DISK_CLOCK_MAGIC)
                return DISK_RECORD_BAD_MAGIC;
        if (!disk_clock_record_of_run(buf, size, seed))
                return DISK_RECORD_WRONG_RUN;
        id->index = disk_record_get32(buf + 4);
        id->slot = disk_record_get32(buf + DISK_CLOCK_SLOT_AT);
        id->t = disk_record_get64(buf + DISK_CLOCK_TIME_AT);
        if (disk_record_get32(buf + DISK_RECORD_CHECKSUM_AT) != disk_record_fnv(buf, size))
                return DISK_RECORD_BAD_CHECKSUM;
        if (!disk_record_payload_ok(buf, size, disk_clock_start(id->index, seed, id->t)))
                return DISK_RECORD_BAD_PAYLOAD;
        return id->slot == slot ? DISK_RECORD_OK : DISK_RECORD_WRONG_SLOT;
}

/* Whether `slot` holds exactly the write `want` (want->slot is the slot). */
static inline enum disk_record_problem disk_clock_record_check(const uint8_t *buf, uint32_t size,
                                                               uint32_t seed,
                                                               const struct disk_clock_id *want)
{
        struct disk_clock_id got;
        enum disk_record_problem p = disk_clock_record_parse(buf, size, seed, want->slot, &got);
        if (p != DISK_RECORD_OK)
                return p;
        if (got.index != want->index)
                return DISK_RECORD_WRONG_INDEX;
        return got.t == want->t ? DISK_RECORD_OK : DISK_RECORD_WRONG_TIME;
}

static inline const char *disk_record_problem_name(enum disk_record_problem p)
{
        static const char *const names[] = { "ok", "bad magic", "wrong index",
                                             "from another run", "bad checksum", "bad payload",
                                             "names another slot", "another clock value" };
        return names[p];
}

#endif
