/* A virtio block device (device ID 2) on the virtio-mmio transport.
 *
 * Requests (read, write, flush, discard) go to a block backend when the
 * guest writes QueueNotify; get-id and malformed requests are answered at
 * once from the device's own state. A backend's completion comes back as
 * an event, virtio_blk__complete, applied by the caller when it chooses:
 * it writes the read data into guest RAM, the status byte and the used
 * ring, and raises the interrupt. Until then the request is *outstanding*,
 * part of the saved state, and virtio_blk__complete_all_uncertain (P7)
 * completes every outstanding request with an I/O error that the guest's
 * driver answers by reissuing it.
 *
 * Features: VERSION_1 (required), SEG_MAX, SIZE_MAX, BLK_SIZE, FLUSH, and
 * DISCARD (one range per request) for a writable disk or RO for a
 * read-only one. */
#ifndef FTVMM_VIRTIO_BLK_H
#define FTVMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "block_backend.h"
#include "virtio_mmio.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SEG_MAX 32              /* data descriptors per request */
#define VIRTIO_BLK_SIZE_MAX (128u << 10)   /* bytes per data descriptor */
#define VIRTIO_BLK_MAX_DATA (4u << 20)     /* = SEG_MAX * SIZE_MAX */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22)
#define VIRTIO_BLK_ID_BYTES 20

struct virtio_blk_config {
        uint64_t capacity;  /* in 512-byte sectors */
        bool readonly;
        char serial[VIRTIO_BLK_ID_BYTES]; /* get-id's answer, NUL-padded */
        uint32_t index;     /* block_request.device */
};

/* A request handed to the backend and not yet completed. It keeps the
 * chain's writable segments (read data, then the status byte as the last
 * byte), taken once at notify time, so a completion needs no second look
 * at descriptors the guest might have changed; and what it asked for
 * (sectors, and a write's readable segments, header first), so that P7
 * can hand it to a backend again. */
struct virtio_blk_request {
        bool in_use;
        uint64_t id;
        uint16_t head;
        uint8_t op;            /* enum block_op */
        uint32_t data_bytes;   /* a read's expected length */
        uint64_t sector;
        uint32_t sectors;
        uint8_t segments;      /* writable segments kept */
        struct virtio_segment seg[VIRTIO_CHAIN_MAX_SEGMENTS];
        uint8_t readable;      /* a write's readable segments kept */
        struct virtio_segment rseg[VIRTIO_CHAIN_MAX_SEGMENTS];
};

struct virtio_blk_counters {   /* for --stats; not guest-visible, not saved */
        uint64_t requests, completions, errors, uncertain, reissued, stale;
};

struct virtio_blk {
        struct virtio_mmio transport;
        struct virtio_blk_config config;
        struct block_backend *backend;
        uint64_t next_id;       /* ids are never reused, so a stale completion is known */
        unsigned outstanding;
        struct virtio_blk_request req[VIRTQ_NUM_MAX]; /* indexed by chain head */
        struct virtio_blk_counters counters;
};

/* Returns 0 (or -ENOMEM, kept for callers that check). */
int virtio_blk__init(struct virtio_blk *d, const struct virtio_blk_config *config,
                     struct guest_memory mem, struct irq_line irq, struct block_backend *backend);
void virtio_blk__destroy(struct virtio_blk *d);
/* The MMIO handler: offset from the device's base, VIRTIO_MMIO_SIZE long. */
int virtio_blk__io(void *d, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);
/* Applies a backend's completion of request id: read_data/length are a
 * read's bytes (ignored otherwise). Returns 0, or -ENOENT for an id that
 * is not outstanding (a completion that a reset or P7 made stale: dropped),
 * or -EINVAL for a read whose length is not the request's (completed as
 * an I/O error). */
int virtio_blk__complete(struct virtio_blk *d, uint64_t id, uint8_t status,
                         const uint8_t *read_data, uint32_t length);
/* P7: completes every outstanding request with VIRTIO_BLK_S_IOERR; returns
 * how many. For guests that handle an uncertain completion themselves. */
unsigned virtio_blk__complete_all_uncertain(struct virtio_blk *d);
/* P7, for any guest: hands every outstanding request to the backend again,
 * oldest first, with its id (reads read again, writes written again from
 * the guest's buffers, flushes and discards done again), so the guest
 * sees ordinary completions. Returns how many. */
unsigned virtio_blk__reissue_outstanding(struct virtio_blk *d);
unsigned virtio_blk__outstanding(const struct virtio_blk *d);
/* The request's data length for a read (what its completion must carry),
 * or 0 if id is not an outstanding read. */
uint32_t virtio_blk__read_length(const struct virtio_blk *d, uint64_t id);
int virtio_blk__save(const struct virtio_blk *d, struct state_writer *w);
int virtio_blk__load(struct virtio_blk *d, struct state_reader *r);

#endif
