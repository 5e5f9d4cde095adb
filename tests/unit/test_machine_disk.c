/* The machine's disk, end to end without KVM: a driver's request through
 * the MMIO bus reaches the file by the backend's threads, and comes back
 * by machine__apply_pending_io as guest RAM written (and marked dirty for
 * checkpoints), a used ring entry and IRQ 5 at the PIC. A backup's disk
 * (not connected) keeps its requests outstanding until P7. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/machine.h"
#include "fake_environment.h"
#include "suites.h"

#define BASE MACHINE_VIRTIO_BLK_BASE
#define DESC 0x100000
#define AVAIL 0x101000
#define USED 0x102000
#define HDR 0x103000
#define STATUS 0x104000
#define DATA 0x110000

static struct fake_environment fake_clock;
static struct machine m;
static char path[64];
static uint16_t avail_idx;

static void make_file(void)
{
        strcpy(path, "/tmp/ftvmm-machine-disk-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, 64 << 10), 0);
        ck_assert_int_eq(pwrite(fd, "sector-three", 12, 3 * 512), 12);
        close(fd);
}

static void create(bool connect)
{
        char err[256];
        fake_environment__init(&fake_clock);
        m = MACHINE_UNCREATED;
        ck_assert_msg(machine__create(&m, 4u << 20, &fake_clock.env, -1, "test", err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert_msg(machine__add_disk(&m, path, connect, err, sizeof(err)) == 0, "%s", err);
        avail_idx = 0;
}

static void setup(void)
{
        make_file();
}

static void teardown(void)
{
        machine__destroy(&m);
        unlink(path);
}

static void wr(uint64_t reg, uint32_t v)
{
        ck_assert_int_eq(io_bus__access(&m.mmio, BASE + reg, (uint8_t *)&v, 4, true), 0);
}

static void bring_up(void)
{
        wr(0x070, 3);
        wr(0x024, 1);
        wr(0x020, 1);
        wr(0x070, 3 | 8);
        wr(0x038, 16);
        wr(0x080, DESC);
        wr(0x090, AVAIL);
        wr(0x0a0, USED);
        wr(0x044, 1);
        wr(0x070, 3 | 8 | 4);
        /* the guest's PIC: vectors 0x20/0x28, everything unmasked */
        static const uint8_t init[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 4 }, { 0x21, 1 },
                                           { 0x21, 0x00 } };
        for (unsigned i = 0; i < 5; i++)
                ck_assert_int_eq(io_bus__access(&m.pio, init[i][0], (uint8_t *)&init[i][1], 1, true), 0);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
        uint8_t *d = m.ram + DESC + 16 * i;
        memcpy(d, &addr, 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
}

/* Request k on descriptors 3k..3k+2, made available and notified. */
static void request(unsigned k, uint32_t type, uint64_t sector, uint64_t data)
{
        uint8_t *h = m.ram + HDR + 16 * k;
        memset(h, 0, 16);
        memcpy(h, &type, 4);
        memcpy(h + 8, &sector, 8);
        m.ram[STATUS + k] = 0xee;
        put_desc(3 * k, HDR + 16 * k, 16, 1, (uint16_t)(3 * k + 1));
        put_desc(3 * k + 1, data, 512, (uint16_t)(1 | (type == VIRTIO_BLK_T_IN ? 2 : 0)),
                 (uint16_t)(3 * k + 2));
        put_desc(3 * k + 2, STATUS + k, 1, 2, 0);
        uint16_t head = (uint16_t)(3 * k);
        memcpy(m.ram + AVAIL + 4 + 2 * (avail_idx % 16), &head, 2);
        avail_idx++;
        memcpy(m.ram + AVAIL + 2, &avail_idx, 2);
        wr(0x050, 0);
}

static uint16_t used_idx(void)
{
        uint16_t v;
        memcpy(&v, m.ram + USED + 2, 2);
        return v;
}

static uint64_t in_10ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 10000000ull;
}

/* What the live session does for a halted guest: wait, then apply. */
static void wait_and_apply(unsigned count)
{
        unsigned applied = 0;
        for (int tries = 0; tries < 500 && applied < count; tries++) {
                machine__wait_io_until(&m, in_10ms());
                applied += (unsigned)machine__apply_pending_io(&m);
        }
        ck_assert_uint_eq(applied, count);
}

static bool dirty(uint64_t addr)
{
        uint64_t page = addr / 4096;
        return m.dirty.for_checkpoint[page / 64] & (1ull << (page % 64));
}

START_TEST(a_read_reaches_guest_ram_as_an_event)
{
        create(true);
        const struct io_range *r = io_bus__find(&m.mmio, BASE, 4);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->name, "virtio-blk");
        bring_up();
        memset(m.dirty.for_checkpoint, 0, m.dirty.words * 8);
        request(0, VIRTIO_BLK_T_IN, 3, DATA);
        ck_assert_uint_eq(machine__outstanding_io(&m), 1);
        ck_assert_uint_eq(used_idx(), 0); /* nothing before the event is applied */
        wait_and_apply(1);
        ck_assert_mem_eq(m.ram + DATA, "sector-three", 12);
        ck_assert_uint_eq(m.ram[STATUS], VIRTIO_BLK_S_OK);
        ck_assert_uint_eq(used_idx(), 1);
        ck_assert_uint_eq(machine__outstanding_io(&m), 0);
        ck_assert(dirty(DATA) && dirty(STATUS) && dirty(USED));
        ck_assert(pic8259__interrupt_pending(&m.pic));
        ck_assert_int_eq(pic8259__acknowledge(&m.pic), 0x20 + MACHINE_VIRTIO_BLK_IRQ);
}
END_TEST

START_TEST(a_write_reaches_the_file)
{
        create(true);
        bring_up();
        memcpy(m.ram + DATA, "written-by-the-guest", 20);
        request(0, VIRTIO_BLK_T_OUT, 5, DATA);
        request(1, VIRTIO_BLK_T_FLUSH, 0, DATA);
        wait_and_apply(2);
        ck_assert_uint_eq(m.ram[STATUS], VIRTIO_BLK_S_OK);
        ck_assert_uint_eq(m.ram[STATUS + 1], VIRTIO_BLK_S_OK);
        char buf[20];
        int fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, buf, 20, 5 * 512), 20);
        close(fd);
        ck_assert_mem_eq(buf, "written-by-the-guest", 20);
}
END_TEST

START_TEST(a_backup_disk_keeps_requests_outstanding_until_p7)
{
        create(false);
        bring_up();
        memcpy(m.ram + DATA, "never-written", 13);
        request(0, VIRTIO_BLK_T_OUT, 5, DATA);
        usleep(20000);
        ck_assert_int_eq(machine__apply_pending_io(&m), 0);
        ck_assert_uint_eq(machine__outstanding_io(&m), 1);
        ck_assert_uint_eq(machine__settle_outstanding_io(&m, UNCERTAIN_ERROR), 1);
        ck_assert_uint_eq(m.ram[STATUS], VIRTIO_BLK_S_IOERR);
        ck_assert_uint_eq(used_idx(), 1);
        char buf[13] = { 0 };
        int fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, buf, 13, 5 * 512), 13);
        ck_assert(memcmp(buf, "never-written", 13) != 0); /* the backup never touched it */
        close(fd);
        /* promoted: the reissue goes to the file */
        char err[256];
        ck_assert_msg(machine__connect_disk(&m, err, sizeof(err)) == 0, "%s", err);
        request(1, VIRTIO_BLK_T_OUT, 5, DATA);
        wait_and_apply(1);
        ck_assert_uint_eq(m.ram[STATUS + 1], VIRTIO_BLK_S_OK);
        fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, buf, 13, 5 * 512), 13);
        close(fd);
        ck_assert_mem_eq(buf, "never-written", 13);
}
END_TEST

static void expect_in_file(uint64_t sector, const char *text, bool there)
{
        char buf[64] = { 0 };
        size_t n = strlen(text);
        int fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, buf, n, (off_t)(sector * 512)), (ssize_t)n);
        close(fd);
        ck_assert_msg((memcmp(buf, text, n) == 0) == there, "sector %llu %s '%s'",
                      (unsigned long long)sector, there ? "lacks" : "holds", text);
}

/* P7 by default: the promoted replica performs the outstanding requests
 * itself, from guest memory, and the guest sees ordinary completions. */
START_TEST(p7_reissues_what_was_outstanding_from_guest_memory)
{
        create(false);
        bring_up();
        memcpy(m.ram + DATA, "reissued-write", 14);
        request(0, VIRTIO_BLK_T_OUT, 7, DATA);
        request(1, VIRTIO_BLK_T_IN, 3, DATA + 4096);
        request(2, VIRTIO_BLK_T_FLUSH, 0, DATA);
        usleep(20000);
        ck_assert_uint_eq(machine__outstanding_io(&m), 3);
        expect_in_file(7, "reissued-write", false);
        char err[256];
        ck_assert_msg(machine__connect_disk(&m, err, sizeof(err)) == 0, "%s", err);
        ck_assert_uint_eq(machine__settle_outstanding_io(&m, UNCERTAIN_REISSUE), 3);
        wait_and_apply(3);
        ck_assert_uint_eq(machine__outstanding_io(&m), 0);
        for (int i = 0; i < 3; i++)
                ck_assert_uint_eq(m.ram[STATUS + i], VIRTIO_BLK_S_OK);
        expect_in_file(7, "reissued-write", true);
        ck_assert_mem_eq(m.ram + DATA + 4096, "sector-three", 12);
        ck_assert_uint_eq(m.disk->device.counters.reissued, 3);
        ck_assert_uint_eq(m.disk->device.counters.uncertain, 0);
}
END_TEST

static struct held_output *held[8];
static unsigned held_count;

static void hold_it(void *context, struct held_output *h)
{
        (void)context;
        held[held_count++] = h;
}

/* The output rule for the disk: a held write reaches the file only when
 * released; a read never waits; a discarded one never lands. */
START_TEST(held_writes_reach_the_file_only_when_released)
{
        create(true);
        held_count = 0;
        machine__hold_disk_outputs(&m, hold_it, NULL);
        bring_up();
        memcpy(m.ram + DATA, "held-write", 10);
        memcpy(m.ram + DATA + 4096, "dropped-write", 13);
        request(0, VIRTIO_BLK_T_OUT, 9, DATA);
        request(1, VIRTIO_BLK_T_OUT, 11, DATA + 4096);
        request(2, VIRTIO_BLK_T_IN, 3, DATA + 8192);
        ck_assert_uint_eq(held_count, 2);
        wait_and_apply(1); /* the read */
        ck_assert_mem_eq(m.ram + DATA + 8192, "sector-three", 12);
        usleep(20000);
        expect_in_file(9, "held-write", false);
        ck_assert_uint_eq(machine__outstanding_io(&m), 2);
        held[0]->release(held[0]);
        held[1]->discard(held[1]);
        wait_and_apply(1);
        expect_in_file(9, "held-write", true);
        expect_in_file(11, "dropped-write", false);
        ck_assert(machine__disk_idle(&m, 1000));
        ck_assert_uint_eq(block_file__in_flight(&m.disk->file), 0);
}
END_TEST

START_TEST(disk_errors_at_creation)
{
        char err[256];
        fake_environment__init(&fake_clock);
        m = MACHINE_UNCREATED;
        ck_assert_int_eq(machine__create(&m, 4u << 20, &fake_clock.env, -1, "test", err, sizeof(err)), 0);
        ck_assert_int_eq(machine__add_disk(&m, "/nonexistent.img", true, err, sizeof(err)), 66);
        ck_assert_ptr_nonnull(strstr(err, "/nonexistent.img"));
        machine__destroy(&m);
        m = MACHINE_UNCREATED;
        ck_assert_int_eq(machine__create(&m, 4u << 20, &fake_clock.env, -1, "test", err, sizeof(err)), 0);
        ck_assert_int_eq(machine__add_disk(&m, "x.img,bogus", true, err, sizeof(err)), 64);
}
END_TEST

Suite *make_machine_disk_suite(void)
{
        Suite *s = suite_create("machine_disk");
        TCase *tc = tcase_create("disk");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, a_read_reaches_guest_ram_as_an_event);
        tcase_add_test(tc, a_write_reaches_the_file);
        tcase_add_test(tc, a_backup_disk_keeps_requests_outstanding_until_p7);
        tcase_add_test(tc, p7_reissues_what_was_outstanding_from_guest_memory);
        tcase_add_test(tc, held_writes_reach_the_file_only_when_released);
        tcase_add_test(tc, disk_errors_at_creation);
        suite_add_tcase(s, tc);
        return s;
}
