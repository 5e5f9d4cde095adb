/* Between a block device model and whatever performs its I/O.
 *
 * A device model never touches a file (BRIEF.md): it hands each request to
 * a backend and later receives the completion as an *event*, applied when
 * its caller chooses (in replication, only at shared points). The event
 * carries everything the device needs (the status and the bytes a read
 * returns), so a replay applies it from a log with no disk at all, and a
 * backup's backend is one that does nothing.
 *
 * Rules for backends:
 * - submit never completes into the device synchronously; the completion
 *   comes back through the caller (vmm/machine.c for a disk file).
 * - submit takes every request. A backend that cannot perform one (out of
 *   memory, an I/O error, a closed file) reports that as a completion with
 *   an error status, never by refusing: the device's guest-visible state
 *   must not depend on the backend, or two replicas would diverge. The
 *   return value is for the backend's own accounting; the device ignores
 *   it.
 * - a write's data are copied before submit returns: the pointer is into
 *   guest RAM or a buffer the device frees at once. */
#ifndef FTVMM_BLOCK_BACKEND_H
#define FTVMM_BLOCK_BACKEND_H

#include <stdint.h>

#define BLOCK_SECTOR_SIZE 512u

enum block_op {
        BLOCK_OP_READ,    /* sectors from sector: data comes back with the completion */
        BLOCK_OP_WRITE,   /* sectors from sector, from data */
        BLOCK_OP_FLUSH,   /* writes completed before it reach stable storage */
        BLOCK_OP_DISCARD, /* the range may read back as anything afterwards */
};

/* The status of a completion: virtio-blk's values, so the device passes
 * them to the guest unchanged. */
enum block_status {
        BLOCK_STATUS_OK = 0,
        BLOCK_STATUS_IOERR = 1,
        BLOCK_STATUS_UNSUPP = 2,
};

struct block_request {
        uint32_t device;     /* which disk of the machine (0 for the first) */
        uint64_t id;         /* the device's name for it; the completion carries it back */
        enum block_op op;
        uint64_t sector;     /* in 512-byte sectors */
        uint32_t sectors;
        const uint8_t *data; /* BLOCK_OP_WRITE: sectors * 512 bytes, copied by the backend */
};

struct block_backend {
        int (*submit)(struct block_backend *b, const struct block_request *r);
        void *context;
};

static inline int block_backend__submit(struct block_backend *b, const struct block_request *r)
{
        return b && b->submit ? b->submit(b, r) : -1;
}

#endif
