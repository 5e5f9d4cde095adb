#include "virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 16       /* type, reserved (ioprio), sector */
#define DISCARD_RANGE_BYTES 16
#define DISCARD_F_UNMAP 1u
#define CONFIG_BYTES 64

static void blk_notify(void *device, unsigned queue);
static void blk_reset(void *device);
static void blk_config_read(void *device, uint64_t offset, uint8_t *data, uint32_t size);

static const struct virtio_mmio_ops blk_ops = {
        .device_id = VIRTIO_ID_BLOCK,
        .queues = 1,
        .config_read = blk_config_read,
        .notify = blk_notify,
        .reset = blk_reset,
};

static uint64_t offered_features(const struct virtio_blk_config *c)
{
        uint64_t f = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_BLK_SIZE |
                     VIRTIO_BLK_F_FLUSH;
        return f | (c->readonly ? VIRTIO_BLK_F_RO : VIRTIO_BLK_F_DISCARD);
}

int virtio_blk__init(struct virtio_blk *d, const struct virtio_blk_config *config,
                     struct guest_memory mem, struct irq_line irq, struct block_backend *backend)
{
        memset(d, 0, sizeof(*d));
        d->config = *config;
        d->backend = backend;
        d->next_id = 1;
        virtio_mmio__init(&d->transport, &blk_ops, d, offered_features(config), mem, irq);
        return 0;
}

void virtio_blk__destroy(struct virtio_blk *d)
{
        (void)d; /* nothing allocated today; callers pair it with init */
}

int virtio_blk__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct virtio_blk *d = opaque;
        return virtio_mmio__io(&d->transport, offset, data, size, is_write);
}

static void put_le(uint8_t *at, uint64_t v, unsigned bytes)
{
        for (unsigned i = 0; i < bytes; i++)
                at[i] = (uint8_t)(v >> (8 * i));
}

/* struct virtio_blk_config, little endian, as far as discard's fields. */
static void blk_config_read(void *device, uint64_t offset, uint8_t *data, uint32_t size)
{
        struct virtio_blk *d = device;
        uint8_t c[CONFIG_BYTES] = { 0 };
        put_le(c + 0, d->config.capacity, 8);
        put_le(c + 8, VIRTIO_BLK_SIZE_MAX, 4);
        put_le(c + 12, VIRTIO_BLK_SEG_MAX, 4);
        put_le(c + 20, BLOCK_SECTOR_SIZE, 4);         /* blk_size */
        put_le(c + 34, 1, 2);                         /* num_queues */
        if (!d->config.readonly) {
                put_le(c + 36, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
                put_le(c + 40, 1, 4);                 /* max_discard_seg */
                put_le(c + 44, 8, 4);                 /* discard_sector_alignment: 4 KiB */
        }
        memset(data, 0, size);
        if (offset < CONFIG_BYTES)
                memcpy(data, c + offset, offset + size <= CONFIG_BYTES ? size : CONFIG_BYTES - offset);
}

static void blk_reset(void *device)
{
        struct virtio_blk *d = device;
        /* Completions of these requests may still arrive; their ids are
         * gone, so they are dropped. next_id goes on. */
        for (unsigned i = 0; i < VIRTQ_NUM_MAX; i++)
                d->req[i].in_use = false;
        d->outstanding = 0;
}

/* The status byte is the chain's last writable byte. */
static void finish_chain(struct virtio_blk *d, uint16_t head, const struct virtio_segment *last,
                         uint8_t status, uint32_t written)
{
        guest_memory__write(&d->transport.mem, last->addr + last->len - 1, &status, 1);
        virtqueue__push_used(&d->transport, 0, head, written + 1);
        virtio_mmio__notify_used(&d->transport, 0);
        d->counters.completions++;
        if (status != VIRTIO_BLK_S_OK)
                d->counters.errors++;
}

static void complete_now(struct virtio_blk *d, const struct virtio_chain *c, uint8_t status)
{
        finish_chain(d, c->head, &c->last_writable, status, 0);
}

/* Copies length bytes at offset of a readable stream (count segments)
 * into out; the caller has checked the stream is long enough. */
static void gather_segments(const struct virtio_blk *d, const struct virtio_segment *seg,
                            unsigned count, uint64_t offset, uint8_t *out, uint64_t length)
{
        for (unsigned i = 0; i < count && length; i++) {
                const struct virtio_segment *s = &seg[i];
                if (offset >= s->len) {
                        offset -= s->len;
                        continue;
                }
                uint64_t n = s->len - offset < length ? s->len - offset : length;
                guest_memory__read(&d->transport.mem, s->addr + offset, out, n);
                out += n;
                length -= n;
                offset = 0;
        }
}

static void gather(const struct virtio_blk *d, const struct virtio_chain *c, uint64_t offset,
                   uint8_t *out, uint64_t length)
{
        gather_segments(d, c->seg, c->readable, offset, out, length);
}

/* A pointer into guest RAM when [offset, offset + length) of the readable
 * stream lies in one segment (the usual case: no copy), else NULL. */
static const uint8_t *readable_span(const struct virtio_blk *d, const struct virtio_chain *c,
                                    uint64_t offset, uint64_t length)
{
        for (unsigned i = 0; i < c->readable; i++) {
                const struct virtio_segment *s = &c->seg[i];
                if (offset < s->len)
                        return offset + length <= s->len ? d->transport.mem.ram + s->addr + offset
                                                         : NULL;
                offset -= s->len;
        }
        return NULL;
}

static bool in_range(const struct virtio_blk *d, uint64_t sector, uint64_t sectors)
{
        return sector <= d->config.capacity && sectors <= d->config.capacity - sector;
}

static void submit(struct virtio_blk *d, const struct virtio_chain *c, enum block_op op,
                   uint64_t sector, uint32_t sectors, const uint8_t *data)
{
        uint32_t bytes = op == BLOCK_OP_READ ? sectors * BLOCK_SECTOR_SIZE : 0;
        struct virtio_blk_request *q = &d->req[c->head];
        *q = (struct virtio_blk_request){
                .in_use = true, .id = d->next_id++, .head = c->head, .op = (uint8_t)op,
                .data_bytes = bytes, .sector = sector, .sectors = sectors,
                .segments = (uint8_t)c->writable,
                .readable = op == BLOCK_OP_WRITE ? (uint8_t)c->readable : 0,
        };
        memcpy(q->seg, c->seg + c->readable, c->writable * sizeof(q->seg[0]));
        memcpy(q->rseg, c->seg, q->readable * sizeof(q->rseg[0]));
        d->outstanding++;
        struct block_request r = {
                .device = d->config.index, .id = q->id, .op = op, .sector = sector,
                .sectors = sectors, .data = data,
        };
        /* The backend reports its own failures as completions. */
        (void)block_backend__submit(d->backend, &r);
}

/* Read or write: whole sectors, within the disk and the size limit. */
static bool transfer_valid(const struct virtio_blk *d, uint64_t sector, uint64_t bytes)
{
        return bytes % BLOCK_SECTOR_SIZE == 0 && bytes <= VIRTIO_BLK_MAX_DATA &&
               in_range(d, sector, bytes / BLOCK_SECTOR_SIZE);
}

static void handle_read(struct virtio_blk *d, const struct virtio_chain *c, uint64_t sector)
{
        uint64_t bytes = c->writable_bytes - 1;
        if (!transfer_valid(d, sector, bytes) || c->overlong) {
                complete_now(d, c, VIRTIO_BLK_S_IOERR);
                return;
        }
        if (bytes == 0) {
                complete_now(d, c, VIRTIO_BLK_S_OK);
                return;
        }
        submit(d, c, BLOCK_OP_READ, sector, (uint32_t)(bytes / BLOCK_SECTOR_SIZE), NULL);
}

static void handle_write(struct virtio_blk *d, const struct virtio_chain *c, uint64_t sector)
{
        uint64_t bytes = c->readable_bytes - HEADER_BYTES;
        if (d->config.readonly || !transfer_valid(d, sector, bytes) || c->overlong) {
                complete_now(d, c, VIRTIO_BLK_S_IOERR);
                return;
        }
        if (bytes == 0) {
                complete_now(d, c, VIRTIO_BLK_S_OK);
                return;
        }
        const uint8_t *data = readable_span(d, c, HEADER_BYTES, bytes);
        uint8_t *gathered = NULL;
        if (!data) {
                /* A write split over descriptors is gathered for the
                 * backend, which copies it before submit returns. */
                if (!(gathered = malloc(bytes))) {
                        complete_now(d, c, VIRTIO_BLK_S_IOERR);
                        return;
                }
                gather(d, c, HEADER_BYTES, gathered, bytes);
                data = gathered;
        }
        submit(d, c, BLOCK_OP_WRITE, sector, (uint32_t)(bytes / BLOCK_SECTOR_SIZE), data);
        free(gathered);
}

static void handle_get_id(struct virtio_blk *d, const struct virtio_chain *c)
{
        uint64_t room = c->writable_bytes - 1;
        uint32_t n = room < VIRTIO_BLK_ID_BYTES ? (uint32_t)room : VIRTIO_BLK_ID_BYTES;
        if (c->overlong || c->writable != 1 + (c->last_writable.len == 1)) {
                /* Keep it simple: the id in one descriptor, the status in
                 * the same or the next. */
                complete_now(d, c, VIRTIO_BLK_S_UNSUPP);
                return;
        }
        guest_memory__write(&d->transport.mem, c->seg[c->readable].addr, d->config.serial, n);
        finish_chain(d, c->head, &c->last_writable, VIRTIO_BLK_S_OK, n);
}

static void handle_discard(struct virtio_blk *d, const struct virtio_chain *c)
{
        if (d->config.readonly || !virtio_mmio__negotiated(&d->transport, VIRTIO_BLK_F_DISCARD) ||
            c->readable_bytes != HEADER_BYTES + DISCARD_RANGE_BYTES) {
                complete_now(d, c, VIRTIO_BLK_S_UNSUPP);
                return;
        }
        uint8_t range[DISCARD_RANGE_BYTES];
        gather(d, c, HEADER_BYTES, range, sizeof(range));
        uint64_t sector;
        uint32_t sectors, flags;
        memcpy(&sector, range, 8);
        memcpy(&sectors, range + 8, 4);
        memcpy(&flags, range + 12, 4);
        if (flags & ~DISCARD_F_UNMAP) {
                complete_now(d, c, VIRTIO_BLK_S_UNSUPP);
                return;
        }
        if (!in_range(d, sector, sectors) || sectors > VIRTIO_BLK_MAX_DISCARD_SECTORS) {
                complete_now(d, c, VIRTIO_BLK_S_IOERR);
                return;
        }
        if (sectors == 0) {
                complete_now(d, c, VIRTIO_BLK_S_OK);
                return;
        }
        submit(d, c, BLOCK_OP_DISCARD, sector, sectors, NULL);
}

static void handle_chain(struct virtio_blk *d, const struct virtio_chain *c)
{
        d->counters.requests++;
        uint8_t header[HEADER_BYTES];
        gather(d, c, 0, header, c->readable_bytes < HEADER_BYTES ? c->readable_bytes : HEADER_BYTES);
        uint32_t type;
        uint64_t sector;
        memcpy(&type, header, 4);
        memcpy(&sector, header + 8, 8);
        if (c->readable_bytes < HEADER_BYTES) {
                complete_now(d, c, VIRTIO_BLK_S_IOERR);
                return;
        }
        switch (type) {
        case VIRTIO_BLK_T_IN: handle_read(d, c, sector); break;
        case VIRTIO_BLK_T_OUT: handle_write(d, c, sector); break;
        case VIRTIO_BLK_T_FLUSH:
                if (c->overlong)
                        complete_now(d, c, VIRTIO_BLK_S_IOERR);
                else
                        submit(d, c, BLOCK_OP_FLUSH, 0, 0, NULL);
                break;
        case VIRTIO_BLK_T_GET_ID: handle_get_id(d, c); break;
        case VIRTIO_BLK_T_DISCARD: handle_discard(d, c); break;
        default: complete_now(d, c, VIRTIO_BLK_S_UNSUPP); break;
        }
}

/* Takes every chain the guest made available. A chain without a status
 * byte, or whose head is still outstanding, breaks the driver's side of
 * the contract: the device stops until it is reset. */
static void blk_notify(void *device, unsigned queue)
{
        struct virtio_blk *d = device;
        struct virtio_chain c;
        while (virtqueue__pop(&d->transport, queue, &c) == VIRTQ_CHAIN) {
                if (c.head >= VIRTQ_NUM_MAX || d->req[c.head].in_use) {
                        virtio_mmio__set_broken(&d->transport, "chain head reused while outstanding");
                        return;
                }
                if (c.writable_bytes == 0 || c.last_writable.len == 0) {
                        virtio_mmio__set_broken(&d->transport, "request without a status byte");
                        return;
                }
                handle_chain(d, &c);
        }
}

static struct virtio_blk_request *find(struct virtio_blk *d, uint64_t id)
{
        for (unsigned i = 0; i < VIRTQ_NUM_MAX; i++)
                if (d->req[i].in_use && d->req[i].id == id)
                        return &d->req[i];
        return NULL;
}

/* Spreads a read's bytes over the writable segments, stopping short of
 * the status byte (the last one). */
static void scatter(struct virtio_blk *d, const struct virtio_blk_request *q, const uint8_t *data,
                    uint32_t length)
{
        for (unsigned i = 0; i < q->segments && length; i++) {
                uint32_t n = q->seg[i].len < length ? q->seg[i].len : length;
                guest_memory__write(&d->transport.mem, q->seg[i].addr, data, n);
                data += n;
                length -= n;
        }
}

static void retire(struct virtio_blk *d, struct virtio_blk_request *q, uint8_t status,
                   uint32_t written)
{
        q->in_use = false;
        d->outstanding--;
        finish_chain(d, q->head, &q->seg[q->segments - 1], status, written);
}

int virtio_blk__complete(struct virtio_blk *d, uint64_t id, uint8_t status,
                         const uint8_t *read_data, uint32_t length)
{
        struct virtio_blk_request *q = find(d, id);
        if (!q) {
                d->counters.stale++;
                return -ENOENT;
        }
        if (status != VIRTIO_BLK_S_OK || q->op != BLOCK_OP_READ) {
                retire(d, q, status, 0);
                return 0;
        }
        if (length != q->data_bytes || !read_data) {
                retire(d, q, VIRTIO_BLK_S_IOERR, 0);
                return -EINVAL;
        }
        scatter(d, q, read_data, length);
        retire(d, q, VIRTIO_BLK_S_OK, length);
        return 0;
}

unsigned virtio_blk__complete_all_uncertain(struct virtio_blk *d)
{
        unsigned n = 0;
        /* In id order, so that two replicas fill the used ring alike. */
        while (d->outstanding) {
                struct virtio_blk_request *oldest = NULL;
                for (unsigned i = 0; i < VIRTQ_NUM_MAX; i++)
                        if (d->req[i].in_use && (!oldest || d->req[i].id < oldest->id))
                                oldest = &d->req[i];
                retire(d, oldest, VIRTIO_BLK_S_IOERR, 0);
                n++;
        }
        d->counters.uncertain += n;
        return n;
}

static struct virtio_blk_request *oldest_after(struct virtio_blk *d, uint64_t id)
{
        struct virtio_blk_request *oldest = NULL;
        for (unsigned i = 0; i < VIRTQ_NUM_MAX; i++)
                if (d->req[i].in_use && d->req[i].id > id && (!oldest || d->req[i].id < oldest->id))
                        oldest = &d->req[i];
        return oldest;
}

/* The same request again; the backend reports what it cannot do as a
 * completion, as the first time. */
static void resubmit(struct virtio_blk *d, struct virtio_blk_request *q)
{
        struct block_request r = { .device = d->config.index, .id = q->id, .op = q->op,
                                   .sector = q->sector, .sectors = q->sectors };
        uint8_t *data = NULL;
        if (q->op == BLOCK_OP_WRITE) {
                uint64_t bytes = (uint64_t)q->sectors * BLOCK_SECTOR_SIZE;
                if (!(data = malloc(bytes ? bytes : 1))) {
                        retire(d, q, VIRTIO_BLK_S_IOERR, 0);
                        return;
                }
                gather_segments(d, q->rseg, q->readable, HEADER_BYTES, data, bytes);
        }
        r.data = data;
        (void)block_backend__submit(d->backend, &r);
        free(data);
}

unsigned virtio_blk__reissue_outstanding(struct virtio_blk *d)
{
        unsigned n = 0;
        for (struct virtio_blk_request *q = oldest_after(d, 0); q; q = oldest_after(d, q->id)) {
                resubmit(d, q);
                n++;
        }
        d->counters.reissued += n;
        return n;
}

unsigned virtio_blk__outstanding(const struct virtio_blk *d)
{
        return d->outstanding;
}

uint32_t virtio_blk__read_length(const struct virtio_blk *d, uint64_t id)
{
        const struct virtio_blk_request *q = find((struct virtio_blk *)d, id);
        return q && q->op == BLOCK_OP_READ ? q->data_bytes : 0;
}

static void save_config(const struct virtio_blk_config *c, struct state_writer *w)
{
        state_writer__u64(w, c->capacity);
        state_writer__bool(w, c->readonly);
        state_writer__bytes(w, c->serial, sizeof(c->serial));
        state_writer__u32(w, c->index);
}

static void save_segments(const struct virtio_segment *seg, uint8_t count, struct state_writer *w)
{
        state_writer__u8(w, count);
        for (unsigned i = 0; i < count; i++) {
                state_writer__u64(w, seg[i].addr);
                state_writer__u32(w, seg[i].len);
        }
}

static void save_request(const struct virtio_blk_request *q, struct state_writer *w)
{
        state_writer__u64(w, q->id);
        state_writer__u16(w, q->head);
        state_writer__u8(w, q->op);
        state_writer__u32(w, q->data_bytes);
        state_writer__u64(w, q->sector);
        state_writer__u32(w, q->sectors);
        save_segments(q->seg, q->segments, w);
        save_segments(q->rseg, q->readable, w);
}

/* The configuration is saved too, so that state meant for another disk
 * (another size, read-only or not) is refused rather than applied. */
int virtio_blk__save(const struct virtio_blk *d, struct state_writer *w)
{
        state_writer__begin(w, "VBLK", 2);
        save_config(&d->config, w);
        virtio_mmio__save_fields(&d->transport, w);
        state_writer__u64(w, d->next_id);
        state_writer__u32(w, d->outstanding);
        for (unsigned i = 0; i < VIRTQ_NUM_MAX; i++)
                if (d->req[i].in_use)
                        save_request(&d->req[i], w);
        return state_writer__end(w);
}

static void load_config(const struct virtio_blk *d, struct state_reader *r)
{
        struct virtio_blk_config c;
        memset(&c, 0, sizeof(c));
        c.capacity = state_reader__u64(r);
        c.readonly = state_reader__bool(r);
        state_reader__bytes(r, c.serial, sizeof(c.serial));
        c.index = state_reader__u32(r);
        if (state_reader__ok(r) && (c.capacity != d->config.capacity || c.readonly != d->config.readonly ||
                                    c.index != d->config.index))
                state_reader__fail(r, "virtio-blk state is for a %s disk %u of %llu sectors, this one is a %s disk %u of %llu",
                                   c.readonly ? "read-only" : "writable", c.index,
                                   (unsigned long long)c.capacity,
                                   d->config.readonly ? "read-only" : "writable", d->config.index,
                                   (unsigned long long)d->config.capacity);
}

/* Bytes the segments hold, or UINT64_MAX if one lies outside guest RAM. */
static uint64_t segments_length(const struct virtio_blk *d, const struct virtio_segment *seg,
                                unsigned count)
{
        uint64_t room = 0;
        for (unsigned i = 0; i < count; i++) {
                if (!guest_memory__contains(&d->transport.mem, seg[i].addr, seg[i].len))
                        return UINT64_MAX;
                room += seg[i].len;
        }
        return room;
}

/* What a reissue would hand the backend must be what the guest could have
 * asked for: whole sectors within the disk, a write's data in RAM. */
static bool request_valid(const struct virtio_blk *d, const struct virtio_blk_request *q)
{
        if (q->op > BLOCK_OP_DISCARD || q->segments == 0 || q->segments > VIRTIO_CHAIN_MAX_SEGMENTS ||
            q->readable > VIRTIO_CHAIN_MAX_SEGMENTS || (q->op != BLOCK_OP_WRITE && q->readable) ||
            q->id == 0 || q->id >= d->next_id || q->data_bytes > VIRTIO_BLK_MAX_DATA ||
            (q->op != BLOCK_OP_READ && q->data_bytes) || q->seg[q->segments - 1].len == 0 ||
            !in_range(d, q->sector, q->sectors) ||
            (q->op == BLOCK_OP_READ && q->data_bytes != (uint64_t)q->sectors * BLOCK_SECTOR_SIZE) ||
            (q->op == BLOCK_OP_FLUSH && (q->sector || q->sectors)) ||
            (q->op == BLOCK_OP_WRITE && (uint64_t)q->sectors * BLOCK_SECTOR_SIZE > VIRTIO_BLK_MAX_DATA))
                return false;
        uint64_t room = segments_length(d, q->seg, q->segments);
        uint64_t data = segments_length(d, q->rseg, q->readable);
        if (room == UINT64_MAX || data == UINT64_MAX)
                return false;
        return room >= (uint64_t)q->data_bytes + 1 &&
               (q->op != BLOCK_OP_WRITE || data >= HEADER_BYTES + (uint64_t)q->sectors * BLOCK_SECTOR_SIZE);
}

static uint8_t load_segments(struct virtio_segment *seg, struct state_reader *r)
{
        uint8_t count = state_reader__u8(r);
        if (count > VIRTIO_CHAIN_MAX_SEGMENTS) {
                state_reader__fail(r, "virtio-blk request of %u segments, at most %u", count,
                                   VIRTIO_CHAIN_MAX_SEGMENTS);
                return 0;
        }
        for (unsigned i = 0; i < count; i++) {
                seg[i].addr = state_reader__u64(r);
                seg[i].len = state_reader__u32(r);
        }
        return count;
}

static void load_request(struct virtio_blk *d, struct state_reader *r)
{
        struct virtio_blk_request q = { .in_use = true };
        q.id = state_reader__u64(r);
        q.head = state_reader__u16(r);
        q.op = state_reader__u8(r);
        q.data_bytes = state_reader__u32(r);
        q.sector = state_reader__u64(r);
        q.sectors = state_reader__u32(r);
        q.segments = load_segments(q.seg, r);
        q.readable = load_segments(q.rseg, r);
        if (!state_reader__ok(r))
                return;
        if (q.head >= VIRTQ_NUM_MAX || d->req[q.head].in_use || find(d, q.id) || !request_valid(d, &q)) {
                state_reader__fail(r, "virtio-blk outstanding request %llu (head %u) is invalid",
                                   (unsigned long long)q.id, q.head);
                return;
        }
        d->req[q.head] = q;
}

static void load_requests(struct virtio_blk *d, uint32_t count, struct state_reader *r)
{
        memset(d->req, 0, sizeof(d->req));
        if (count > VIRTQ_NUM_MAX) {
                state_reader__fail(r, "virtio-blk has %u outstanding requests, at most %u", count,
                                   VIRTQ_NUM_MAX);
                return;
        }
        d->outstanding = count;
        for (uint32_t i = 0; i < count && state_reader__ok(r); i++)
                load_request(d, r);
}

int virtio_blk__load(struct virtio_blk *d, struct state_reader *r)
{
        struct virtio_blk *l = malloc(sizeof(*l));
        if (!l) {
                state_reader__fail(r, "out of memory loading virtio-blk");
                return -ENOMEM;
        }
        *l = *d; /* keeps configuration, memory, irq, backend */
        int rc = -EINVAL;
        if (state_reader__begin(r, "VBLK", 2) == 0) {
                load_config(d, r);
                virtio_mmio__load_fields(&l->transport, r);
                l->next_id = state_reader__u64(r);
                load_requests(l, state_reader__u32(r), r);
                if (state_reader__end(r) == 0)
                        rc = 0;
        }
        if (!rc) {
                l->transport.device = d; /* the ops' argument is the device itself */
                *d = *l;
                virtio_mmio__update_irq(&d->transport);
        }
        free(l);
        return rc;
}
