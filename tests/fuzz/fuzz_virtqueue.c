/* libFuzzer target: the virtqueue parser and the virtio-blk request path,
 * fed by a guest that breaks every rule it can. The target lays out a
 * well-formed queue of five requests (read, a write split over two
 * descriptors, flush, get-id, discard) in a guest RAM that is an exact
 * allocation (so ASan sees any access outside it), then lets the input
 * damage it:
 *   byte 0     the queue size the driver asks for (any value)
 *   byte 1     bit 0: read-only disk; bit 1: complete in reverse order;
 *              bit 2: reads complete with a wrong length; bits 3-4: a
 *              status for the completions
 *   then       (offset:u16, xor:u8) triples applied to RAM, e.g. to
 *              descriptors and rings
 * The device must refuse or answer every request without touching memory
 * outside RAM; everything outstanding is then completed, P7 clears the
 * rest, and the state must survive a save/load round trip. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtio_blk.h"

#define RAM_SIZE 0x10000u
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define HDR 0x4000
#define STATUS 0x5000
#define DATA 0x6000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t submitted[VIRTQ_NUM_MAX * 2];
static unsigned nsubmitted;

static int record(struct block_backend *b, const struct block_request *r)
{
        (void)b;
        if (nsubmitted < sizeof(submitted) / sizeof(submitted[0]))
                submitted[nsubmitted++] = r->id;
        if (r->op == BLOCK_OP_WRITE) {
                volatile uint8_t sink = 0;
                for (uint32_t i = 0; i < r->sectors * 512u; i++)
                        sink ^= r->data[i]; /* every byte the device claims is readable */
                (void)sink;
        }
        return 0;
}

static void put_desc(uint8_t *ram, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
        uint8_t *d = ram + DESC + 16 * i;
        memcpy(d, &addr, 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
}

static void put_header(uint8_t *ram, unsigned k, uint32_t type, uint64_t sector)
{
        memcpy(ram + HDR + 16 * k, &type, 4);
        memcpy(ram + HDR + 16 * k + 8, &sector, 8);
}

/* Five requests on descriptors 0-13, all made available. */
static void lay_out(uint8_t *ram)
{
        put_header(ram, 0, VIRTIO_BLK_T_IN, 2);
        put_desc(ram, 0, HDR, 16, 1, 1);
        put_desc(ram, 1, DATA, 1024, 3, 2);
        put_desc(ram, 2, STATUS, 1, 2, 0);
        put_header(ram, 1, VIRTIO_BLK_T_OUT, 4);
        put_desc(ram, 3, HDR + 16, 16, 1, 4);
        put_desc(ram, 4, DATA + 0x1000, 256, 1, 5);
        put_desc(ram, 5, DATA + 0x2000, 256, 1, 6);
        put_desc(ram, 6, STATUS + 1, 1, 2, 0);
        put_header(ram, 2, VIRTIO_BLK_T_FLUSH, 0);
        put_desc(ram, 7, HDR + 32, 16, 1, 8);
        put_desc(ram, 8, STATUS + 2, 1, 2, 0);
        put_header(ram, 3, VIRTIO_BLK_T_GET_ID, 0);
        put_desc(ram, 9, HDR + 48, 16, 1, 10);
        put_desc(ram, 10, DATA + 0x3000, 20, 3, 11);
        put_desc(ram, 11, STATUS + 3, 1, 2, 0);
        put_header(ram, 4, VIRTIO_BLK_T_DISCARD, 0);
        uint64_t range[2] = { 8, 8 };
        memcpy(ram + DATA + 0x4000, range, 16);
        put_desc(ram, 12, HDR + 64, 16, 1, 13);
        put_desc(ram, 13, DATA + 0x4000, 16, 1, 14);
        put_desc(ram, 14, STATUS + 4, 1, 2, 0);
        static const uint16_t heads[] = { 0, 3, 7, 9, 12 };
        memcpy(ram + AVAIL + 4, heads, sizeof(heads));
        uint16_t idx = 5;
        memcpy(ram + AVAIL + 2, &idx, 2);
}

static void wr(struct virtio_blk *d, uint64_t reg, uint32_t v)
{
        virtio_blk__io(d, reg, (uint8_t *)&v, 4, true);
}

static void bring_up(struct virtio_blk *d, uint32_t num)
{
        wr(d, 0x070, 3);
        wr(d, 0x024, 0);
        wr(d, 0x020, (uint32_t)(VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD));
        wr(d, 0x024, 1);
        wr(d, 0x020, 1);
        wr(d, 0x070, 3 | 8);
        wr(d, 0x038, num);
        wr(d, 0x080, DESC);
        wr(d, 0x090, AVAIL);
        wr(d, 0x0a0, USED);
        wr(d, 0x044, 1);
        wr(d, 0x070, 3 | 8 | 4);
}

static void complete_all(struct virtio_blk *d, uint8_t flags)
{
        static uint8_t read_data[VIRTIO_BLK_MAX_DATA];
        for (unsigned k = 0; k < nsubmitted; k++) {
                uint64_t id = submitted[(flags & 2) ? nsubmitted - 1 - k : k];
                uint32_t length = virtio_blk__read_length(d, id);
                if (flags & 4)
                        length = length ? length - 512 : 512;
                virtio_blk__complete(d, id, (uint8_t)((flags >> 3) & 3), read_data, length);
        }
}

static void round_trip(struct virtio_blk *d, struct guest_memory mem)
{
        struct state_writer w;
        state_writer__init(&w);
        if (virtio_blk__save(d, &w))
                abort();
        static struct virtio_blk fresh;
        if (virtio_blk__init(&fresh, &d->config, mem, (struct irq_line){ 0 }, NULL))
                abort();
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        if (virtio_blk__load(&fresh, &r))
        {       fprintf(stderr, "load: %s\n", r.error); abort(); } /* what the device saved, it must load */
        virtio_blk__destroy(&fresh);
        state_writer__release(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 2)
                return 0;
        uint8_t *ram = calloc(1, RAM_SIZE);
        lay_out(ram);
        for (size_t i = 2; i + 3 <= size; i += 3)
                ram[(data[i] | data[i + 1] << 8) % RAM_SIZE] ^= data[i + 2];
        struct guest_memory mem = { .ram = ram, .size = RAM_SIZE };
        struct block_backend backend = { .submit = record };
        struct virtio_blk_config config = { .capacity = 64, .readonly = data[1] & 1, .serial = "fuzz" };
        static struct virtio_blk d;
        if (virtio_blk__init(&d, &config, mem, (struct irq_line){ 0 }, &backend))
                abort();
        nsubmitted = 0;
        bring_up(&d, data[0]);
        wr(&d, 0x050, 0);
        round_trip(&d, mem);
        complete_all(&d, data[1]);
        virtio_blk__complete_all_uncertain(&d);
        if (virtio_blk__outstanding(&d))
                abort();
        wr(&d, 0x070, 0);
        virtio_blk__destroy(&d);
        free(ram);
        return 0;
}
