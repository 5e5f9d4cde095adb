/* disk-verify: after a run of the `disk` workload, checks the disk file
 * against the console transcript the outside world saw.
 *
 *   disk-verify [--transcript FILE] [--durable N] [--record-size B]
 *               [--seed S] [--start SECTOR] DISK
 *   disk-verify [--clock] --transcript FILE [--slots K] [--durable N]
 *               [--record-size B] [--seed S] [--start SECTOR] DISK
 *
 * Numbered records (the workload's default mode): every record the guest
 * reported durable must be in the disk file and intact. With --transcript,
 * N is the largest `disk durable=N` the guest printed and the record size,
 * seed and start come from its boot line's command line (the workload's
 * defaults where it names none); options override. Exit 0: all N records
 * intact (one line saying so); 1: a record is missing or damaged (the
 * first one named).
 *
 * Clock records (mode=clock; chosen by the boot line's mode=clock, or by
 * --clock, with the slot count, record size, seed and start from the boot
 * line or the options): the transcript's `disk write i=<i> t=<t>
 * slot=<slot>` lines are the writes the outside world knows of, and its
 * largest `disk durable writes=<n>` makes writes 0..n-1 durable (--durable
 * overrides n). Other lines, and exact repeats of a line (a failover may
 * re-emit output), are ignored. It reports:
 *   - a stray record: a record of this seed in any slot that no `disk
 *     write` line announced with that index, clock value and slot;
 *   - a missing durable record: a slot whose last durable write is not
 *     there intact, and neither is a later announced write to that slot
 *     (which may have replaced it);
 *   - a transcript that contradicts itself: one index announced with two
 *     clock values or slots, a durable write never announced, a slot
 *     beyond the slot count;
 * then one summary line. Exit 0 only if none of these was found, 1
 * otherwise.
 *
 * Both: exit 2 for bad usage or unreadable files. The record formats are
 * guest-images/include/disk_record.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-images/include/disk_record.h"

#define MAX_TRACKED_WRITES (1l << 26)

struct params {
        long durable, record_size, seed, start, slots;
        int clock;
};

/* One `disk write` line of the transcript. */
struct announced {
        unsigned long long t;
        long slot;
        int present;
};

/* What a clock-mode transcript says. */
struct clock_transcript {
        struct announced *writes;   /* by index */
        long size, announced, contradictions;
        long durable;               /* writes below it are durable; -1: no durable line */
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

/* Whether the last mode= token of the command line says clock. */
static int clock_mode_in(const char *cmdline)
{
        int clock = 0;
        for (const char *p = cmdline; (p = strstr(p, "mode=")); p += 5)
                if (p == cmdline || p[-1] == ' ' || p[-1] == '\'')
                        clock = !strncmp(p + 5, "clock", 5) &&
                                (p[10] == ' ' || p[10] == '\'' || p[10] == '\n' || !p[10]);
        return clock;
}

/* Strict parsing of the guest's own lines: a literal, then decimal digits. */
static int take_literal(const char **p, const char *literal)
{
        size_t n = strlen(literal);
        if (strncmp(*p, literal, n))
                return 0;
        *p += n;
        return 1;
}

static int take_decimal(const char **p, unsigned long long *v)
{
        const char *s = *p;
        *v = 0;
        for (; **p >= '0' && **p <= '9'; (*p)++) {
                if (*v > (~0ull - 9) / 10)
                        return 0;
                *v = *v * 10 + (unsigned long long)(**p - '0');
        }
        return *p > s;
}

static int take_line_end(const char *p)
{
        return !strcmp(p, "\n") || !strcmp(p, "\r\n");
}

/* The last occurrence of what in line: output of another source glued in
 * front of a guest line (a cut line, then its re-emitted copy) is skipped. */
static const char *last_occurrence(const char *line, const char *what)
{
        const char *found = NULL;
        for (const char *p = line; (p = strstr(p, what)); p++)
                found = p;
        return found;
}

/* `disk write i=<i> t=<t> slot=<slot>`, whole, up to the end of the line:
 * a line cut short must not pass for a write with a shorter t. */
static int parse_write(const char *line, unsigned long long *i, unsigned long long *t,
                       unsigned long long *slot)
{
        const char *p = last_occurrence(line, "disk write i=");
        return p && take_literal(&p, "disk write i=") && take_decimal(&p, i) &&
               take_literal(&p, " t=") && take_decimal(&p, t) && take_literal(&p, " slot=") &&
               take_decimal(&p, slot) && take_line_end(p);
}

static int parse_clock_durable(const char *line, unsigned long long *n)
{
        const char *p = last_occurrence(line, "disk durable writes=");
        return p && take_literal(&p, "disk durable writes=") && take_decimal(&p, n) && take_line_end(p);
}

static int make_room(struct clock_transcript *c, unsigned long long index)
{
        if ((long long)index < c->size)
                return 0;
        if (index >= MAX_TRACKED_WRITES) {
                fprintf(stderr, "disk-verify: write index %llu is beyond the %ld this tool tracks\n",
                        index, MAX_TRACKED_WRITES);
                return -1;
        }
        long size = c->size ? c->size : 256;
        while (size <= (long)index)
                size *= 2;
        struct announced *grown = realloc(c->writes, (size_t)size * sizeof(*grown));
        if (!grown) {
                fprintf(stderr, "disk-verify: out of memory\n");
                return -1;
        }
        memset(grown + c->size, 0, (size_t)(size - c->size) * sizeof(*grown));
        c->writes = grown;
        c->size = size;
        return 0;
}

/* Records an announcement; an exact repeat is a re-emitted line, a
 * different one for the same index a contradiction. */
static int announce(struct clock_transcript *c, unsigned long long i, unsigned long long t,
                    unsigned long long slot)
{
        if (make_room(c, i))
                return -1;
        struct announced *a = &c->writes[i];
        if (!a->present) {
                *a = (struct announced){ t, (long)slot, 1 };
                c->announced++;
        } else if (a->t != t || a->slot != (long)slot) {
                printf("disk-verify: the transcript announces write i=%llu twice: t=%llu slot=%ld "
                       "and t=%llu slot=%llu\n", i, a->t, a->slot, t, slot);
                c->contradictions++;
        }
        return 0;
}

static int read_transcript(const char *path, struct params *p, struct clock_transcript *c)
{
        FILE *f = fopen(path, "r");
        if (!f) {
                fprintf(stderr, "disk-verify: %s: %s\n", path, strerror(errno));
                return -1;
        }
        char line[8192];
        int status = 0;
        while (!status && fgets(line, sizeof(line), f)) {
                const char *boot = strstr(line, "ftvmm-guest: disk cmdline='");
                unsigned long long i, t, slot;
                long n;
                if (boot) {
                        p->record_size = arg_in(boot, "record_size", p->record_size);
                        p->seed = arg_in(boot, "seed", p->seed);
                        p->start = arg_in(boot, "start", p->start);
                        p->slots = arg_in(boot, "slots", p->slots);
                        p->clock |= clock_mode_in(boot);
                } else if (sscanf(line, "disk durable=%ld", &n) == 1 && n > p->durable) {
                        p->durable = n;
                } else if (parse_write(line, &i, &t, &slot)) {
                        status = announce(c, i, t, slot);
                } else if (parse_clock_durable(line, &i) && (long long)i > c->durable) {
                        c->durable = (long)i;
                }
        }
        fclose(f);
        return status;
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

/* What one slot of the disk holds, as far as this run is concerned. */
struct found {
        enum disk_record_problem problem;
        struct disk_clock_id id;    /* what its header claims, if of_run */
        int of_run, announced;
};

static int is_announced(const struct clock_transcript *c, const struct disk_clock_id *id)
{
        return id->index < (uint64_t)c->size && c->writes[id->index].present &&
               c->writes[id->index].t == id->t && c->writes[id->index].slot == (long)id->slot;
}

static struct found read_slot(FILE *f, uint8_t *buf, long slot, const struct params *p,
                              const struct clock_transcript *c)
{
        struct found x = { .problem = DISK_RECORD_BAD_MAGIC };
        long at = p->start * 512 + slot * p->record_size;
        memset(buf, 0, (size_t)p->record_size);
        if (fseek(f, at, SEEK_SET) == 0)
                (void)!fread(buf, 1, (size_t)p->record_size, f); /* short: zeros, no record */
        x.problem = disk_clock_record_parse(buf, (uint32_t)p->record_size, (uint32_t)p->seed,
                                            (uint32_t)slot, &x.id);
        x.of_run = x.problem != DISK_RECORD_BAD_MAGIC && x.problem != DISK_RECORD_WRONG_RUN;
        x.announced = x.of_run && x.id.slot == (uint32_t)slot && is_announced(c, &x.id);
        return x;
}

/* A transcript that calls a write durable must have announced it, and
 * every write must name one of the slots. */
static void check_transcript(struct clock_transcript *c, const struct params *p)
{
        long unannounced = 0, first = -1;
        for (long i = 0; i < c->durable; i++)
                if (i >= c->size || !c->writes[i].present) {
                        first = first < 0 ? i : first;
                        unannounced++;
                }
        if (unannounced) {
                printf("disk-verify: the transcript calls %ld writes durable that it never announced, "
                       "the first i=%ld\n", unannounced, first);
                c->contradictions++;
        }
        for (long i = 0; i < c->size; i++)
                if (c->writes[i].present && c->writes[i].slot >= p->slots) {
                        printf("disk-verify: write i=%ld is announced in slot %ld of %ld\n", i,
                               c->writes[i].slot, p->slots);
                        c->contradictions++;
                }
}

/* Per slot, the index of the last durable write to it, or -1. */
static long *last_durable_writes(const struct clock_transcript *c, const struct params *p)
{
        long *last = malloc((size_t)p->slots * sizeof(*last));
        if (!last)
                return NULL;
        for (long k = 0; k < p->slots; k++)
                last[k] = -1;
        for (long i = 0; i < c->durable && i < c->size; i++)
                if (c->writes[i].present && c->writes[i].slot < p->slots)
                        last[c->writes[i].slot] = i;
        return last;
}

static void describe(char *out, size_t size, const struct found *x)
{
        if (!x->of_run)
                snprintf(out, size, "no record of this run (%s)", disk_record_problem_name(x->problem));
        else if (!x->announced)
                snprintf(out, size, "a stray record i=%u", x->id.index);
        else if (x->problem != DISK_RECORD_OK)
                snprintf(out, size, "write i=%u, %s", x->id.index, disk_record_problem_name(x->problem));
        else
                snprintf(out, size, "the older write i=%u", x->id.index);
}

static void report_stray(long slot, const struct found *x)
{
        printf("disk-verify: stray record i=%u t=%llu in slot %ld: the transcript never wrote it",
               x->id.index, (unsigned long long)x->id.t, slot);
        if (x->problem != DISK_RECORD_OK)
                printf(" (%s%s)", x->problem == DISK_RECORD_WRONG_SLOT ? "it " : "and it is damaged: ",
                       disk_record_problem_name(x->problem));
        printf("\n");
}

/* Returns 1 if the slot fails its durable write. Any announced write to
 * the slot from the last durable one on may be what landed last. */
static int check_durable(long slot, long want, const struct found *x,
                         const struct clock_transcript *c)
{
        if (x->problem == DISK_RECORD_OK && x->announced && (long)x->id.index >= want)
                return 0;
        char what[96];
        describe(what, sizeof(what), x);
        printf("disk-verify: missing durable record i=%ld t=%llu in slot %ld: it holds %s\n", want,
               c->writes[want].t, slot, what);
        return 1;
}

static int verify_clock(const char *path, const struct params *p, struct clock_transcript *c)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "disk-verify: %s: %s\n", path, strerror(errno));
                return 2;
        }
        if (p->durable >= 0)
                c->durable = p->durable;
        check_transcript(c, p);
        uint8_t *buf = malloc((size_t)p->record_size);
        long *last = last_durable_writes(c, p);
        long strays = 0, missing = 0;
        for (long k = 0; k < p->slots && buf && last; k++) {
                struct found x = read_slot(f, buf, k, p, c);
                if (x.of_run && !x.announced) {
                        report_stray(k, &x);
                        strays++;
                }
                if (last[k] >= 0)
                        missing += check_durable(k, last[k], &x, c);
                else if (x.announced && x.problem != DISK_RECORD_OK)
                        printf("disk-verify: note: slot %ld holds write i=%u damaged (%s); "
                               "it was never called durable\n", k, x.id.index,
                               disk_record_problem_name(x.problem));
        }
        int usable = buf && last;
        free(buf);
        free(last);
        fclose(f);
        if (!usable) {
                fprintf(stderr, "disk-verify: out of memory\n");
                return 2;
        }
        printf("disk-verify: %s: clock records of seed %ld in %ld slots: %ld writes announced, "
               "%ld durable; %ld stray, %ld missing durable, %ld contradictions in the transcript\n",
               path, p->seed, p->slots, c->announced, c->durable > 0 ? c->durable : 0, strays, missing,
               c->contradictions);
        return strays || missing || c->contradictions ? 1 : 0;
}

static long *value_option(const char *name, struct params *set)
{
        return !strcmp(name, "--durable") ? &set->durable :
               !strcmp(name, "--record-size") ? &set->record_size :
               !strcmp(name, "--seed") ? &set->seed :
               !strcmp(name, "--start") ? &set->start :
               !strcmp(name, "--slots") ? &set->slots : NULL;
}

static void apply(long *value, long set)
{
        if (set >= 0)
                *value = set;
}

int main(int argc, char **argv)
{
        struct params p = { .durable = 0, .record_size = 4096, .seed = 1, .start = 0,
                            .slots = DISK_CLOCK_DEFAULT_SLOTS };
        struct params set = { -1, -1, -1, -1, -1, 0 };
        struct clock_transcript c = { .durable = -1 };
        const char *transcript = NULL, *disk = NULL;
        for (int i = 1; i < argc; i++) {
                long *target = value_option(argv[i], &set);
                if ((target || !strcmp(argv[i], "--transcript")) && i + 1 < argc) {
                        if (target)
                                *target = strtol(argv[++i], NULL, 10);
                        else
                                transcript = argv[++i];
                } else if (!strcmp(argv[i], "--clock")) {
                        set.clock = 1;
                } else if (!disk && argv[i][0] != '-') {
                        disk = argv[i];
                } else {
                        disk = NULL;
                        break;
                }
        }
        if (!disk || (set.clock && !transcript)) {
                fprintf(stderr, "usage: disk-verify [--transcript FILE] [--durable N] [--record-size B] "
                        "[--seed S] [--start SECTOR] DISK\n"
                        "       disk-verify [--clock] --transcript FILE [--slots K] [--durable N] "
                        "[--record-size B] [--seed S] [--start SECTOR] DISK\n"
                        "(clock records: chosen by the boot line's mode=clock or by --clock)\n");
                return 2;
        }
        if (transcript && read_transcript(transcript, &p, &c))
                return 2;
        p.clock |= set.clock;
        apply(&p.record_size, set.record_size);
        apply(&p.seed, set.seed);
        apply(&p.start, set.start);
        apply(&p.slots, set.slots);
        if (p.record_size < 512 || p.record_size % 512 || p.record_size > 65536 || p.start < 0) {
                fprintf(stderr, "disk-verify: record size %ld or start %ld out of range\n",
                        p.record_size, p.start);
                return 2;
        }
        if (!p.clock) {
                apply(&p.durable, set.durable);
                return verify(disk, &p);
        }
        if (p.slots < 1 || p.slots > DISK_CLOCK_MAX_SLOTS) {
                fprintf(stderr, "disk-verify: %ld slots: expected 1..%d\n", p.slots, DISK_CLOCK_MAX_SLOTS);
                return 2;
        }
        p.durable = set.durable;
        int status = verify_clock(disk, &p, &c);
        free(c.writes);
        return status;
}
