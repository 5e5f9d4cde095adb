#include <errno.h>

#include "../../devices/io_bus.h"
#include "suites.h"

static uint64_t last_offset;

static int record(void *device, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        (void)device;
        (void)size;
        last_offset = offset;
        if (!is_write)
                data[0] = 0x5a;
        return 0;
}

START_TEST(dispatches_by_range_with_offset)
{
        struct io_bus bus;
        io_bus__init(&bus, "port");
        ck_assert_int_eq(io_bus__register(&bus, 0x3f8, 8, "uart", record, NULL), 0);
        uint8_t v = 0;
        ck_assert_int_eq(io_bus__access(&bus, 0x3fd, &v, 1, false), 0);
        ck_assert_uint_eq(last_offset, 5);
        ck_assert_uint_eq(v, 0x5a);
}
END_TEST

START_TEST(edges_of_a_range)
{
        struct io_bus bus;
        io_bus__init(&bus, "port");
        io_bus__register(&bus, 0x40, 4, "pit", record, NULL);
        uint8_t v[4];
        ck_assert_ptr_nonnull(io_bus__find(&bus, 0x40, 1));
        ck_assert_ptr_nonnull(io_bus__find(&bus, 0x43, 1));
        ck_assert_ptr_null(io_bus__find(&bus, 0x44, 1));
        ck_assert_ptr_null(io_bus__find(&bus, 0x3f, 1));
        ck_assert_ptr_null(io_bus__find(&bus, 0x42, 4)); /* runs past the end */
        ck_assert_int_eq(io_bus__access(&bus, 0x44, v, 1, true), -ENODEV);
        ck_assert_ptr_null(io_bus__find(&bus, UINT64_MAX, 4));
}
END_TEST

START_TEST(rejects_overlap_empty_and_full)
{
        struct io_bus bus;
        io_bus__init(&bus, "port");
        ck_assert_int_eq(io_bus__register(&bus, 0x20, 2, "a", record, NULL), 0);
        ck_assert_int_eq(io_bus__register(&bus, 0x21, 2, "b", record, NULL), -EEXIST);
        ck_assert_int_eq(io_bus__register(&bus, 0x30, 0, "c", record, NULL), -EINVAL);
        ck_assert_int_eq(io_bus__register(&bus, UINT64_MAX, 2, "d", record, NULL), -EINVAL);
        for (unsigned i = 1; i < IO_BUS_MAX_RANGES; i++)
                ck_assert_int_eq(io_bus__register(&bus, 0x1000 + i * 16, 16, "x", record, NULL), 0);
        ck_assert_int_eq(io_bus__register(&bus, 0x9000, 1, "y", record, NULL), -ENOSPC);
}
END_TEST

Suite *make_io_bus_suite(void)
{
        Suite *s = suite_create("io_bus");
        TCase *tc = tcase_create("dispatch");
        tcase_add_test(tc, dispatches_by_range_with_offset);
        tcase_add_test(tc, edges_of_a_range);
        tcase_add_test(tc, rejects_overlap_empty_and_full);
        suite_add_tcase(s, tc);
        return s;
}
