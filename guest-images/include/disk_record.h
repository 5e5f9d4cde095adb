/* The records the `disk` workload writes, shared with the host's verifier
 * (tests/tools/disk_verify.c) so that the two cannot disagree.
 *
 * Record i of a run with seed S, SIZE bytes, lies at byte i * SIZE of the
 * disk (from the workload's start sector): a 32-byte header (magic,
 * index, seed, size, an FNV-1a checksum of the whole record taken with the
 * checksum field zero) and a payload that a xorshift generator seeded with
 * (S, i) fills, so a record from another run, another slot or a torn write
 * never checks out. */
#ifndef GUEST_DISK_RECORD_H
#define GUEST_DISK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define DISK_RECORD_MAGIC 0x52565446u /* "FTVR" */
#define DISK_RECORD_HEADER 32u
#define DISK_RECORD_CHECKSUM_AT 16u

enum disk_record_problem {
        DISK_RECORD_OK,
        DISK_RECORD_BAD_MAGIC,
        DISK_RECORD_WRONG_INDEX,
        DISK_RECORD_WRONG_RUN,      /* seed or size of another run */
        DISK_RECORD_BAD_CHECKSUM,
        DISK_RECORD_BAD_PAYLOAD,
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

static inline void disk_record_fill(uint8_t *buf, uint32_t size, uint32_t index, uint32_t seed)
{
        uint64_t x = disk_record_start(index, seed);
        for (uint32_t i = DISK_RECORD_HEADER; i + 8 <= size; i += 8) {
                uint64_t v = disk_record_next(&x);
                for (unsigned b = 0; b < 8; b++)
                        buf[i + b] = (uint8_t)(v >> (8 * b));
        }
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
        uint64_t x = disk_record_start(index, seed);
        for (uint32_t i = DISK_RECORD_HEADER; i + 8 <= size; i += 8) {
                uint64_t v = disk_record_next(&x);
                for (unsigned b = 0; b < 8; b++)
                        if (buf[i + b] != (uint8_t)(v >> (8 * b)))
                                return DISK_RECORD_BAD_PAYLOAD;
        }
        return DISK_RECORD_OK;
}

static inline const char *disk_record_problem_name(enum disk_record_problem p)
{
        static const char *const names[] = { "ok", "bad magic", "wrong index",
                                             "from another run", "bad checksum", "bad payload" };
        return names[p];
}

#endif
