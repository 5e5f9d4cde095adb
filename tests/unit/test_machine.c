/* The machine wires each device to the ports a PC has it at. */
#include <string.h>

#include "../../vmm/machine.h"
#include "fake_environment.h"
#include "suites.h"

static struct fake_environment fake_clock;
static struct machine m;

static void setup(void)
{
        fake_environment__init(&fake_clock);
        char err[256];
        m = MACHINE_UNCREATED;
        ck_assert_msg(machine__create(&m, 4u << 20, &fake_clock.env, -1, "test", err, sizeof(err)) == 0,
                      "%s", err);
}

static void teardown(void)
{
        machine__destroy(&m);
}

static void expect_device(uint16_t port, uint32_t size, const char *name)
{
        const struct io_range *r = io_bus__find(&m.pio, port, size);
        ck_assert_msg(r != NULL, "nothing at port 0x%x", port);
        ck_assert_str_eq(r->name, name);
}

static uint32_t port_in(uint16_t port, uint32_t size)
{
        uint32_t v = 0;
        ck_assert_int_eq(io_bus__access(&m.pio, port, (uint8_t *)&v, size, false), 0);
        return v;
}

static void port_out(uint16_t port, uint32_t v, uint32_t size)
{
        ck_assert_int_eq(io_bus__access(&m.pio, port, (uint8_t *)&v, size, true), 0);
}

START_TEST(port_61_drives_the_pit_channel_2_gate)
{
        expect_device(0x61, 1, "nmi-sc");
        ck_assert(!pit8254__gate(&m.pit, 2));
        port_out(0x61, 0x01, 1);
        ck_assert(pit8254__gate(&m.pit, 2));
        ck_assert_uint_eq(port_in(0x61, 1) & 0x01, 0x01);
}
END_TEST

START_TEST(pci_configuration_ports_answer_no_host_bridge)
{
        expect_device(0xcf8, 4, "pci-conf1");
        expect_device(0xcfc, 4, "pci-conf1");
        port_out(0xcf8, 0x80000000u, 4);
        ck_assert_uint_eq(port_in(0xcf8, 4), 0x80000000u);
        ck_assert_uint_eq(port_in(0xcfc, 4), 0xffffffffu);
        ck_assert_uint_eq(port_in(0xcfe, 2), 0xffff);
        ck_assert_ptr_null(io_bus__find(&m.pio, 0xd00, 1));
}
END_TEST

Suite *make_machine_suite(void)
{
        Suite *s = suite_create("machine");
        TCase *tc = tcase_create("ports");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, port_61_drives_the_pit_channel_2_gate);
        tcase_add_test(tc, pci_configuration_ports_answer_no_host_bridge);
        suite_add_tcase(s, tc);
        return s;
}
