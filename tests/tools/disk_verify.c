/* disk-verify: after a run of the `disk` workload, checks that every record
 * the guest reported durable is in the disk file and intact.
 *
 *   disk-verify [--transcript FILE] [--durable N] [--record-size B]
 *               [--seed S] [--start SECTOR] DISK
 *
 * With --transcript, N is the largest `disk durable=N` the guest printed
 * and the record size, seed and start come from its boot line's command
 * line (the workload's defaults where it names none); options override.
 * Exit 0: all N records intact (one line saying so); 1: a record is
 * missing or damaged (the first one named); 2: bad usage or unreadable
 * files. The record format is guest-images/include/disk_record.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-images/include/disk_record.h"

struct params {
        long durable, record_size, seed, start;
};

static long arg_in(const char *cmdline, const char *key, long fallback)
{
        size_t k = strlen(key);
        long value = fallback;
        for (const char *p = cmdline; (p = strstr(p, key)); p += k)
                if ((p == cmdline || p[-1] == ' ' || p[-1] == '\'') && p[k] == '=')
                        value = strtol(p + k + 1, NULL, 10);
        return value;
}

static int read_transcript(const char *path, struct params *p)
{
        FILE *f = fopen(path, "r");
        if (!f) {
                fprintf(stderr, "disk-verify: %s: %s\n", path, strerror(errno));
                return -1;
        }
        char line[8192];
        while (fgets(line, sizeof(line), f)) {
                const char *boot = strstr(line, "ftvmm-guest: disk cmdline='");
                long n;
                if (boot) {
                        p->record_size = arg_in(boot, "record_size", p->record_size);
                        p->seed = arg_in(boot, "seed", p->seed);
                        p->start = arg_in(boot, "start", p->start);
                } else if (sscanf(line, "disk durable=%ld", &n) == 1 && n > p->durable) {
                        p->durable = n;
                }
        }
        fclose(f);
        return 0;
}

static int verify(const char *path, const struct params *p)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "disk-verify: %s: %s\n", path, strerror(errno));
                return 2;
        }
        uint8_t *buf = malloc((size_t)p->record_size);
        int status = 0;
        for (long i = 0; i < p->durable && buf; i++) {
                long at = p->start * 512 + i * p->record_size;
                enum disk_record_problem problem = DISK_RECORD_BAD_MAGIC;
                if (fseek(f, at, SEEK_SET) == 0 && fread(buf, 1, (size_t)p->record_size, f) == (size_t)p->record_size)
                        problem = disk_record_check(buf, (uint32_t)p->record_size, (uint32_t)i,
                                                    (uint32_t)p->seed);
                if (problem != DISK_RECORD_OK) {
                        printf("disk-verify: %s: record %ld of %ld (byte %ld): %s\n", path, i,
                               p->durable, at, disk_record_problem_name(problem));
                        status = 1;
                        break;
                }
        }
        if (!status)
                printf("disk-verify: %s: all %ld durable records intact\n", path, p->durable);
        free(buf);
        fclose(f);
        return status;
}

int main(int argc, char **argv)
{
        struct params p = { .durable = 0, .record_size = 4096, .seed = 1, .start = 0 };
        struct params set = { -1, -1, -1, -1 };
        const char *transcript = NULL, *disk = NULL;
        for (int i = 1; i < argc; i++) {
                long *target = !strcmp(argv[i], "--durable") ? &set.durable :
                               !strcmp(argv[i], "--record-size") ? &set.record_size :
                               !strcmp(argv[i], "--seed") ? &set.seed :
                               !strcmp(argv[i], "--start") ? &set.start : NULL;
                if ((target || !strcmp(argv[i], "--transcript")) && i + 1 < argc) {
                        if (target)
                                *target = strtol(argv[++i], NULL, 10);
                        else
                                transcript = argv[++i];
                } else if (!disk && argv[i][0] != '-') {
                        disk = argv[i];
                } else {
                        disk = NULL;
                        break;
                }
        }
        if (!disk) {
                fprintf(stderr, "usage: disk-verify [--transcript FILE] [--durable N] [--record-size B] "
                        "[--seed S] [--start SECTOR] DISK\n");
                return 2;
        }
        if (transcript && read_transcript(transcript, &p))
                return 2;
        for (int k = 0; k < 4; k++)
                if ((&set.durable)[k] >= 0)
                        (&p.durable)[k] = (&set.durable)[k];
        if (p.record_size < 512 || p.record_size % 512 || p.record_size > 65536 || p.start < 0) {
                fprintf(stderr, "disk-verify: record size %ld or start %ld out of range\n",
                        p.record_size, p.start);
                return 2;
        }
        return verify(disk, &p);
}
