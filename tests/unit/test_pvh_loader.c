#include <stdlib.h>
#include <string.h>

#include "../../vmm/pvh_boot.h"
#include "../../vmm/pvh_loader.h"
#include "elf_builder.h"
#include "suites.h"

#define RAM_SIZE (4u << 20)

static uint8_t *ram;
static struct test_elf elf;
static struct pvh_image image;
static char err[256];

static void setup(void)
{
        ram = calloc(1, RAM_SIZE);
        test_elf__build(&elf);
        err[0] = '\0';
}

static void teardown(void)
{
        free(ram);
}

static int load(void)
{
        return pvh_loader__load(elf.bytes, elf.size, ram, RAM_SIZE, &image, err, sizeof(err));
}

static void expect_rejected(const char *fragment)
{
        ck_assert_int_eq(load(), -1);
        ck_assert_msg(strstr(err, fragment), "error '%s' lacks '%s'", err, fragment);
        ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(loads_segments_and_finds_entry)
{
        ram[0x100000 + 300] = 0xaa; /* bss must be zeroed */
        ck_assert_int_eq(load(), 0);
        ck_assert_uint_eq(image.entry, 0x100000);
        ck_assert_uint_eq(image.load_low, 0x100000);
        ck_assert_uint_eq(image.load_high, 0x100200);
        ck_assert_uint_eq(ram[0x100000], 0x90);
        ck_assert_uint_eq(ram[0x100000 + 255], 0x90);
        ck_assert_uint_eq(ram[0x100000 + 300], 0);
}
END_TEST

START_TEST(rejects_non_elf)
{
        memcpy(elf.bytes, "#!/bin", 6);
        expect_rejected("not an ELF file");
}
END_TEST

START_TEST(rejects_32bit_elf)
{
        elf.bytes[EI_CLASS] = ELFCLASS32;
        expect_rejected("not a 64-bit ELF");
}
END_TEST

START_TEST(rejects_other_machine)
{
        elf.eh->e_machine = EM_AARCH64;
        expect_rejected("not x86-64");
}
END_TEST

START_TEST(rejects_every_truncation)
{
        size_t full = elf.size;
        for (size_t n = 0; n < full; n++) {
                elf.size = n;
                ck_assert_msg(load() == -1, "prefix of %zu bytes accepted", n);
        }
}
END_TEST

START_TEST(rejects_missing_pvh_note)
{
        elf.nhdr->n_type = 1;
        expect_rejected("no PVH entry note");
}
END_TEST

START_TEST(rejects_malformed_note)
{
        elf.nhdr->n_descsz = 0x7fffffff;
        expect_rejected("malformed ELF note");
}
END_TEST

START_TEST(rejects_segment_outside_ram)
{
        elf.load->p_paddr = RAM_SIZE - 100;
        expect_rejected("outside guest RAM");
}
END_TEST

START_TEST(rejects_wrapping_segment)
{
        elf.load->p_paddr = UINT64_MAX - 10;
        expect_rejected("outside guest RAM");
}
END_TEST

START_TEST(rejects_absurd_memsz)
{
        elf.load->p_memsz = 1ull << 60;
        expect_rejected("outside guest RAM");
}
END_TEST

START_TEST(rejects_filesz_above_memsz)
{
        elf.load->p_filesz = 1024;
        expect_rejected("exceeds memory size");
}
END_TEST

START_TEST(rejects_segment_past_file_end)
{
        elf.load->p_offset = 1u << 30;
        expect_rejected("past the end");
}
END_TEST

START_TEST(rejects_overlap_with_boot_info)
{
        elf.load->p_paddr = PVH_BOOT_INFO_BASE;
        elf.nhdr[0].n_type = 18;
        uint32_t entry = PVH_BOOT_INFO_BASE;
        memcpy((uint8_t *)(elf.nhdr + 1) + 4, &entry, 4);
        expect_rejected("overlaps the boot information");
}
END_TEST

START_TEST(rejects_entry_outside_segments)
{
        uint32_t entry = 0x300000;
        memcpy((uint8_t *)(elf.nhdr + 1) + 4, &entry, 4);
        expect_rejected("not inside any loaded segment");
}
END_TEST

START_TEST(rejects_too_many_program_headers)
{
        elf.eh->e_phnum = 1000;
        expect_rejected("program headers");
}
END_TEST

START_TEST(writes_start_info)
{
        uint64_t addr = pvh_loader__write_start_info(ram, RAM_SIZE, "lines=3", err, sizeof(err));
        ck_assert_uint_eq(addr, PVH_START_INFO_ADDR);
        struct hvm_start_info info;
        memcpy(&info, ram + addr, sizeof(info));
        ck_assert_uint_eq(info.magic, HVM_START_MAGIC);
        ck_assert_uint_eq(info.version, 1);
        ck_assert_str_eq((char *)ram + info.cmdline_paddr, "lines=3");
        ck_assert_uint_eq(info.memmap_entries, 3);
        struct hvm_memmap_table_entry map[3];
        memcpy(map, ram + info.memmap_paddr, sizeof(map));
        ck_assert_uint_eq(map[2].addr + map[2].size, RAM_SIZE);
        ck_assert_uint_eq(map[1].type, HVM_MEMMAP_TYPE_RESERVED);
}
END_TEST

START_TEST(rejects_overlong_cmdline)
{
        char *cmdline = malloc(PVH_CMDLINE_MAX + 2);
        memset(cmdline, 'x', PVH_CMDLINE_MAX + 1);
        cmdline[PVH_CMDLINE_MAX + 1] = '\0';
        ck_assert_uint_eq(pvh_loader__write_start_info(ram, RAM_SIZE, cmdline, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(err, "command line"));
        free(cmdline);
}
END_TEST

Suite *make_pvh_loader_suite(void)
{
        Suite *s = suite_create("pvh_loader");
        TCase *tc = tcase_create("load");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, loads_segments_and_finds_entry);
        tcase_add_test(tc, rejects_non_elf);
        tcase_add_test(tc, rejects_32bit_elf);
        tcase_add_test(tc, rejects_other_machine);
        tcase_add_test(tc, rejects_every_truncation);
        tcase_add_test(tc, rejects_missing_pvh_note);
        tcase_add_test(tc, rejects_malformed_note);
        tcase_add_test(tc, rejects_segment_outside_ram);
        tcase_add_test(tc, rejects_wrapping_segment);
        tcase_add_test(tc, rejects_absurd_memsz);
        tcase_add_test(tc, rejects_filesz_above_memsz);
        tcase_add_test(tc, rejects_segment_past_file_end);
        tcase_add_test(tc, rejects_overlap_with_boot_info);
        tcase_add_test(tc, rejects_entry_outside_segments);
        tcase_add_test(tc, rejects_too_many_program_headers);
        tcase_add_test(tc, writes_start_info);
        tcase_add_test(tc, rejects_overlong_cmdline);
        suite_add_tcase(s, tc);
        return s;
}
