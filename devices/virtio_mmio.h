/* The virtio-mmio transport, virtio 1.x register layout (version 2), and the
 * split virtqueue as a device reads it from guest RAM.
 *
 * A device model (virtio_blk.c) embeds a struct virtio_mmio, supplies its
 * identity, features and configuration space through virtio_mmio_ops, and
 * takes requests from its queues with virtqueue__pop when the guest writes
 * QueueNotify. Everything the guest controls (queue sizes, ring addresses,
 * descriptor chains) is checked against guest RAM before it is used: a
 * driver that breaks the rules gets DEVICE_NEEDS_RESET, never an access
 * outside its RAM. Registers are 32 bits wide; the configuration space at
 * 0x100 takes 1, 2, 4 and 8-byte accesses. */
#ifndef FTVMM_VIRTIO_MMIO_H
#define FTVMM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "../guest-images/include/virtio_mmio_layout.h"
#include "../replication/state_record.h"
#include "guest_memory.h"
#include "irq.h"

#define VIRTIO_MMIO_SIZE 0x200         /* what Linux's virtio_mmio.device= names */
#define VIRTIO_MMIO_MAX_QUEUES 2
#define VIRTQ_NUM_MAX 128              /* QueueNumMax */

#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTIO_INT_USED 0x1
#define VIRTIO_INT_CONFIG 0x2

/* A chain is at most this many descriptors that the device keeps; a longer
 * one (up to the queue size) is walked to its end but marked overlong. */
#define VIRTIO_CHAIN_MAX_SEGMENTS 34

struct virtqueue {
        uint16_t num;          /* QueueNum: a power of two up to VIRTQ_NUM_MAX */
        bool ready;
        uint64_t desc, avail, used;
        uint16_t last_avail;   /* the next avail ring entry the device takes */
        uint16_t used_idx;     /* the used ring's idx as the device last wrote it */
};

struct virtio_segment {
        uint64_t addr;
        uint32_t len;
};

/* A descriptor chain: the device-readable segments, then the writable
 * ones (the spec's order, enforced). */
struct virtio_chain {
        uint16_t head;
        unsigned readable, writable;      /* segments kept in seg[] */
        struct virtio_segment seg[VIRTIO_CHAIN_MAX_SEGMENTS];
        uint64_t readable_bytes, writable_bytes;
        bool overlong;                    /* more segments than seg[] holds */
        struct virtio_segment last_writable; /* kept even when overlong */
};

struct virtio_mmio_ops {
        uint32_t device_id;
        unsigned queues;
        /* Guest reads of the configuration space; offset is from 0x100. */
        void (*config_read)(void *device, uint64_t offset, uint8_t *data, uint32_t size);
        /* The guest wrote QueueNotify for a ready queue while DRIVER_OK. */
        void (*notify)(void *device, unsigned queue);
        /* The guest wrote 0 to Status (or the VMM reset the machine). */
        void (*reset)(void *device);
};

struct virtio_mmio {
        const struct virtio_mmio_ops *ops;
        void *device;
        struct guest_memory mem;
        struct irq_line irq;
        uint64_t device_features;
        /* Guest-visible state (saved). */
        uint8_t status;
        uint32_t device_features_sel, driver_features_sel, queue_sel;
        uint64_t driver_features;
        uint32_t interrupt_status;
        struct virtqueue vq[VIRTIO_MMIO_MAX_QUEUES];
        /* Why the device last asked for a reset, for the operator (not saved). */
        const char *broken_reason;
};

void virtio_mmio__init(struct virtio_mmio *t, const struct virtio_mmio_ops *ops, void *device,
                       uint64_t device_features, struct guest_memory mem, struct irq_line irq);
/* Back to the state after power-on (also calls ops->reset). */
void virtio_mmio__reset(struct virtio_mmio *t);
int virtio_mmio__io(struct virtio_mmio *t, uint64_t offset, uint8_t *data, uint32_t size,
                    bool is_write);
/* The driver accepted the feature (valid once FEATURES_OK is set). */
bool virtio_mmio__negotiated(const struct virtio_mmio *t, uint64_t feature);
/* True while the device may use its queues: DRIVER_OK and not broken. */
bool virtio_mmio__live(const struct virtio_mmio *t);

enum virtq_pop {
        VIRTQ_EMPTY,   /* nothing new in the avail ring */
        VIRTQ_CHAIN,   /* *c holds the next chain */
        VIRTQ_BROKEN,  /* the driver broke the rules; the device now needs a reset */
};
enum virtq_pop virtqueue__pop(struct virtio_mmio *t, unsigned queue, struct virtio_chain *c);
/* Puts a chain in the used ring (len: bytes the device wrote into it). */
void virtqueue__push_used(struct virtio_mmio *t, unsigned queue, uint16_t head, uint32_t len);
/* A used-buffer notification, unless the driver suppressed it. */
void virtio_mmio__notify_used(struct virtio_mmio *t, unsigned queue);
/* DEVICE_NEEDS_RESET, with a configuration-change interrupt once the driver
 * is up, as the spec asks. */
void virtio_mmio__set_broken(struct virtio_mmio *t, const char *why);

/* The transport's fields inside a device's state record. Load fills *t
 * (a copy the caller commits) and reports bad values through r. */
void virtio_mmio__save_fields(const struct virtio_mmio *t, struct state_writer *w);
void virtio_mmio__load_fields(struct virtio_mmio *t, struct state_reader *r);
/* Drives the interrupt line from interrupt_status (after a load). */
void virtio_mmio__update_irq(struct virtio_mmio *t);

#endif
