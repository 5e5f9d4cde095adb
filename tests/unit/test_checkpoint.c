/* Checkpoint epochs' state: what the recorder encodes, a replay decodes
 * into the same RAM pages, devices and vCPU, and anything damaged is
 * refused with a reason. */
#include <stdlib.h>
#include <string.h>

#include "../../vmm/checkpoint.h"
#include "fake_environment.h"
#include "suites.h"

#define RAM_SIZE (4ull << 20)
#define PAGES (RAM_SIZE / KVM_VM_PAGE_SIZE)

static struct fake_environment fake_clock;
static struct machine *recorder, *replayer;
static struct vcpu_state *vcpu, *loaded;
static uint64_t dirty[PAGES / 64];
static struct checkpoint_capture capture;
static uint8_t *state;
static size_t length;
static char err[512];

static struct machine *new_machine(void)
{
        struct machine *m = malloc(sizeof(*m));
        ck_assert_int_eq(machine__create(m, RAM_SIZE, &fake_clock.env, -1, "test", err, sizeof(err)), 0);
        return m;
}

static void mark_written(uint64_t page, uint8_t fill)
{
        memset(recorder->ram + page * KVM_VM_PAGE_SIZE, fill, KVM_VM_PAGE_SIZE);
        dirty[page / 64] |= 1ull << (page % 64);
}

static void setup(void)
{
        fake_environment__init(&fake_clock);
        recorder = new_machine();
        replayer = new_machine();
        vcpu = calloc(1, sizeof(*vcpu));
        loaded = calloc(1, sizeof(*loaded));
        memset(dirty, 0, sizeof(dirty));
        mark_written(0, 0x11);
        mark_written(300, 0x22);
        mark_written(PAGES - 1, 0x33);
        recorder->ram[5 * KVM_VM_PAGE_SIZE] = 0x44; /* written, but not logged dirty */
        recorder->pit.channel[0].reload = 11932;
        recorder->uart.scr = 0x5a;
        vcpu->regs.rip = 0x200123;
        vcpu->msr_count = 1;
        vcpu->msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 123456789 };
        ck_assert_int_eq(checkpoint__encode_state(recorder, vcpu, dirty, &capture), 0);
        ck_assert_uint_eq(capture.pages, 3);
        state = capture.state;
        length = capture.length;
        /* What the replayer holds before: every page different from the
         * recorder's, so a page copied that should not have been shows. */
        memset(replayer->ram, 0x99, RAM_SIZE);
}

static void teardown(void)
{
        machine__destroy(recorder);
        machine__destroy(replayer);
        free(recorder);
        free(replayer);
        free(vcpu);
        free(loaded);
        free(state);
}

START_TEST(round_trip_carries_dirty_pages_devices_and_vcpu)
{
        ck_assert_msg(checkpoint__decode(replayer, state, length, loaded, err, sizeof(err)) == 0,
                      "%s", err);
        uint8_t untouched[KVM_VM_PAGE_SIZE];
        memset(untouched, 0x99, sizeof(untouched));
        for (uint64_t page = 0; page < PAGES; page++) {
                bool was_dirty = dirty[page / 64] >> (page % 64) & 1;
                const uint8_t *want = was_dirty ? recorder->ram + page * KVM_VM_PAGE_SIZE
                                                : untouched;
                ck_assert_msg(memcmp(replayer->ram + page * KVM_VM_PAGE_SIZE, want,
                                     KVM_VM_PAGE_SIZE) == 0,
                              "page %llu (%s) differs", (unsigned long long)page,
                              was_dirty ? "dirty" : "not dirty");
        }
        /* Written but not logged dirty: does not travel. */
        ck_assert_uint_eq(replayer->ram[5 * KVM_VM_PAGE_SIZE], 0x99);
        ck_assert_uint_eq(replayer->pit.channel[0].reload, 11932);
        ck_assert_uint_eq(replayer->uart.scr, 0x5a);
        ck_assert_mem_eq(loaded, vcpu, sizeof(*vcpu));
}
END_TEST

/* The pages a checkpoint writes are the VMM's writes, which KVM does not
 * log: they must be marked for the memory hash. */
START_TEST(decoded_pages_are_marked_for_the_memory_hash)
{
        memset(replayer->dirty.for_hash, 0, replayer->dirty.words * sizeof(uint64_t));
        ck_assert_int_eq(checkpoint__decode(replayer, state, length, loaded, err, sizeof(err)), 0);
        ck_assert_uint_eq(dirty_pages__count(replayer->dirty.for_hash, replayer->dirty.words), 3);
        ck_assert(replayer->dirty.for_hash[300 / 64] >> (300 % 64) & 1);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
        for (size_t n = 0; n < length; n++) {
                ck_assert_msg(checkpoint__decode(replayer, state, n, loaded, err, sizeof(err)) != 0,
                              "a checkpoint cut to %zu of %zu bytes was accepted", n, length);
                ck_assert_ptr_null(strchr(err, '\n'));
        }
}
END_TEST

/* zlib's Adler-32 and the records' CRCs catch every change that matters;
 * a few bits of a deflate stream are slack (a change there decodes to the
 * same bytes), and those may pass, to exactly the same state. */
START_TEST(every_corruption_is_rejected_or_harmless)
{
        struct machine *clean = new_machine();
        memset(clean->ram, 0x99, RAM_SIZE); /* as the replayer's */
        ck_assert_int_eq(checkpoint__decode(clean, state, length, vcpu, err, sizeof(err)), 0);
        for (size_t i = 0; i < length; i++) {
                state[i] ^= 0x04;
                if (checkpoint__decode(replayer, state, length, loaded, err, sizeof(err)) == 0) {
                        ck_assert_msg(memcmp(replayer->ram, clean->ram, RAM_SIZE) == 0 &&
                                      memcmp(loaded, vcpu, sizeof(*vcpu)) == 0,
                                      "byte %zu changed, a different state was accepted", i);
                }
                state[i] ^= 0x04;
        }
        machine__destroy(clean);
        free(clean);
}
END_TEST

START_TEST(a_page_outside_ram_is_rejected)
{
        struct machine *small = malloc(sizeof(*small));
        ck_assert_int_eq(machine__create(small, RAM_SIZE / 2, &fake_clock.env, -1, "t", err, sizeof(err)), 0);
        ck_assert_int_ne(checkpoint__decode(small, state, length, loaded, err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, "page"), "%s", err);
        machine__destroy(small);
        free(small);
}
END_TEST

Suite *make_checkpoint_suite(void)
{
        Suite *s = suite_create("checkpoint");
        TCase *tc = tcase_create("state");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, round_trip_carries_dirty_pages_devices_and_vcpu);
        tcase_add_test(tc, decoded_pages_are_marked_for_the_memory_hash);
        tcase_add_test(tc, every_truncation_is_rejected);
        tcase_add_test(tc, every_corruption_is_rejected_or_harmless);
        tcase_add_test(tc, a_page_outside_ram_is_rejected);
        suite_add_tcase(s, tc);
        return s;
}
