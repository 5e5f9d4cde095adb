#include <stdlib.h>
#include <zlib.h>
#include <string.h>

#include "../../vmm/snapshot.h"
#include "fake_environment.h"
#include "state_checks.h"
#include "suites.h"

#define RAM_SIZE (4ull << 20)

STATE_OPS(struct vcpu_state, vcpu_state);

static struct fake_environment fake_clock;
static struct machine *machine;
static struct vcpu_state *vcpu;
static char err[512];

static struct machine *new_machine(void)
{
        struct machine *m = malloc(sizeof(*m));
        ck_assert_int_eq(machine__create(m, RAM_SIZE, &fake_clock.env, -1, "test", err, sizeof(err)), 0);
        return m;
}

static void free_machine(struct machine *m)
{
        machine__destroy(m);
        free(m);
}

static void setup(void)
{
        fake_environment__init(&fake_clock);
        fake_clock.monotonic_ns = 5000000000ull;
        machine = new_machine();
        vcpu = calloc(1, sizeof(*vcpu));
        /* A recognisable machine: RAM contents, device registers, vCPU state. */
        memcpy(machine->ram + 0x100000, "guest code", 10);
        machine->ram[RAM_SIZE - 1] = 0xee;
        machine->position = 1234;
        machine->pit.channel[0].reload = 11932;
        machine->uart.scr = 0x5a;
        vcpu->regs.rip = 0x100abc;
        vcpu->sregs.cr0 = 0x80010011;
        vcpu->msr_count = 2;
        vcpu->msrs[0] = (struct kvm_msr_entry){ .index = 0x1b, .data = 0xfee00000 };
        vcpu->msrs[1] = (struct kvm_msr_entry){ .index = 0xc0000080, .data = 0x500 };
}

static void teardown(void)
{
        free_machine(machine);
        free(vcpu);
}

static void encode(struct state_writer *w)
{
        state_writer__init(w);
        ck_assert_int_eq(snapshot__encode(machine, vcpu, w), 0);
}

START_TEST(round_trip_restores_everything)
{
        struct state_writer w;
        encode(&w);
        uint64_t ram_size;
        ck_assert_int_eq(snapshot__ram_size(w.buf, w.length, &ram_size, err, sizeof(err)), 0);
        ck_assert_uint_eq(ram_size, RAM_SIZE);
        struct machine *copy = new_machine();
        struct vcpu_state *loaded = calloc(1, sizeof(*loaded));
        struct snapshot_extras extras;
        ck_assert_msg(snapshot__decode(w.buf, w.length, copy, loaded, &extras, err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert_mem_eq(copy->ram, machine->ram, RAM_SIZE);
        ck_assert_uint_eq(copy->position, 1234);
        ck_assert_uint_eq(copy->pit.channel[0].reload, 11932);
        ck_assert_uint_eq(copy->uart.scr, 0x5a);
        ck_assert_mem_eq(loaded, vcpu, sizeof(*vcpu));
        free(loaded);
        free_machine(copy);
        state_writer__release(&w);
}
END_TEST

START_TEST(mostly_empty_ram_compresses)
{
        struct state_writer w;
        encode(&w);
        ck_assert_uint_lt(w.length, RAM_SIZE / 50);
        state_writer__release(&w);
}
END_TEST

static struct snapshot_extras extras;

static void expect_decode_fails(const uint8_t *buf, size_t length, const char *fragment)
{
        struct machine *copy = new_machine();
        struct vcpu_state *loaded = calloc(1, sizeof(*loaded));
        ck_assert_int_ne(snapshot__decode(buf, length, copy, loaded, &extras, err, sizeof(err)), 0);
        if (fragment)
                ck_assert_msg(strstr(err, fragment), "error '%s' lacks '%s'", err, fragment);
        ck_assert_ptr_null(strchr(err, '\n'));
        free(loaded);
        free_machine(copy);
}

/* Decoding into one reused machine: a fresh 4 MiB machine per cut would
 * make this test take minutes under the sanitizers. */
static struct machine *reused;
static struct vcpu_state *reused_vcpu;

static bool decodes(const uint8_t *buf, size_t length)
{
        return snapshot__decode(buf, length, reused, reused_vcpu, &extras, err, sizeof(err)) == 0;
}

START_TEST(every_truncation_is_rejected)
{
        struct state_writer w;
        encode(&w);
        reused = new_machine();
        reused_vcpu = calloc(1, sizeof(*reused_vcpu));
        for (size_t n = 0; n < w.length; n++) {
                ck_assert_msg(!decodes(w.buf, n), "cut to %zu of %zu bytes, accepted", n, w.length);
                ck_assert_ptr_null(strchr(err, '\n'));
        }
        expect_decode_fails(w.buf, w.length - 1, "truncated");
        free(reused_vcpu);
        free_machine(reused);
        state_writer__release(&w);
}
END_TEST

START_TEST(every_corruption_is_rejected)
{
        struct state_writer w;
        encode(&w);
        reused = new_machine();
        reused_vcpu = calloc(1, sizeof(*reused_vcpu));
        for (size_t i = 0; i < w.length; i++) {
                w.buf[i] ^= 0x20;
                ck_assert_msg(!decodes(w.buf, w.length), "byte %zu of %zu changed, accepted", i,
                              w.length);
                w.buf[i] ^= 0x20;
        }
        free(reused_vcpu);
        free_machine(reused);
        state_writer__release(&w);
}
END_TEST

START_TEST(wrong_magic_version_and_size)
{
        struct state_writer w;
        encode(&w);
        w.buf[0] = 'X';
        expect_decode_fails(w.buf, w.length, "not an ftvmm snapshot");
        w.buf[0] = 'F';
        w.buf[8] = 99;
        expect_decode_fails(w.buf, w.length, "format version 99");
        w.buf[8] = SNAPSHOT_VERSION;
        struct machine *bigger = malloc(sizeof(*bigger));
        ck_assert_int_eq(machine__create(bigger, 2 * RAM_SIZE, &fake_clock.env, -1, "t", err, sizeof(err)), 0);
        struct vcpu_state *loaded = calloc(1, sizeof(*loaded));
        ck_assert_int_ne(snapshot__decode(w.buf, w.length, bigger, loaded, &extras, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(err, "RAM size"));
        free(loaded);
        free_machine(bigger);
        state_writer__release(&w);
}
END_TEST

START_TEST(trailing_bytes_are_rejected)
{
        struct state_writer w;
        encode(&w);
        uint8_t *longer = malloc(w.length + 3);
        memcpy(longer, w.buf, w.length);
        memset(longer + w.length, 0, 3);
        expect_decode_fails(longer, w.length + 3, "after its last record");
        free(longer);
        state_writer__release(&w);
}
END_TEST

START_TEST(vcpu_record_round_trip_and_damage)
{
        struct vcpu_state *fresh = calloc(1, sizeof(*fresh));
        struct vcpu_state *victim = calloc(1, sizeof(*victim));
        check_state_round_trip(&vcpu_state_state_ops, vcpu, fresh);
        ck_assert_mem_eq(fresh, vcpu, sizeof(*vcpu));
        check_state_rejects_damage(&vcpu_state_state_ops, vcpu, victim);
        free(fresh);
        free(victim);
}
END_TEST

START_TEST(vcpu_record_rejects_too_many_msrs)
{
        vcpu->msr_count = VCPU_STATE_MAX_MSRS;
        struct state_writer w;
        state_writer__init(&w);
        vcpu_state__save(vcpu, &w);
        /* Rewrite the count inside the payload, and the CRC after it. */
        size_t count_at = STATE_RECORD_HEADER_SIZE + sizeof(vcpu->regs) + sizeof(vcpu->sregs) + sizeof(vcpu->xsave) +
                          sizeof(vcpu->xcrs) + sizeof(vcpu->events);
        uint32_t too_many = VCPU_STATE_MAX_MSRS + 1;
        memcpy(w.buf + count_at, &too_many, 4);
        uint32_t crc = (uint32_t)crc32(0L, w.buf, (uInt)(w.length - 4));
        memcpy(w.buf + w.length - 4, &crc, 4);
        struct state_reader r;
        state_reader__init(&r, w.buf, w.length);
        struct vcpu_state *victim = calloc(1, sizeof(*victim));
        ck_assert_int_ne(vcpu_state__load(victim, &r), 0);
        ck_assert_ptr_nonnull(strstr(r.error, "MSRs"));
        free(victim);
        state_writer__release(&w);
}
END_TEST

Suite *make_snapshot_suite(void)
{
        Suite *s = suite_create("snapshot");
        TCase *tc = tcase_create("format");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, round_trip_restores_everything);
        tcase_add_test(tc, mostly_empty_ram_compresses);
        tcase_add_test(tc, every_truncation_is_rejected);
        tcase_add_test(tc, every_corruption_is_rejected);
        tcase_add_test(tc, wrong_magic_version_and_size);
        tcase_add_test(tc, trailing_bytes_are_rejected);
        tcase_add_test(tc, vcpu_record_round_trip_and_damage);
        tcase_add_test(tc, vcpu_record_rejects_too_many_msrs);
        suite_add_tcase(s, tc);
        return s;
}
