/* A log's description of its machine: what this build accepts, and what
 * it refuses with a message naming the difference. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../vmm/exit_status.h"
#include "../../vmm/machine_description.h"
#include "../../vmm/version.h"
#include "fake_environment.h"
#include "suites.h"

static struct fake_environment env;
static struct machine m;
static struct cpu_model cpu, loaded;
static struct state_writer w;
static char err[384];

static void setup(void)
{
        fake_environment__init(&env);
        ck_assert_int_eq(machine__create(&m, 4ull << 20, &env.env, -1, "t", err, sizeof(err)), 0);
        memset(&cpu, 0, sizeof(cpu));
        cpu.count = 1;
        cpu.entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd, .ebx = 1 };
        state_writer__init(&w);
        ck_assert_int_eq(machine_description__encode(&m, &cpu, &w), 0);
}

static void teardown(void)
{
        state_writer__release(&w);
        machine__destroy(&m);
}

START_TEST(this_build_accepts_its_own)
{
        ck_assert_msg(machine_description__check(&m, w.buf, w.length, &loaded, err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert_mem_eq(&loaded, &cpu, sizeof(cpu));
}
END_TEST

/* Replaces the first occurrence of `from` with `to` (same length) and
 * fixes that record's CRC, so only the content differs. */
static void rewrite(const char *from, const char *to)
{
        size_t n = strlen(from);
        for (size_t at = 0; at + STATE_RECORD_HEADER_SIZE <= w.length;) {
                struct state_record_header h;
                char why[128];
                ck_assert_int_eq(state_record__check(w.buf + at, w.length - at, &h, why, sizeof(why)),
                                 STATE_RECORD_COMPLETE);
                size_t end = at + STATE_RECORD_HEADER_SIZE + h.payload_length;
                uint8_t *found = memmem(w.buf + at + STATE_RECORD_HEADER_SIZE, h.payload_length, from, n);
                if (found) {
                        memcpy(found, to, n);
                        uLong crc = crc32_z(0, w.buf + at, end - at);
                        for (int i = 0; i < 4; i++)
                                w.buf[end + i] = (uint8_t)(crc >> (8 * i));
                        return;
                }
                at = end + STATE_RECORD_TRAILER_SIZE;
        }
        ck_abort_msg("'%s' not in the description", from);
}

START_TEST(another_version_is_refused)
{
        char other[sizeof(FTVMM_VERSION)];
        memcpy(other, FTVMM_VERSION, sizeof(other));
        other[0] = other[0] == '9' ? '8' : '9';
        rewrite(FTVMM_VERSION, other);
        ck_assert_int_eq(machine_description__check(&m, w.buf, w.length, &loaded, err, sizeof(err)),
                         EXIT_REFUSED);
        ck_assert_msg(strstr(err, "written by ftvmm 9") || strstr(err, "written by ftvmm 8"), "%s", err);
}
END_TEST

START_TEST(another_device_format_is_refused)
{
        rewrite("PIT ", "PIX ");
        ck_assert_int_eq(machine_description__check(&m, w.buf, w.length, &loaded, err, sizeof(err)),
                         EXIT_REFUSED);
        ck_assert_msg(strstr(err, "'PIX '") && strstr(err, "this build has PIT"), "%s", err);
}
END_TEST

/* A disk is part of the machine: a description with one does not fit a
 * machine without, and the message says what to give it. */
START_TEST(a_disk_on_one_side_only_is_refused_by_name)
{
        struct machine with_disk;
        struct state_writer disk_description;
        ck_assert_int_eq(machine__create(&with_disk, 4ull << 20, &env.env, -1, "t", err, sizeof(err)), 0);
        ck_assert_int_eq(machine__add_logged_disk(&with_disk, 2048, false, err, sizeof(err)), 0);
        state_writer__init(&disk_description);
        ck_assert_int_eq(machine_description__encode(&with_disk, &cpu, &disk_description), 0);
        ck_assert_int_eq(machine_description__check(&m, disk_description.buf, disk_description.length,
                                                    &loaded, err, sizeof(err)), EXIT_REFUSED);
        ck_assert_msg(strstr(err, "has a virtio-blk disk and this one has none (give it the same disk with --disk)"),
                      "%s", err);
        ck_assert_int_eq(machine_description__check(&with_disk, w.buf, w.length, &loaded, err, sizeof(err)),
                         EXIT_REFUSED);
        ck_assert_msg(strstr(err, "this machine has a disk (--disk) and the saved one has none"), "%s", err);
        ck_assert_int_eq(machine_description__check(&with_disk, disk_description.buf, disk_description.length,
                                                    &loaded, err, sizeof(err)), 0);
        state_writer__release(&disk_description);
        machine__destroy(&with_disk);
}
END_TEST

START_TEST(damage_is_refused_as_damage)
{
        for (size_t n = 0; n < w.length; n++)
                ck_assert_int_eq(machine_description__check(&m, w.buf, n, &loaded, err, sizeof(err)),
                                 EXIT_BAD_IMAGE);
        for (size_t i = 0; i < w.length; i++) {
                w.buf[i] ^= 0x08;
                ck_assert_msg(machine_description__check(&m, w.buf, w.length, &loaded, err, sizeof(err)) != 0,
                              "byte %zu changed, accepted", i);
                w.buf[i] ^= 0x08;
        }
}
END_TEST

Suite *make_machine_description_suite(void)
{
        Suite *s = suite_create("machine_description");
        TCase *tc = tcase_create("description");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, this_build_accepts_its_own);
        tcase_add_test(tc, another_version_is_refused);
        tcase_add_test(tc, another_device_format_is_refused);
        tcase_add_test(tc, damage_is_refused_as_damage);
        tcase_add_test(tc, a_disk_on_one_side_only_is_refused_by_name);
        suite_add_tcase(s, tc);
        return s;
}
