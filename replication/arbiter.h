/* Who may be primary (BRIEF.md, "Who decides who is primary"): before a
 * backup goes live, and before a primary that lost its backup releases more
 * output, each must win an atomic test-and-set of the next generation. The
 * loser stops. A silent network is not a dead primary; the arbiter is what
 * keeps a partition from making two.
 *
 * An interface, so that pairs without shared storage can put a coordination
 * service behind it; arbiter_directory.c is the one on shared storage. */
#ifndef FTVMM_ARBITER_H
#define FTVMM_ARBITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arbiter {
        /* 0 if this replica now holds `generation` (no one held it before),
         * 1 if another replica got there first, -errno if the arbiter
         * cannot be reached (which must be treated as losing). `who`
         * names this replica in the record of the claim. */
        int (*claim)(struct arbiter *a, uint64_t generation, const char *who);
        /* Whether anyone holds `generation` (a fence: once the next
         * generation is taken, the holder of this one releases nothing). */
        bool (*taken)(struct arbiter *a, uint64_t generation);
        /* The highest generation anyone holds, 0 if none. */
        uint64_t (*latest)(struct arbiter *a);
        /* Who holds it, for messages ("" if unknown). */
        void (*holder)(struct arbiter *a, uint64_t generation, char *out, size_t size);
        /* A named fact the pair keeps beside its generations: the
         * arbiter's own id ("arbiter-id"), the disk's ("disk-id"). With
         * create, a value is made (random hex, then what `suffix` adds) if
         * there is none yet, atomically: the first to create it wins and
         * everyone reads the same. Returns 0, -ENOENT if there is none and
         * create is false, or -errno. */
        int (*fact)(struct arbiter *a, const char *name, bool create, const char *suffix,
                    char *out, size_t size);
        const char *name;
};

/* A directory on storage both replicas see: generation N is the file
 * generation-N, created with O_CREAT|O_EXCL (atomic on local file systems
 * and NFSv3+), holding who claimed it and when. */
struct arbiter_directory {
        struct arbiter arbiter; /* first */
        char path[4096];
};

/* Returns 0, or -errno if path is not a usable directory (message in err). */
int arbiter_directory__open(struct arbiter_directory *d, const char *path, char *err,
                            size_t err_size);

#endif
