/* virtio-blk on virtio-mmio, driven as a guest driver would: registers,
 * feature negotiation, descriptor chains in a fake guest RAM, requests to
 * a recording backend and completions applied as events; every way a
 * driver can break the rules; P7; saved state. */
#include <errno.h>
#include <string.h>

#include "../../devices/virtio_blk.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct virtio_blk, virtio_blk);

#define RAM_SIZE (256u << 10)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define QSIZE 16
#define HDR 0x4000     /* request headers, 16 bytes apart */
#define STATUS 0x5000  /* status bytes, one per request */
#define DATA 0x10000
#define CAPACITY 64    /* sectors */

static uint8_t ram[RAM_SIZE];
static struct virtio_blk dev;
static struct block_backend backend;
static struct block_request submitted[32];
static uint8_t submitted_data[32][4096];
static unsigned nsubmitted;
static bool irq_level;
static uint64_t dirty_low, dirty_high;
static uint16_t avail_idx, next_desc;

static int record_submit(struct block_backend *b, const struct block_request *r)
{
        (void)b;
        ck_assert_uint_lt(nsubmitted, 32);
        submitted[nsubmitted] = *r;
        if (r->op == BLOCK_OP_WRITE) {
                ck_assert_uint_le(r->sectors * 512u, sizeof(submitted_data[0]));
                memcpy(submitted_data[nsubmitted], r->data, r->sectors * 512u);
        }
        nsubmitted++;
        return 0;
}

static void line(void *controller, unsigned irq, bool level)
{
        (void)controller;
        (void)irq;
        irq_level = level;
}

static void mark_written(void *context, uint64_t addr, uint64_t length)
{
        (void)context;
        if (addr < dirty_low)
                dirty_low = addr;
        if (addr + length > dirty_high)
                dirty_high = addr + length;
}

static struct guest_memory memory(void)
{
        return (struct guest_memory){ .ram = ram, .size = RAM_SIZE, .written = mark_written };
}

static void make_device(struct virtio_blk *d, bool readonly)
{
        struct virtio_blk_config c = { .capacity = CAPACITY, .readonly = readonly, .serial = "test-serial" };
        ck_assert_int_eq(virtio_blk__init(d, &c, memory(), (struct irq_line){ .set_level = line },
                                          &backend), 0);
}

static void setup(void)
{
        memset(ram, 0, sizeof(ram));
        nsubmitted = 0;
        irq_level = false;
        dirty_low = UINT64_MAX;
        dirty_high = 0;
        avail_idx = next_desc = 0;
        backend = (struct block_backend){ .submit = record_submit };
        make_device(&dev, false);
}

static void teardown(void)
{
        virtio_blk__destroy(&dev);
}

static void wr(uint64_t reg, uint32_t v)
{
        ck_assert_int_eq(virtio_blk__io(&dev, reg, (uint8_t *)&v, 4, true), 0);
}

static uint32_t rd(uint64_t reg)
{
        uint32_t v = 0;
        ck_assert_int_eq(virtio_blk__io(&dev, reg, (uint8_t *)&v, 4, false), 0);
        return v;
}

static uint64_t config64(uint64_t offset)
{
        uint64_t v = 0;
        ck_assert_int_eq(virtio_blk__io(&dev, 0x100 + offset, (uint8_t *)&v, 8, false), 0);
        return v;
}

/* What a driver does up to DRIVER_OK, with a queue of num entries. */
static void bring_up(uint32_t num, uint64_t features)
{
        wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
        wr(0x024, 0);
        wr(0x020, (uint32_t)features);
        wr(0x024, 1);
        wr(0x020, (uint32_t)(features >> 32));
        wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
        wr(0x030, 0);
        wr(0x038, num);
        wr(0x080, DESC);
        wr(0x090, AVAIL);
        wr(0x0a0, USED);
        wr(0x044, 1);
        wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                  VIRTIO_STATUS_DRIVER_OK);
}

static void bring_up_default(void)
{
        bring_up(QSIZE, VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD);
        ck_assert_uint_eq(rd(0x070) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
}

static void put_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
        uint8_t *d = ram + DESC + 16u * i;
        memcpy(d, &addr, 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
}

static void make_available(uint16_t head)
{
        memcpy(ram + AVAIL + 4 + 2u * (avail_idx % QSIZE), &head, 2);
        avail_idx++;
        memcpy(ram + AVAIL + 2, &avail_idx, 2);
}

static uint16_t used_idx(void)
{
        uint16_t v;
        memcpy(&v, ram + USED + 2, 2);
        return v;
}

static void used_elem(unsigned n, uint32_t *id, uint32_t *len)
{
        memcpy(id, ram + USED + 4 + 8u * (n % QSIZE), 4);
        memcpy(len, ram + USED + 8 + 8u * (n % QSIZE), 4);
}

/* A request as Linux lays it out: header, data (one descriptor), status.
 * Returns the head descriptor's index; request k uses HDR + 16k and
 * STATUS + k. */
static uint16_t request(unsigned k, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
                        bool device_writes)
{
        uint8_t *h = ram + HDR + 16u * k;
        memset(h, 0, 16);
        memcpy(h, &type, 4);
        memcpy(h + 8, &sector, 8);
        ram[STATUS + k] = 0xee;
        uint16_t head = next_desc;
        uint16_t i = next_desc;
        put_desc(i, HDR + 16u * k, 16, 1, (uint16_t)(i + 1));
        i++;
        if (len) {
                put_desc(i, data, len, (uint16_t)(1 | (device_writes ? 2 : 0)), (uint16_t)(i + 1));
                i++;
        }
        put_desc(i, STATUS + k, 1, 2, 0);
        next_desc = (uint16_t)((i + 1) % QSIZE);
        return head;
}

static void notify(void)
{
        wr(0x050, 0);
}

START_TEST(identity_and_features)
{
        ck_assert_uint_eq(rd(0x000), 0x74726976);
        ck_assert_uint_eq(rd(0x004), 2);
        ck_assert_uint_eq(rd(0x008), 2);
        wr(0x014, 1);
        ck_assert_uint_eq(rd(0x010) & 1, 1); /* VERSION_1 is bit 32 */
        wr(0x014, 0);
        uint32_t low = rd(0x010);
        ck_assert_uint_ne(low & VIRTIO_BLK_F_FLUSH, 0);
        ck_assert_uint_ne(low & VIRTIO_BLK_F_SEG_MAX, 0);
        ck_assert_uint_ne(low & VIRTIO_BLK_F_BLK_SIZE, 0);
        ck_assert_uint_eq(low & VIRTIO_BLK_F_RO, 0);
        ck_assert_uint_eq(rd(0x034), VIRTQ_NUM_MAX);
        wr(0x030, 1);
        ck_assert_uint_eq(rd(0x034), 0); /* one queue only */
}
END_TEST

START_TEST(config_space)
{
        ck_assert_uint_eq(config64(0), CAPACITY);
        uint32_t half = 0xffffffff;
        ck_assert_int_eq(virtio_blk__io(&dev, 0x104, (uint8_t *)&half, 4, false), 0);
        ck_assert_uint_eq(half, 0);
        ck_assert_uint_eq((uint32_t)config64(20), 512);          /* blk_size */
        ck_assert_uint_eq((uint32_t)config64(12), VIRTIO_BLK_SEG_MAX);
        ck_assert_uint_eq(config64(0x200 - 0x100 - 8), 0);       /* past the fields: zeros */
        uint8_t bad[3];
        ck_assert_int_ne(virtio_blk__io(&dev, 0x100, bad, 3, false), 0);
        ck_assert_int_ne(virtio_blk__io(&dev, 0x070, bad, 1, false), 0);
}
END_TEST

START_TEST(readonly_disk_offers_ro_not_discard)
{
        virtio_blk__destroy(&dev);
        make_device(&dev, true);
        uint32_t low = rd(0x010);
        ck_assert_uint_ne(low & VIRTIO_BLK_F_RO, 0);
        ck_assert_uint_eq(low & VIRTIO_BLK_F_DISCARD, 0);
        bring_up(QSIZE, VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO);
        make_available(request(0, VIRTIO_BLK_T_OUT, 0, DATA, 512, false));
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(features_ok_needs_version_1_and_offered_bits)
{
        bring_up(QSIZE, VIRTIO_BLK_F_FLUSH); /* a legacy driver */
        ck_assert_uint_eq(rd(0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
        wr(0x070, 0);
        bring_up(QSIZE, VIRTIO_F_VERSION_1 | (1ull << 20)); /* not offered */
        ck_assert_uint_eq(rd(0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
        wr(0x070, 0);
        ck_assert_uint_eq(rd(0x070), 0);
        bring_up_default();
        ck_assert_uint_eq(rd(0x044), 1);
}
END_TEST

START_TEST(read_completes_only_as_an_event)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_IN, 5, DATA, 1024, true));
        notify();
        ck_assert_uint_eq(nsubmitted, 1);
        ck_assert_uint_eq(submitted[0].op, BLOCK_OP_READ);
        ck_assert_uint_eq(submitted[0].sector, 5);
        ck_assert_uint_eq(submitted[0].sectors, 2);
        ck_assert_uint_eq(used_idx(), 0);
        ck_assert(!irq_level);
        ck_assert_uint_eq(virtio_blk__outstanding(&dev), 1);
        ck_assert_uint_eq(virtio_blk__read_length(&dev, submitted[0].id), 1024);

        uint8_t data[1024];
        memset(data, 0xab, sizeof(data));
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, data, 1024), 0);
        ck_assert_mem_eq(ram + DATA, data, 1024);
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
        ck_assert_uint_eq(used_idx(), 1);
        uint32_t id, len;
        used_elem(0, &id, &len);
        ck_assert_uint_eq(id, 0);
        ck_assert_uint_eq(len, 1025);
        ck_assert(irq_level);
        ck_assert_uint_eq(rd(0x060), VIRTIO_INT_USED);
        wr(0x064, VIRTIO_INT_USED);
        ck_assert(!irq_level);
        ck_assert_uint_eq(virtio_blk__outstanding(&dev), 0);
        /* The VMM's writes were reported: data, status and used ring. */
        ck_assert_uint_le(dirty_low, USED + 2);
        ck_assert_uint_ge(dirty_high, DATA + 1024);
}
END_TEST

START_TEST(write_split_over_descriptors_is_gathered)
{
        bring_up_default();
        /* header and the first half of the data in one descriptor, the
         * second half in another, the status in a third */
        uint8_t *h = ram + DATA;
        uint32_t type = VIRTIO_BLK_T_OUT;
        uint64_t sector = 3;
        memcpy(h, &type, 4);
        memcpy(h + 8, &sector, 8);
        memset(h + 16, 'a', 256);
        memset(ram + DATA + 0x1000, 'b', 256);
        put_desc(0, DATA, 16 + 256, 1, 1);
        put_desc(1, DATA + 0x1000, 256, 1, 2);
        put_desc(2, STATUS, 1, 2, 0);
        make_available(0);
        notify();
        ck_assert_uint_eq(nsubmitted, 1);
        ck_assert_uint_eq(submitted[0].op, BLOCK_OP_WRITE);
        ck_assert_uint_eq(submitted[0].sectors, 1);
        ck_assert_uint_eq(submitted_data[0][0], 'a');
        ck_assert_uint_eq(submitted_data[0][255], 'a');
        ck_assert_uint_eq(submitted_data[0][256], 'b');
        ck_assert_uint_eq(submitted_data[0][511], 'b');
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, NULL, 0), 0);
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
        uint32_t id, len;
        used_elem(0, &id, &len);
        ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(several_in_flight_complete_in_any_order)
{
        bring_up_default();
        uint16_t a = request(0, VIRTIO_BLK_T_IN, 0, DATA, 512, true);
        uint16_t b = request(1, VIRTIO_BLK_T_OUT, 1, DATA + 0x1000, 512, false);
        uint16_t c = request(2, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
        make_available(a);
        make_available(b);
        make_available(c);
        notify(); /* one notify for three */
        ck_assert_uint_eq(nsubmitted, 3);
        ck_assert_uint_eq(submitted[2].op, BLOCK_OP_FLUSH);
        ck_assert_uint_eq(virtio_blk__outstanding(&dev), 3);
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[2].id, VIRTIO_BLK_S_OK, NULL, 0), 0);
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[1].id, VIRTIO_BLK_S_IOERR, NULL, 0), 0);
        uint8_t data[512] = { 1 };
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, data, 512), 0);
        ck_assert_uint_eq(used_idx(), 3);
        uint32_t id, len;
        used_elem(0, &id, &len);
        ck_assert_uint_eq(id, c);
        used_elem(1, &id, &len);
        ck_assert_uint_eq(id, b);
        ck_assert_uint_eq(ram[STATUS + 1], VIRTIO_BLK_S_IOERR);
        used_elem(2, &id, &len);
        ck_assert_uint_eq(id, a);
        /* a completion applied twice is stale the second time */
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, data, 512), -ENOENT);
        ck_assert_uint_eq(used_idx(), 3);
}
END_TEST

START_TEST(get_id_is_answered_at_once)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true));
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
        ck_assert_str_eq((char *)ram + DATA, "test-serial");
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
        ck_assert(irq_level);
}
END_TEST

START_TEST(bad_requests_get_an_error_status)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_IN, CAPACITY - 1, DATA, 1024, true)); /* past the end */
        make_available(request(1, VIRTIO_BLK_T_IN, 0, DATA, 100, true));              /* not whole sectors */
        make_available(request(2, 99, 0, DATA, 512, true));                           /* unknown type */
        make_available(request(3, VIRTIO_BLK_T_OUT, UINT64_MAX, DATA, 512, false));   /* overflows */
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
        ck_assert_uint_eq(ram[STATUS + 0], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(ram[STATUS + 1], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(ram[STATUS + 2], VIRTIO_BLK_S_UNSUPP);
        ck_assert_uint_eq(ram[STATUS + 3], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(used_idx(), 4);
        ck_assert_uint_eq(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

START_TEST(oversized_request_is_refused)
{
        virtio_blk__destroy(&dev);
        struct virtio_blk_config c = { .capacity = 1u << 20 };
        ck_assert_int_eq(virtio_blk__init(&dev, &c, memory(), (struct irq_line){ .set_level = line },
                                          &backend), 0);
        bring_up_default();
        /* 8 MiB claimed by a descriptor that lies in RAM only in length terms:
         * rejected as a buffer outside RAM before its size matters */
        make_available(request(0, VIRTIO_BLK_T_IN, 0, 0, 8u << 20, true));
        notify();
        ck_assert_uint_ne(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
        ck_assert_uint_eq(nsubmitted, 0);
}
END_TEST

static void expect_broken(void)
{
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
        ck_assert_uint_ne(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
        ck_assert_uint_ne(rd(0x060) & VIRTIO_INT_CONFIG, 0);
        ck_assert(irq_level);
        /* it stays broken until a reset, which clears everything */
        make_available(request(5, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
        wr(0x070, 0);
        ck_assert_uint_eq(rd(0x070), 0);
        ck_assert(!irq_level);
}

START_TEST(buffer_outside_ram_breaks_the_device)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_IN, 0, RAM_SIZE - 256, 512, true));
        expect_broken();
}
END_TEST

START_TEST(looping_chain_breaks_the_device)
{
        bring_up_default();
        put_desc(0, HDR, 16, 1, 1);
        put_desc(1, DATA, 512, 1 | 2, 2);
        put_desc(2, DATA + 512, 512, 1 | 2, 1); /* back to 1: a cycle */
        make_available(0);
        expect_broken();
}
END_TEST

START_TEST(descriptor_index_out_of_range_breaks_the_device)
{
        bring_up_default();
        put_desc(0, HDR, 16, 1, QSIZE);
        make_available(0);
        expect_broken();
}
END_TEST

START_TEST(avail_head_out_of_range_breaks_the_device)
{
        bring_up_default();
        make_available(QSIZE + 3);
        expect_broken();
}
END_TEST

START_TEST(avail_index_jump_breaks_the_device)
{
        bring_up_default();
        uint16_t idx = QSIZE + 1;
        memcpy(ram + AVAIL + 2, &idx, 2);
        expect_broken();
}
END_TEST

START_TEST(readable_after_writable_breaks_the_device)
{
        bring_up_default();
        put_desc(0, HDR, 16, 1, 1);
        put_desc(1, DATA, 512, 1 | 2, 2);
        put_desc(2, STATUS, 1, 0, 0);
        make_available(0);
        expect_broken();
}
END_TEST

START_TEST(indirect_descriptor_breaks_the_device)
{
        bring_up_default();
        put_desc(0, DATA, 64, 4, 0);
        make_available(0);
        expect_broken();
}
END_TEST

START_TEST(reused_head_breaks_the_device)
{
        bring_up_default();
        uint16_t head = request(0, VIRTIO_BLK_T_IN, 0, DATA, 512, true);
        make_available(head);
        notify();
        ck_assert_uint_eq(nsubmitted, 1);
        make_available(head); /* still outstanding */
        notify();
        ck_assert_uint_ne(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
        ck_assert_uint_eq(nsubmitted, 1);
}
END_TEST

START_TEST(overlong_chain_gets_an_error)
{
        bring_up(64, VIRTIO_F_VERSION_1);
        put_desc(0, HDR, 16, 1, 1);
        for (uint16_t i = 1; i < 40; i++)
                put_desc(i, DATA + 512u * i, 512, 1 | 2, (uint16_t)(i + 1));
        put_desc(40, STATUS, 1, 2, 0);
        memcpy(ram + AVAIL + 4, &(uint16_t){ 0 }, 2);
        memcpy(ram + AVAIL + 2, &(uint16_t){ 1 }, 2);
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

START_TEST(queue_size_not_power_of_two_is_refused)
{
        bring_up(12, VIRTIO_F_VERSION_1);
        ck_assert_uint_eq(rd(0x044), 0);
        ck_assert_uint_ne(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
        make_available(request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        notify();
        ck_assert_uint_eq(nsubmitted, 0);
}
END_TEST

START_TEST(queue_outside_ram_is_refused)
{
        wr(0x070, 3);
        wr(0x024, 1);
        wr(0x020, 1);
        wr(0x070, 3 | 8);
        wr(0x038, QSIZE);
        wr(0x080, DESC);
        wr(0x090, AVAIL);
        wr(0x0a0, RAM_SIZE - 8); /* the used ring runs off the end */
        wr(0x044, 1);
        ck_assert_uint_eq(rd(0x044), 0);
        ck_assert_uint_ne(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

START_TEST(reset_makes_completions_stale)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_IN, 0, DATA, 512, true));
        notify();
        wr(0x070, 0);
        ck_assert_uint_eq(virtio_blk__outstanding(&dev), 0);
        uint8_t data[512] = { 0 };
        memset(ram + DATA, 0x11, 512);
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, data, 512), -ENOENT);
        ck_assert_uint_eq(ram[DATA], 0x11); /* no DMA after the reset */
}
END_TEST

START_TEST(read_of_the_wrong_length_is_an_error)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_IN, 0, DATA, 1024, true));
        notify();
        uint8_t data[512] = { 0 };
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, data, 512), -EINVAL);
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(used_idx(), 1);
}
END_TEST

START_TEST(uncertain_completion_of_everything_outstanding)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_OUT, 0, DATA, 512, false));
        make_available(request(1, VIRTIO_BLK_T_IN, 1, DATA + 512, 512, true));
        make_available(request(2, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        notify();
        ck_assert_uint_eq(virtio_blk__complete_all_uncertain(&dev), 3);
        ck_assert_uint_eq(virtio_blk__outstanding(&dev), 0);
        for (unsigned k = 0; k < 3; k++)
                ck_assert_uint_eq(ram[STATUS + k], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(used_idx(), 3);
        ck_assert(irq_level);
        ck_assert_uint_eq(virtio_blk__complete_all_uncertain(&dev), 0);
        /* the primary's completion, had it come, is stale now */
        ck_assert_int_eq(virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, NULL, 0), -ENOENT);
}
END_TEST

START_TEST(discard_one_range)
{
        bring_up_default();
        uint8_t range[16] = { 0 };
        uint64_t sector = 8;
        uint32_t sectors = 16;
        memcpy(range, &sector, 8);
        memcpy(range + 8, &sectors, 4);
        memcpy(ram + DATA, range, 16);
        make_available(request(0, VIRTIO_BLK_T_DISCARD, 0, DATA, 16, false));
        notify();
        ck_assert_uint_eq(nsubmitted, 1);
        ck_assert_uint_eq(submitted[0].op, BLOCK_OP_DISCARD);
        ck_assert_uint_eq(submitted[0].sector, 8);
        ck_assert_uint_eq(submitted[0].sectors, 16);
}
END_TEST

START_TEST(no_interrupt_flag_suppresses_the_interrupt)
{
        bring_up_default();
        uint16_t flags = 1;
        memcpy(ram + AVAIL, &flags, 2);
        make_available(request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false));
        notify();
        virtio_blk__complete(&dev, submitted[0].id, VIRTIO_BLK_S_OK, NULL, 0);
        ck_assert_uint_eq(used_idx(), 1);
        ck_assert(!irq_level);
}
END_TEST

static void two_outstanding(void)
{
        bring_up_default();
        make_available(request(0, VIRTIO_BLK_T_IN, 2, DATA, 512, true));
        make_available(request(1, VIRTIO_BLK_T_OUT, 3, DATA + 0x1000, 512, false));
        notify();
        ck_assert_uint_eq(virtio_blk__outstanding(&dev), 2);
}

START_TEST(state_round_trip_keeps_outstanding_requests)
{
        two_outstanding();
        static struct virtio_blk fresh;
        make_device(&fresh, false);
        check_state_round_trip(&virtio_blk_state_ops, &dev, &fresh);
        ck_assert_uint_eq(virtio_blk__outstanding(&fresh), 2);
        /* the loaded device applies the completion the original would have */
        uint8_t data[512];
        memset(data, 0x5c, sizeof(data));
        ck_assert_int_eq(virtio_blk__complete(&fresh, submitted[0].id, VIRTIO_BLK_S_OK, data, 512), 0);
        ck_assert_uint_eq(ram[DATA + 511], 0x5c);
        ck_assert_uint_eq(ram[STATUS], VIRTIO_BLK_S_OK);
        ck_assert_uint_eq(virtio_blk__complete_all_uncertain(&fresh), 1);
        virtio_blk__destroy(&fresh);
}
END_TEST

START_TEST(state_round_trip_of_whatever_the_driver_wrote)
{
        /* reserved status bits and features never offered, before
         * FEATURES_OK: what the device keeps of them it must load back */
        wr(0x070, 0x33);
        wr(0x024, 0);
        wr(0x020, 0xffffffff);
        static struct virtio_blk fresh;
        make_device(&fresh, false);
        check_state_round_trip(&virtio_blk_state_ops, &dev, &fresh);
        virtio_blk__destroy(&fresh);
}
END_TEST

START_TEST(state_damage_is_rejected)
{
        two_outstanding();
        static struct virtio_blk victim;
        make_device(&victim, false);
        check_state_rejects_damage(&virtio_blk_state_ops, &dev, &victim);
        virtio_blk__destroy(&victim);
}
END_TEST

static void expect_load_refused(struct virtio_blk *victim, const char *why)
{
        struct state_writer w;
        state_writer__init(&w);
        ck_assert_int_eq(virtio_blk__save(&dev, &w), 0);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        ck_assert_int_ne(virtio_blk__load(victim, &r), 0);
        ck_assert_msg(strstr(r.error, why), "error '%s' lacks '%s'", r.error, why);
        state_writer__release(&w);
}

START_TEST(load_refuses_another_disk_and_bad_requests)
{
        two_outstanding();
        static struct virtio_blk other;
        make_device(&other, true);
        expect_load_refused(&other, "read-only disk");
        virtio_blk__destroy(&other);
        /* an outstanding request whose buffer lies outside RAM */
        dev.req[0].seg[0].addr = RAM_SIZE;
        make_device(&other, false);
        expect_load_refused(&other, "outstanding request");
        virtio_blk__destroy(&other);
}
END_TEST

Suite *make_virtio_blk_suite(void)
{
        Suite *s = suite_create("virtio_blk");
        TCase *tc = tcase_create("device");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, identity_and_features);
        tcase_add_test(tc, config_space);
        tcase_add_test(tc, readonly_disk_offers_ro_not_discard);
        tcase_add_test(tc, features_ok_needs_version_1_and_offered_bits);
        tcase_add_test(tc, read_completes_only_as_an_event);
        tcase_add_test(tc, write_split_over_descriptors_is_gathered);
        tcase_add_test(tc, several_in_flight_complete_in_any_order);
        tcase_add_test(tc, get_id_is_answered_at_once);
        tcase_add_test(tc, bad_requests_get_an_error_status);
        tcase_add_test(tc, oversized_request_is_refused);
        tcase_add_test(tc, buffer_outside_ram_breaks_the_device);
        tcase_add_test(tc, looping_chain_breaks_the_device);
        tcase_add_test(tc, descriptor_index_out_of_range_breaks_the_device);
        tcase_add_test(tc, avail_head_out_of_range_breaks_the_device);
        tcase_add_test(tc, avail_index_jump_breaks_the_device);
        tcase_add_test(tc, readable_after_writable_breaks_the_device);
        tcase_add_test(tc, indirect_descriptor_breaks_the_device);
        tcase_add_test(tc, reused_head_breaks_the_device);
        tcase_add_test(tc, overlong_chain_gets_an_error);
        tcase_add_test(tc, queue_size_not_power_of_two_is_refused);
        tcase_add_test(tc, queue_outside_ram_is_refused);
        tcase_add_test(tc, reset_makes_completions_stale);
        tcase_add_test(tc, read_of_the_wrong_length_is_an_error);
        tcase_add_test(tc, uncertain_completion_of_everything_outstanding);
        tcase_add_test(tc, discard_one_range);
        tcase_add_test(tc, no_interrupt_flag_suppresses_the_interrupt);
        tcase_add_test(tc, state_round_trip_keeps_outstanding_requests);
        tcase_add_test(tc, state_round_trip_of_whatever_the_driver_wrote);
        tcase_add_test(tc, state_damage_is_rejected);
        tcase_add_test(tc, load_refuses_another_disk_and_bad_requests);
        suite_add_tcase(s, tc);
        return s;
}
