#include <string.h>

#include "../../devices/pci_conf1.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct pci_conf1, pci_conf1);

static struct pci_conf1 dev;

static void setup(void)
{
        pci_conf1__init(&dev);
}

static void out(unsigned port, uint32_t v, uint32_t size)
{
        uint8_t data[4];
        memcpy(data, &v, 4);
        ck_assert_int_eq(pci_conf1__io(&dev, port - 0xcf8, data, size, true), 0);
}

static uint32_t in(unsigned port, uint32_t size)
{
        uint8_t data[4] = { 0 };
        ck_assert_int_eq(pci_conf1__io(&dev, port - 0xcf8, data, size, false), 0);
        uint32_t v = 0;
        memcpy(&v, data, size);
        return v;
}

/* The register reads of Linux's pci_conf1_read. */
static uint32_t config_read(unsigned bus, unsigned devfn, unsigned reg, uint32_t size)
{
        out(0xcf8, 0x80000000u | bus << 16 | devfn << 8 | (reg & ~3u), 4);
        return in(0xcfc + (reg & (4 - size)), size);
}

START_TEST(address_register_reads_back_dword_writes)
{
        out(0xcf8, 0x80000000u, 4);
        ck_assert_uint_eq(in(0xcf8, 4), 0x80000000u);
        out(0xcf8, 0x8000c068u, 4);
        ck_assert_uint_eq(in(0xcf8, 4), 0x8000c068u);
}
END_TEST

START_TEST(configuration_reads_find_no_device)
{
        ck_assert_uint_eq(config_read(0, 0x18 << 3, 0x68, 4), 0xffffffffu); /* AMD northbridge */
        for (unsigned devfn = 0; devfn < 0x100; devfn++) {
                ck_assert_uint_eq(config_read(0, devfn, 0x0a, 2), 0xffff); /* class */
                ck_assert_uint_eq(config_read(0, devfn, 0x00, 2), 0xffff); /* vendor */
        }
        ck_assert_uint_eq(config_read(0, 0, 0x0f, 1), 0xff);
}
END_TEST

START_TEST(configuration_writes_change_nothing)
{
        out(0xcf8, 0x80000004u, 4);
        out(0xcfc, 0x7, 4);
        out(0xcfd, 0x1, 1);
        ck_assert_uint_eq(in(0xcfc, 4), 0xffffffffu);
        ck_assert_uint_eq(in(0xcf8, 4), 0x80000004u);
}
END_TEST

/* Linux's pci_check_type1: the register is there, so it goes on to look for
 * a host bridge on bus 0 and (above) finds none. */
START_TEST(linux_type1_probe_sees_the_register)
{
        out(0xcfb, 0x01, 1);
        uint32_t saved = in(0xcf8, 4);
        out(0xcf8, 0x80000000u, 4);
        ck_assert_uint_eq(in(0xcf8, 4), 0x80000000u);
        out(0xcf8, saved, 4);
        ck_assert_uint_eq(in(0xcf8, 4), saved);
}
END_TEST

/* Linux's pci_check_type2 writes zero bytes to 0xcfb, 0xcf8 and 0xcfa and
 * needs both to read back zero: they must not. */
START_TEST(linux_type2_probe_finds_nothing)
{
        out(0xcf8, 0x12345678u, 4);
        out(0xcfb, 0x00, 1);
        out(0xcf8, 0x00, 1);
        out(0xcfa, 0x00, 1);
        ck_assert_uint_eq(in(0xcf8, 1), 0xff);
        ck_assert_uint_eq(in(0xcfa, 1), 0xff);
        ck_assert_uint_eq(in(0xcf8, 2), 0xffff);
        ck_assert_uint_eq(in(0xcf8, 4), 0x12345678u); /* narrow writes missed it */
}
END_TEST

START_TEST(rejects_odd_sizes_and_ranges)
{
        uint8_t data[8] = { 0 };
        ck_assert_int_ne(pci_conf1__io(&dev, 0, data, 3, false), 0);
        ck_assert_int_ne(pci_conf1__io(&dev, 0, data, 8, false), 0);
        ck_assert_int_ne(pci_conf1__io(&dev, 6, data, 4, false), 0);
}
END_TEST

START_TEST(state_round_trip_and_damage)
{
        out(0xcf8, 0x8000c068u, 4);
        struct pci_conf1 fresh, victim;
        pci_conf1__init(&fresh);
        check_state_round_trip(&pci_conf1_state_ops, &dev, &fresh);
        ck_assert_uint_eq(fresh.address, 0x8000c068u);
        pci_conf1__init(&victim);
        check_state_rejects_damage(&pci_conf1_state_ops, &dev, &victim);
}
END_TEST

Suite *make_pci_conf1_suite(void)
{
        Suite *s = suite_create("pci_conf1");
        TCase *tc = tcase_create("device");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, address_register_reads_back_dword_writes);
        tcase_add_test(tc, configuration_reads_find_no_device);
        tcase_add_test(tc, configuration_writes_change_nothing);
        tcase_add_test(tc, linux_type1_probe_sees_the_register);
        tcase_add_test(tc, linux_type2_probe_finds_nothing);
        tcase_add_test(tc, rejects_odd_sizes_and_ranges);
        tcase_add_test(tc, state_round_trip_and_damage);
        suite_add_tcase(s, tc);
        return s;
}
