/* alter-log --record-offset LOG N: prints the byte offset of the N-th
 * record (from 1).
 * alter-log LOG TAG N DELTA: adds DELTA to the value of the N-th (from 1)
 * record tagged TAG in an ftvmm log (a TIME or WALL value, an EPOC digest),
 * recomputes that record's CRC so the change passes every integrity check,
 * and prints the record's position and that of the end of its epoch (the
 * next EPOC, CHKP or END). Tests use it to check that a replay names the
 * first divergence at the right position: no earlier than the record, no
 * later than its epoch's end, where the state digest is checked.
 * The layout is replication/log_format.h's. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../replication/log_format.h"

#define VALUE_AT 16 /* after seq and position */

static uint64_t get(const uint8_t *p, unsigned bytes)
{
        uint64_t v = 0;
        memcpy(&v, p, bytes);
        return v;
}

static bool ends_epoch(const uint8_t *record)
{
        return memcmp(record, "EPOC", 4) == 0 || memcmp(record, "CHKP", 4) == 0 ||
               memcmp(record, "END ", 4) == 0;
}

static void add_to_value(uint8_t *record, size_t end, int64_t delta)
{
        uint8_t *payload = record + STATE_RECORD_HEADER_SIZE;
        unsigned bytes = memcmp(record, "EPOC", 4) == 0 ? 4 : 8;
        uint64_t value = get(payload + VALUE_AT, bytes) + (uint64_t)delta;
        memcpy(payload + VALUE_AT, &value, bytes);
        uint32_t crc = (uint32_t)crc32_z(0, record, end - STATE_RECORD_TRAILER_SIZE);
        memcpy(record + end - STATE_RECORD_TRAILER_SIZE, &crc, 4);
}

static int alter(uint8_t *log, size_t size, const char *tag, long n, int64_t delta)
{
        size_t pos = LOG_HEADER_SIZE;
        bool altered = false;
        while (pos + STATE_RECORD_HEADER_SIZE <= size) {
                uint32_t length = (uint32_t)get(log + pos + 8, 4);
                size_t end = pos + STATE_RECORD_OVERHEAD + length;
                if (end > size || length < VALUE_AT + 4)
                        break;
                uint64_t position = get(log + pos + STATE_RECORD_HEADER_SIZE + 8, 8);
                if (!altered && memcmp(log + pos, tag, 4) == 0 && --n == 0) {
                        add_to_value(log + pos, end - pos, delta);
                        printf("%llu ", (unsigned long long)position);
                        altered = true;
                }
                if (altered && ends_epoch(log + pos)) {
                        printf("%llu\n", (unsigned long long)position);
                        return 0;
                }
                pos = end;
        }
        return -1;
}

static int print_record_offset(const uint8_t *log, size_t size, long n)
{
        size_t pos = LOG_HEADER_SIZE;
        while (pos + STATE_RECORD_HEADER_SIZE <= size) {
                if (--n == 0) {
                        printf("%zu\n", pos);
                        return 0;
                }
                pos += STATE_RECORD_OVERHEAD + (uint32_t)get(log + pos + 8, 4);
        }
        return -1;
}

int main(int argc, char **argv)
{
        bool offset_only = argc == 4 && strcmp(argv[1], "--record-offset") == 0;
        if (!offset_only && (argc != 5 || strlen(argv[2]) != 4)) {
                fprintf(stderr, "usage: alter-log LOG TAG N DELTA\n"
                                "       alter-log --record-offset LOG N\n");
                return 64;
        }
        if (offset_only)
                argv++;
        FILE *f = fopen(argv[1], offset_only ? "rb" : "r+b");
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
        if (offset_only) {
                int rc = print_record_offset(log, (size_t)size, atol(argv[2]));
                if (rc)
                        fprintf(stderr, "%s: fewer than %s records\n", argv[1], argv[2]);
                return rc ? 65 : 0;
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
