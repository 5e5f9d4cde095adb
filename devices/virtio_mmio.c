#include "virtio_mmio.h"

#include <errno.h>
#include <string.h>


#define MAGIC 0x74726976       /* "virt" */
#define VENDOR_ID 0x4d565446   /* "FTVM" */


#define DESC_SIZE 16
#define DRIVER_STATUS_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
                            VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)
#define RING_HEADER 4          /* flags, idx */

void virtio_mmio__update_irq(struct virtio_mmio *t)
{
        irq_line__set(&t->irq, t->interrupt_status != 0);
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t cause)
{
        t->interrupt_status |= cause;
        virtio_mmio__update_irq(t);
}

void virtio_mmio__init(struct virtio_mmio *t, const struct virtio_mmio_ops *ops, void *device,
                       uint64_t device_features, struct guest_memory mem, struct irq_line irq)
{
        memset(t, 0, sizeof(*t));
        t->ops = ops;
        t->device = device;
        t->device_features = device_features | VIRTIO_F_VERSION_1;
        t->mem = mem;
        t->irq = irq;
        virtio_mmio__reset(t);
}

void virtio_mmio__reset(struct virtio_mmio *t)
{
        t->status = 0;
        t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
        t->driver_features = 0;
        t->interrupt_status = 0;
        memset(t->vq, 0, sizeof(t->vq));
        t->broken_reason = NULL;
        virtio_mmio__update_irq(t);
        if (t->ops && t->ops->reset)
                t->ops->reset(t->device);
}

bool virtio_mmio__negotiated(const struct virtio_mmio *t, uint64_t feature)
{
        return (t->driver_features & feature) == feature;
}

bool virtio_mmio__live(const struct virtio_mmio *t)
{
        return (t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_mmio__set_broken(struct virtio_mmio *t, const char *why)
{
        if (t->status & VIRTIO_STATUS_NEEDS_RESET)
                return;
        t->status |= VIRTIO_STATUS_NEEDS_RESET;
        t->broken_reason = why;
        if (t->status & VIRTIO_STATUS_DRIVER_OK)
                raise_interrupt(t, VIRTIO_INT_CONFIG);
}

static struct virtqueue *selected_queue(struct virtio_mmio *t)
{
        return t->queue_sel < t->ops->queues ? &t->vq[t->queue_sel] : NULL;
}

static bool power_of_two(uint32_t n)
{
        return n && !(n & (n - 1));
}

/* The three areas of a split queue, each inside RAM and aligned as the
 * spec requires, so that every later ring access is in bounds. */
static const char *queue_layout_problem(const struct guest_memory *mem, const struct virtqueue *q)
{
        if (!power_of_two(q->num) || q->num > VIRTQ_NUM_MAX)
                return "queue size is not a power of two up to QueueNumMax";
        if (q->desc % 16 || q->avail % 2 || q->used % 4)
                return "queue area misaligned";
        if (!guest_memory__contains(mem, q->desc, (uint64_t)DESC_SIZE * q->num) ||
            !guest_memory__contains(mem, q->avail, RING_HEADER + 2ull * q->num + 2) ||
            !guest_memory__contains(mem, q->used, RING_HEADER + 8ull * q->num + 2))
                return "queue area outside guest RAM";
        return NULL;
}

static void write_queue_ready(struct virtio_mmio *t, struct virtqueue *q, uint32_t v)
{
        if (!v) {
                q->ready = false;
                return;
        }
        const char *problem = queue_layout_problem(&t->mem, q);
        if (problem) {
                virtio_mmio__set_broken(t, problem);
                return;
        }
        q->ready = true;
}

/* FEATURES_OK stays set only for a subset of what the device offered that
 * includes VERSION_1: this transport has no legacy mode. */
static void write_status(struct virtio_mmio *t, uint32_t v)
{
        if (v == 0) {
                virtio_mmio__reset(t);
                return;
        }
        /* NEEDS_RESET is the device's to set; bits 4 and 5 mean nothing. */
        uint8_t next = (uint8_t)(v & DRIVER_STATUS_BITS) | (t->status & VIRTIO_STATUS_NEEDS_RESET);
        if ((next & VIRTIO_STATUS_FEATURES_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
                bool acceptable = (t->driver_features & ~t->device_features) == 0 &&
                                  virtio_mmio__negotiated(t, VIRTIO_F_VERSION_1);
                if (!acceptable)
                        next &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        }
        t->status = next;
}

static void write_features(struct virtio_mmio *t, uint32_t v)
{
        if (t->status & VIRTIO_STATUS_FEATURES_OK || t->driver_features_sel > 1)
                return; /* frozen once accepted */
        unsigned shift = 32 * t->driver_features_sel;
        t->driver_features = (t->driver_features & ~(0xffffffffull << shift)) | (uint64_t)v << shift;
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
        if (high)
                *field = (*field & 0xffffffffull) | (uint64_t)v << 32;
        else
                *field = (*field & ~0xffffffffull) | v;
}

static void write_queue_register(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
        struct virtqueue *q = selected_queue(t);
        if (!q || q->ready)
                return; /* the spec forbids changing a live queue */
        switch (offset) {
        case VIRTIO_MMIO_QUEUE_NUM: q->num = (uint16_t)(v > 0xffff ? 0 : v); break;
        case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
                set_half(&q->desc, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, v); break;
        case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
                set_half(&q->avail, offset == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v); break;
        case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
                set_half(&q->used, offset == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v); break;
        }
}

static void write_notify(struct virtio_mmio *t, uint32_t queue)
{
        if (queue < t->ops->queues && t->vq[queue].ready && virtio_mmio__live(t) && t->ops->notify)
                t->ops->notify(t->device, queue);
}

static void write_register(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
        switch (offset) {
        case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->device_features_sel = v; break;
        case VIRTIO_MMIO_DRIVER_FEATURES: write_features(t, v); break;
        case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->driver_features_sel = v; break;
        case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
        case VIRTIO_MMIO_QUEUE_READY: {
                struct virtqueue *q = selected_queue(t);
                if (q)
                        write_queue_ready(t, q, v);
                break;
        }
        case VIRTIO_MMIO_QUEUE_NOTIFY: write_notify(t, v); break;
        case VIRTIO_MMIO_INTERRUPT_ACK:
                t->interrupt_status &= ~v;
                virtio_mmio__update_irq(t);
                break;
        case VIRTIO_MMIO_STATUS: write_status(t, v); break;
        default: write_queue_register(t, offset, v); break;
        }
}

static uint32_t read_queue_register(struct virtio_mmio *t, uint64_t offset)
{
        struct virtqueue *q = selected_queue(t);
        if (!q)
                return 0;
        switch (offset) {
        case VIRTIO_MMIO_QUEUE_NUM_MAX: return VIRTQ_NUM_MAX;
        case VIRTIO_MMIO_QUEUE_NUM: return q->num;
        case VIRTIO_MMIO_QUEUE_READY: return q->ready;
        case VIRTIO_MMIO_QUEUE_DESC_LOW: return (uint32_t)q->desc;
        case VIRTIO_MMIO_QUEUE_DESC_HIGH: return (uint32_t)(q->desc >> 32);
        case VIRTIO_MMIO_QUEUE_DRIVER_LOW: return (uint32_t)q->avail;
        case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: return (uint32_t)(q->avail >> 32);
        case VIRTIO_MMIO_QUEUE_DEVICE_LOW: return (uint32_t)q->used;
        case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: return (uint32_t)(q->used >> 32);
        }
        return 0;
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
        switch (offset) {
        case VIRTIO_MMIO_MAGIC: return MAGIC;
        case VIRTIO_MMIO_VERSION: return 2;
        case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
        case VIRTIO_MMIO_VENDOR_ID: return VENDOR_ID;
        case VIRTIO_MMIO_DEVICE_FEATURES:
                return t->device_features_sel > 1 ? 0 :
                       (uint32_t)(t->device_features >> (32 * t->device_features_sel));
        case VIRTIO_MMIO_INTERRUPT_STATUS: return t->interrupt_status;
        case VIRTIO_MMIO_STATUS: return t->status;
        case VIRTIO_MMIO_CONFIG_GENERATION: return 0; /* the configuration never changes */
        /* No shared memory regions: a length of all ones says so. */
        case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
        case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH: return 0xffffffff;
        }
        return read_queue_register(t, offset);
}

int virtio_mmio__io(struct virtio_mmio *t, uint64_t offset, uint8_t *data, uint32_t size,
                    bool is_write)
{
        if (offset >= VIRTIO_MMIO_CONFIG) {
                if (size != 1 && size != 2 && size != 4 && size != 8)
                        return -EINVAL;
                if (!is_write && t->ops->config_read)
                        t->ops->config_read(t->device, offset - VIRTIO_MMIO_CONFIG, data, size);
                return 0; /* the configuration space is read-only here */
        }
        if (size != 4 || offset % 4)
                return -EINVAL;
        uint32_t v;
        if (is_write) {
                memcpy(&v, data, 4);
                write_register(t, offset, v);
        } else {
                v = read_register(t, offset);
                memcpy(data, &v, 4);
        }
        return 0;
}

static uint16_t read_u16(const struct guest_memory *mem, uint64_t addr)
{
        uint16_t v;
        guest_memory__read(mem, addr, &v, 2);
        return v;
}

struct descriptor {
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
};

static struct descriptor read_descriptor(const struct guest_memory *mem,
                                         const struct virtqueue *q, uint16_t i)
{
        uint8_t raw[DESC_SIZE];
        guest_memory__read(mem, q->desc + (uint64_t)DESC_SIZE * i, raw, DESC_SIZE);
        struct descriptor d;
        memcpy(&d.addr, raw, 8);
        memcpy(&d.len, raw + 8, 4);
        memcpy(&d.flags, raw + 12, 2);
        memcpy(&d.next, raw + 14, 2);
        return d;
}

static const char *add_segment(struct virtio_chain *c, const struct descriptor *d)
{
        bool writable = d->flags & VIRTQ_DESC_F_WRITE;
        if (!writable && c->writable)
                return "a device-readable descriptor follows a writable one";
        struct virtio_segment s = { d->addr, d->len };
        if (writable) {
                c->writable_bytes += d->len;
                c->last_writable = s;
        } else {
                c->readable_bytes += d->len;
        }
        unsigned kept = c->readable + c->writable;
        if (kept == VIRTIO_CHAIN_MAX_SEGMENTS) {
                c->overlong = true;
                return NULL;
        }
        c->seg[kept] = s;
        if (writable)
                c->writable++;
        else
                c->readable++;
        return NULL;
}

/* Follows the chain from head. A chain longer than the queue loops (the
 * spec bounds a chain by the queue size); every buffer must lie in RAM. */
static const char *walk_chain(const struct virtio_mmio *t, const struct virtqueue *q,
                              uint16_t head, struct virtio_chain *c)
{
        memset(c, 0, sizeof(*c));
        c->head = head;
        uint16_t i = head;
        for (unsigned count = 1;; count++) {
                if (i >= q->num)
                        return "descriptor index out of range";
                if (count > q->num)
                        return "descriptor chain loops or is longer than the queue";
                struct descriptor d = read_descriptor(&t->mem, q, i);
                if (d.flags & VIRTQ_DESC_F_INDIRECT)
                        return "indirect descriptor (not negotiated)";
                if (!guest_memory__contains(&t->mem, d.addr, d.len))
                        return "descriptor buffer outside guest RAM";
                const char *problem = add_segment(c, &d);
                if (problem)
                        return problem;
                if (!(d.flags & VIRTQ_DESC_F_NEXT))
                        return NULL;
                i = d.next;
        }
}

enum virtq_pop virtqueue__pop(struct virtio_mmio *t, unsigned queue, struct virtio_chain *c)
{
        struct virtqueue *q = &t->vq[queue];
        if (!q->ready || !virtio_mmio__live(t))
                return VIRTQ_EMPTY;
        uint16_t avail_idx = read_u16(&t->mem, q->avail + 2);
        uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
        if (pending == 0)
                return VIRTQ_EMPTY;
        if (pending > q->num) {
                virtio_mmio__set_broken(t, "avail index moved by more than the queue size");
                return VIRTQ_BROKEN;
        }
        uint16_t slot = q->last_avail & (q->num - 1);
        uint16_t head = read_u16(&t->mem, q->avail + RING_HEADER + 2ull * slot);
        const char *problem = walk_chain(t, q, head, c);
        if (problem) {
                virtio_mmio__set_broken(t, problem);
                return VIRTQ_BROKEN;
        }
        q->last_avail++;
        return VIRTQ_CHAIN;
}

void virtqueue__push_used(struct virtio_mmio *t, unsigned queue, uint16_t head, uint32_t len)
{
        struct virtqueue *q = &t->vq[queue];
        if (!q->ready)
                return;
        uint8_t elem[8];
        uint32_t id = head;
        memcpy(elem, &id, 4);
        memcpy(elem + 4, &len, 4);
        uint16_t slot = q->used_idx & (q->num - 1);
        guest_memory__write(&t->mem, q->used + RING_HEADER + 8ull * slot, elem, 8);
        q->used_idx++;
        guest_memory__write(&t->mem, q->used + 2, &q->used_idx, 2);
}

void virtio_mmio__notify_used(struct virtio_mmio *t, unsigned queue)
{
        struct virtqueue *q = &t->vq[queue];
        if (q->ready && (read_u16(&t->mem, q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT))
                return;
        raise_interrupt(t, VIRTIO_INT_USED);
}

static void save_queue(const struct virtqueue *q, struct state_writer *w)
{
        state_writer__u16(w, q->num);
        state_writer__bool(w, q->ready);
        state_writer__u64(w, q->desc);
        state_writer__u64(w, q->avail);
        state_writer__u64(w, q->used);
        state_writer__u16(w, q->last_avail);
        state_writer__u16(w, q->used_idx);
}

void virtio_mmio__save_fields(const struct virtio_mmio *t, struct state_writer *w)
{
        state_writer__u8(w, t->status);
        state_writer__u32(w, t->device_features_sel);
        state_writer__u32(w, t->driver_features_sel);
        state_writer__u32(w, t->queue_sel);
        state_writer__u64(w, t->driver_features);
        state_writer__u32(w, t->interrupt_status);
        for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
                save_queue(&t->vq[i], w);
}

static void load_queue(struct virtio_mmio *t, unsigned i, struct state_reader *r)
{
        struct virtqueue *q = &t->vq[i];
        q->num = state_reader__u16(r);
        q->ready = state_reader__bool(r);
        q->desc = state_reader__u64(r);
        q->avail = state_reader__u64(r);
        q->used = state_reader__u64(r);
        q->last_avail = state_reader__u16(r);
        q->used_idx = state_reader__u16(r);
        if (q->ready && (i >= t->ops->queues || queue_layout_problem(&t->mem, q)))
                state_reader__fail(r, "virtio queue %u is ready with a bad layout (size %u)",
                                   i, q->num);
}

void virtio_mmio__load_fields(struct virtio_mmio *t, struct state_reader *r)
{
        t->status = state_reader__u8(r);
        t->device_features_sel = state_reader__u32(r);
        t->driver_features_sel = state_reader__u32(r);
        t->queue_sel = state_reader__u32(r);
        t->driver_features = state_reader__u64(r);
        t->interrupt_status = state_reader__u32(r);
        for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
                load_queue(t, i, r);
        if (t->status & 0x30)
                state_reader__fail(r, "virtio status 0x%x has reserved bits", t->status);
        if (t->interrupt_status & ~(uint32_t)(VIRTIO_INT_USED | VIRTIO_INT_CONFIG))
                state_reader__fail(r, "virtio interrupt status 0x%x out of range", t->interrupt_status);
        /* Before FEATURES_OK the driver may have written anything. */
        if ((t->status & VIRTIO_STATUS_FEATURES_OK) && (t->driver_features & ~t->device_features))
                state_reader__fail(r, "virtio driver features 0x%llx accepted but not offered",
                                   (unsigned long long)t->driver_features);
        t->broken_reason = NULL;
}
