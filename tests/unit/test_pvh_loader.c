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

/* Appends a note to the image's note segment. */
static void add_note(const char *owner, uint32_t type, const void *desc, uint32_t desc_size)
{
        uint32_t name_size = (uint32_t)strlen(owner) + 1;
        uint8_t *start = elf.bytes + elf.note->p_offset;
        uint8_t *p = start + elf.note->p_filesz;
        Elf64_Nhdr nh = { .n_namesz = name_size, .n_descsz = desc_size, .n_type = type };
        memcpy(p, &nh, sizeof(nh));
        p += sizeof(nh);
        memcpy(p, owner, name_size);
        p += (name_size + 3) & ~3u;
        memcpy(p, desc, desc_size);
        p += (desc_size + 3) & ~3u;
        elf.note->p_filesz = (uint64_t)(p - start);
        ck_assert_uint_le(elf.note->p_offset + elf.note->p_filesz, elf.load->p_offset);
}

static bool is_linux(void)
{
        return pvh_loader__is_linux(elf.bytes, elf.size);
}

START_TEST(our_guest_is_not_linux)
{
        ck_assert(!is_linux());
        add_note("Xen", XEN_ELFNOTE_GUEST_OS, "Mini-OS", 8);
        ck_assert(!is_linux());
}
END_TEST

START_TEST(xen_guest_os_linux_note_is_linux)
{
        add_note("Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
        ck_assert(is_linux());
        ck_assert_int_eq(load(), 0); /* and still a loadable PVH image */
}
END_TEST

START_TEST(guest_os_must_be_exactly_linux)
{
        add_note("Xen", XEN_ELFNOTE_GUEST_OS, "linuxish", 9);
        ck_assert(!is_linux());
        add_note("Xen", 7 /* GUEST_VERSION */, "linux", 6);
        ck_assert(!is_linux());
        add_note("Xen", XEN_ELFNOTE_GUEST_OS, "LINUX", 5); /* unterminated, exact */
        ck_assert(is_linux());
}
END_TEST

START_TEST(linux_owned_note_is_linux)
{
        add_note("Linux", 0x100, "6.1.0-57-amd64", 15);
        ck_assert(is_linux());
}
END_TEST

START_TEST(linux_note_outside_the_segment_is_not_seen)
{
        add_note("Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
        elf.note->p_filesz -= 4; /* the note now runs past its segment */
        ck_assert(!is_linux());
}
END_TEST

START_TEST(no_prefix_of_a_linux_image_is_misread)
{
        add_note("Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
        size_t note_end = elf.note->p_offset + elf.note->p_filesz;
        for (size_t n = 0; n < elf.size; n++)
                ck_assert_msg(pvh_loader__is_linux(elf.bytes, n) == (n >= note_end),
                              "prefix of %zu bytes", n);
}
END_TEST

#define PAGE 4096u

static uint64_t add_initrd(const uint8_t *initrd, size_t size)
{
        return pvh_loader__add_initrd(ram, RAM_SIZE, &image, initrd, size, err, sizeof(err));
}

static void boot_without_initrd(void)
{
        ck_assert_int_eq(load(), 0);
        ck_assert_uint_eq(pvh_loader__write_start_info(ram, RAM_SIZE, "rdinit=/init", err,
                                                       sizeof(err)), PVH_START_INFO_ADDR);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
        return a < b + blen && b < a + alen;
}

/* The initrd lies inside one RAM entry of the memory map and clear of the
 * image and of every boot structure. */
static void check_initrd_layout(const struct hvm_start_info *info, uint64_t addr, uint64_t size)
{
        struct hvm_memmap_table_entry map[8];
        ck_assert_uint_le(info->memmap_entries, 8);
        memcpy(map, ram + info->memmap_paddr, info->memmap_entries * sizeof(map[0]));
        bool in_ram = false;
        for (unsigned i = 0; i < info->memmap_entries; i++) {
                bool inside = addr >= map[i].addr && addr + size <= map[i].addr + map[i].size;
                in_ram |= inside && map[i].type == HVM_MEMMAP_TYPE_RAM;
                if (map[i].type != HVM_MEMMAP_TYPE_RAM)
                        ck_assert(!overlap(addr, size, map[i].addr, map[i].size));
        }
        ck_assert_msg(in_ram, "initrd [0x%llx, +0x%llx) is not inside a RAM entry",
                      (unsigned long long)addr, (unsigned long long)size);
        ck_assert(!overlap(addr, size, image.load_low, image.load_high - image.load_low));
        ck_assert(!overlap(addr, size, PVH_BOOT_INFO_BASE, PVH_BOOT_INFO_SIZE));
        ck_assert(!overlap(info->modlist_paddr, sizeof(struct hvm_modlist_entry),
                           PVH_START_INFO_ADDR, sizeof(*info)));
        ck_assert(!overlap(info->modlist_paddr, sizeof(struct hvm_modlist_entry),
                           info->memmap_paddr, info->memmap_entries * sizeof(map[0])));
}

START_TEST(initrd_goes_page_aligned_to_the_top_of_ram)
{
        boot_without_initrd();
        uint8_t initrd[10000];
        for (size_t i = 0; i < sizeof(initrd); i++)
                initrd[i] = (uint8_t)(i * 7 + 1);
        uint64_t addr = add_initrd(initrd, sizeof(initrd));
        ck_assert_msg(addr != 0, "%s", err);
        ck_assert_uint_eq(addr, (RAM_SIZE - sizeof(initrd)) & ~(uint64_t)(PAGE - 1));
        ck_assert_mem_eq(ram + addr, initrd, sizeof(initrd));

        struct hvm_start_info info;
        memcpy(&info, ram + PVH_START_INFO_ADDR, sizeof(info));
        ck_assert_uint_eq(info.magic, HVM_START_MAGIC);
        ck_assert_uint_eq(info.nr_modules, 1);
        ck_assert_uint_eq(info.modlist_paddr, PVH_MODLIST_ADDR);
        struct hvm_modlist_entry module;
        memcpy(&module, ram + info.modlist_paddr, sizeof(module));
        ck_assert_uint_eq(module.paddr, addr);
        ck_assert_uint_eq(module.size, sizeof(initrd));
        ck_assert_uint_eq(module.cmdline_paddr, 0);
        ck_assert_str_eq((char *)ram + info.cmdline_paddr, "rdinit=/init");
        check_initrd_layout(&info, addr, sizeof(initrd));
}
END_TEST

START_TEST(start_info_without_initrd_has_no_modules)
{
        boot_without_initrd();
        struct hvm_start_info info;
        memcpy(&info, ram + PVH_START_INFO_ADDR, sizeof(info));
        ck_assert_uint_eq(info.nr_modules, 0);
        ck_assert_uint_eq(info.modlist_paddr, 0);
}
END_TEST

START_TEST(initrd_too_large_is_refused_with_sizes_and_ram_unchanged)
{
        boot_without_initrd();
        size_t size = RAM_SIZE - 0x100000; /* all RAM above 1 MiB, the image included */
        uint8_t *initrd = calloc(1, size);
        uint8_t *before = malloc(RAM_SIZE);
        memcpy(before, ram, RAM_SIZE);
        ck_assert_uint_eq(add_initrd(initrd, size), 0);
        ck_assert_msg(strstr(err, "initrd of 3145728 bytes does not fit in guest RAM of 4 MiB"),
                      "%s", err);
        ck_assert_msg(strstr(err, "3145216 bytes are free above the image at [0x100000, 0x100200)"),
                      "%s", err);
        ck_assert_ptr_null(strchr(err, '\n'));
        ck_assert(memcmp(before, ram, RAM_SIZE) == 0);
        free(before);
        free(initrd);
}
END_TEST

START_TEST(initrd_fills_exactly_the_room_above_the_image)
{
        boot_without_initrd();
        uint64_t room = RAM_SIZE - 0x101000; /* the image's page is taken */
        ck_assert_uint_eq(pvh_loader__place_initrd(RAM_SIZE, &image, room, err, sizeof(err)),
                          0x101000);
        ck_assert_uint_eq(pvh_loader__place_initrd(RAM_SIZE, &image, room + 1, err, sizeof(err)), 0);
}
END_TEST

START_TEST(initrd_goes_below_an_image_at_the_top)
{
        struct pvh_image high = { .load_low = RAM_SIZE - 0x80000, .load_high = RAM_SIZE - 0x100 };
        uint64_t addr = pvh_loader__place_initrd(RAM_SIZE, &high, 0x10000, err, sizeof(err));
        ck_assert_uint_eq(addr, RAM_SIZE - 0x80000 - 0x10000);
        ck_assert_uint_eq(pvh_loader__place_initrd(RAM_SIZE, &high, RAM_SIZE, err, sizeof(err)), 0);
}
END_TEST

START_TEST(initrd_stays_below_4_gib)
{
        uint64_t ram_size = 64ull << 30;
        uint64_t addr = pvh_loader__place_initrd(ram_size, &image, 12345678, err, sizeof(err));
        ck_assert_uint_ne(addr, 0);
        ck_assert_uint_le(addr + 12345678, 1ull << 32);
        ck_assert_uint_eq(addr % PAGE, 0);
        ck_assert_uint_eq(pvh_loader__place_initrd(ram_size, &image, 1ull << 32, err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, "4 GiB"), "%s", err);
}
END_TEST

START_TEST(empty_initrd_is_refused)
{
        boot_without_initrd();
        uint8_t none = 0;
        ck_assert_uint_eq(add_initrd(&none, 0), 0);
        ck_assert_str_eq(err, "initrd is empty");
}
END_TEST

START_TEST(initrd_needs_the_start_info_first)
{
        ck_assert_int_eq(load(), 0);
        uint8_t initrd[16] = { 0 };
        ck_assert_uint_eq(add_initrd(initrd, sizeof(initrd)), 0);
        ck_assert_str_eq(err, "no hvm_start_info to add the initrd to");
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
        TCase *kernel = tcase_create("linux");
        tcase_add_checked_fixture(kernel, setup, teardown);
        tcase_add_test(kernel, our_guest_is_not_linux);
        tcase_add_test(kernel, xen_guest_os_linux_note_is_linux);
        tcase_add_test(kernel, guest_os_must_be_exactly_linux);
        tcase_add_test(kernel, linux_owned_note_is_linux);
        tcase_add_test(kernel, linux_note_outside_the_segment_is_not_seen);
        tcase_add_test(kernel, no_prefix_of_a_linux_image_is_misread);
        suite_add_tcase(s, kernel);
        TCase *modules = tcase_create("initrd");
        tcase_add_checked_fixture(modules, setup, teardown);
        tcase_add_test(modules, initrd_goes_page_aligned_to_the_top_of_ram);
        tcase_add_test(modules, start_info_without_initrd_has_no_modules);
        tcase_add_test(modules, initrd_too_large_is_refused_with_sizes_and_ram_unchanged);
        tcase_add_test(modules, initrd_fills_exactly_the_room_above_the_image);
        tcase_add_test(modules, initrd_goes_below_an_image_at_the_top);
        tcase_add_test(modules, initrd_stays_below_4_gib);
        tcase_add_test(modules, empty_initrd_is_refused);
        tcase_add_test(modules, initrd_needs_the_start_info_first);
        suite_add_tcase(s, modules);
        return s;
}
