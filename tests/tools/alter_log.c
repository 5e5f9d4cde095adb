/* alter-log LOG TAG N DELTA: adds DELTA to the value field of the N-th
 * (from 1) record tagged TAG in an ftvmm log, recomputes that record's CRC
 * so the change passes every integrity check, and prints the record's
 * position and that of the end of its epoch (the next EPOC, CHKP or END).
 * Tests use it to check that a replay names the first divergence at the
 * right position: no earlier than the record, no later than its epoch's end,
 * where the state digest is checked. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../devices/device_state.h"
#include "../../replication/replay_log.h"

static uint64_t get64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}

static uint32_t get32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static bool ends_epoch(const uint8_t *record)
{
        return memcmp(record, "EPOC", 4) == 0 || memcmp(record, "CHKP", 4) == 0 ||
               memcmp(record, "END ", 4) == 0;
}

static int alter(uint8_t *log, size_t size, const char *tag, long n, int64_t delta)
{
        size_t pos = REPLAY_LOG_HEADER_SIZE;
        bool altered = false;
        while (pos + DEVICE_STATE_HEADER_SIZE <= size) {
                uint32_t length = get32(log + pos + 8);
                size_t end = pos + DEVICE_STATE_HEADER_SIZE + length;
                if (end + DEVICE_STATE_TRAILER_SIZE > size)
                        break;
                uint8_t *payload = log + pos + DEVICE_STATE_HEADER_SIZE;
                if (!altered && memcmp(log + pos, tag, 4) == 0 && length >= 16 && --n == 0) {
                        uint64_t value = get64(payload + 8) + (uint64_t)delta;
                        memcpy(payload + 8, &value, 8);
                        uint32_t crc = (uint32_t)crc32_z(0, log + pos, end - pos);
                        memcpy(log + end, &crc, 4);
                        printf("%llu ", (unsigned long long)get64(payload));
                        altered = true;
                }
                if (altered && ends_epoch(log + pos) && length >= 8) {
                        printf("%llu\n", (unsigned long long)get64(payload));
                        return 0;
                }
                pos = end + DEVICE_STATE_TRAILER_SIZE;
        }
        return -1;
}

int main(int argc, char **argv)
{
        if (argc != 5 || strlen(argv[2]) != 4) {
                fprintf(stderr, "usage: alter-log LOG TAG N DELTA\n");
                return 64;
        }
        FILE *f = fopen(argv[1], "r+b");
        if (!f) {
                perror(argv[1]);
                return 66;
        }
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        uint8_t *log = malloc(size > 0 ? (size_t)size : 1);
        rewind(f);
        if (!log || size <= 0 || fread(log, 1, (size_t)size, f) != (size_t)size) {
                fprintf(stderr, "%s: cannot read\n", argv[1]);
                return 66;
        }
        if (alter(log, (size_t)size, argv[2], atol(argv[3]), strtoll(argv[4], NULL, 0))) {
                fprintf(stderr, "%s: no record %s number %s\n", argv[1], argv[2], argv[3]);
                return 65;
        }
        rewind(f);
        if (fwrite(log, 1, (size_t)size, f) != (size_t)size || fclose(f)) {
                fprintf(stderr, "%s: write failed\n", argv[1]);
                return 74;
        }
        free(log);
        return 0;
}
