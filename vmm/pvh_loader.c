#include "pvh_loader.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error_message.h"
#include "pvh_boot.h"

/* Legacy PC holes the memory map reports as reserved: VGA, ROMs, BIOS. */
#define LOW_RAM_END 0x9fc00ull
#define HIGH_RAM_START 0x100000ull

/* Real images have a handful; the bound keeps the header copy on the stack. */
#define PVH_MAX_PROGRAM_HEADERS 64

static bool range_inside(uint64_t offset, uint64_t length, uint64_t limit)
{
        return offset <= limit && length <= limit - offset;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
        return a < b + blen && b < a + alen;
}

static int check_header(const uint8_t *image, size_t size, const Elf64_Ehdr *eh,
                        char *err, size_t err_size)
{
        if (size < SELFMAG || memcmp(image, ELFMAG, SELFMAG) != 0)
                return error_message(err, err_size, "not an ELF file (bad magic)");
        if (size < EI_NIDENT + 1 || image[EI_CLASS] != ELFCLASS64)
                return error_message(err, err_size, "not a 64-bit ELF file (EI_CLASS %u)",
                            size > EI_CLASS ? image[EI_CLASS] : 0);
        if (size < sizeof(*eh))
                return error_message(err, err_size, "truncated ELF header: %zu of %zu bytes",
                            size, sizeof(*eh));
        if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
                return error_message(err, err_size, "not a little-endian ELF file");
        if (eh->e_machine != EM_X86_64)
                return error_message(err, err_size, "ELF machine %u is not x86-64", eh->e_machine);
        if (eh->e_type != ET_EXEC)
                return error_message(err, err_size, "ELF type %u is not an executable", eh->e_type);
        if (eh->e_phentsize != sizeof(Elf64_Phdr))
                return error_message(err, err_size, "e_phentsize %u, expected %zu",
                            eh->e_phentsize, sizeof(Elf64_Phdr));
        if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
                return error_message(err, err_size, "ELF file has no usable program headers");
        if (eh->e_phnum > PVH_MAX_PROGRAM_HEADERS)
                return error_message(err, err_size, "%u program headers, at most %d are accepted",
                            eh->e_phnum, PVH_MAX_PROGRAM_HEADERS);
        if (!range_inside(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
                return error_message(err, err_size, "program headers at offset %llu run past the end of the file",
                            (unsigned long long)eh->e_phoff);
        return 0;
}

/* Scans one note segment for XEN_ELFNOTE_PHYS32_ENTRY. Returns 1 if found,
 * 0 if absent, -1 on a malformed note. */
static int find_pvh_note(const uint8_t *notes, uint64_t length, uint32_t *entry,
                         char *err, size_t err_size)
{
        uint64_t pos = 0;
        while (length - pos >= sizeof(Elf64_Nhdr)) {
                Elf64_Nhdr nh;
                memcpy(&nh, notes + pos, sizeof(nh));
                pos += sizeof(nh);
                uint64_t name_len = ((uint64_t)nh.n_namesz + 3) & ~3ull;
                uint64_t desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ull;
                if (!range_inside(pos, name_len, length) ||
                    !range_inside(pos + name_len, desc_len, length))
                        return error_message(err, err_size, "malformed ELF note at offset %llu",
                                    (unsigned long long)(pos - sizeof(nh)));
                const uint8_t *name = notes + pos;
                const uint8_t *desc = notes + pos + name_len;
                pos += name_len + desc_len;
                if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != 4 ||
                    memcmp(name, "Xen", 4) != 0)
                        continue;
                if (nh.n_descsz != 4 && nh.n_descsz != 8)
                        return error_message(err, err_size, "PVH entry note has a %u-byte value, expected 4",
                                    nh.n_descsz);
                uint64_t value = 0;
                memcpy(&value, desc, nh.n_descsz);
                if (value > UINT32_MAX)
                        return error_message(err, err_size, "PVH entry 0x%llx is above 4 GiB",
                                    (unsigned long long)value);
                *entry = (uint32_t)value;
                return 1;
        }
        return 0;
}

static int load_segment(const uint8_t *image, size_t size, const Elf64_Phdr *ph,
                        unsigned index, uint8_t *ram, uint64_t ram_size,
                        char *err, size_t err_size)
{
        if (ph->p_filesz > ph->p_memsz)
                return error_message(err, err_size, "segment %u: file size %llu exceeds memory size %llu",
                            index, (unsigned long long)ph->p_filesz,
                            (unsigned long long)ph->p_memsz);
        if (!range_inside(ph->p_offset, ph->p_filesz, size))
                return error_message(err, err_size, "segment %u: file range [%llu, +%llu) runs past the end of the %zu-byte file",
                            index, (unsigned long long)ph->p_offset,
                            (unsigned long long)ph->p_filesz, size);
        if (!range_inside(ph->p_paddr, ph->p_memsz, ram_size))
                return error_message(err, err_size, "segment %u: [0x%llx, +0x%llx) lies outside guest RAM (%llu MiB)",
                            index, (unsigned long long)ph->p_paddr,
                            (unsigned long long)ph->p_memsz,
                            (unsigned long long)(ram_size >> 20));
        if (ranges_overlap(ph->p_paddr, ph->p_memsz, PVH_BOOT_INFO_BASE, PVH_BOOT_INFO_SIZE))
                return error_message(err, err_size, "segment %u: [0x%llx, +0x%llx) overlaps the boot information at [0x%x, 0x%x)",
                            index, (unsigned long long)ph->p_paddr,
                            (unsigned long long)ph->p_memsz, PVH_BOOT_INFO_BASE,
                            PVH_BOOT_INFO_BASE + PVH_BOOT_INFO_SIZE);
        memcpy(ram + ph->p_paddr, image + ph->p_offset, ph->p_filesz);
        memset(ram + ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
        return 0;
}

static bool entry_is_loaded(uint32_t entry, const Elf64_Phdr *phdrs, unsigned count)
{
        for (unsigned i = 0; i < count; i++)
                if (phdrs[i].p_type == PT_LOAD && entry >= phdrs[i].p_paddr &&
                    entry - phdrs[i].p_paddr < phdrs[i].p_memsz)
                        return true;
        return false;
}

int pvh_loader__load(const uint8_t *image, size_t size, uint8_t *ram,
                     uint64_t ram_size, struct pvh_image *out,
                     char *err, size_t err_size)
{
        Elf64_Ehdr eh;
        memset(&eh, 0, sizeof(eh));
        memcpy(&eh, image, size < sizeof(eh) ? size : sizeof(eh));
        if (size > PVH_MAX_IMAGE_SIZE)
                return error_message(err, err_size, "image of %zu bytes is larger than the 1 GiB limit", size);
        if (check_header(image, size, &eh, err, err_size))
                return -1;

        Elf64_Phdr phdrs[eh.e_phnum];
        memcpy(phdrs, image + eh.e_phoff, sizeof(phdrs));
        *out = (struct pvh_image){ .load_low = UINT64_MAX };
        bool have_entry = false;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                const Elf64_Phdr *ph = &phdrs[i];
                if (ph->p_type == PT_NOTE && !have_entry) {
                        if (!range_inside(ph->p_offset, ph->p_filesz, size))
                                return error_message(err, err_size, "note segment %u runs past the end of the file", i);
                        int found = find_pvh_note(image + ph->p_offset, ph->p_filesz,
                                                  &out->entry, err, err_size);
                        if (found < 0)
                                return -1;
                        have_entry = found;
                }
                if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
                        continue;
                if (load_segment(image, size, ph, i, ram, ram_size, err, err_size))
                        return -1;
                out->segments++;
                if (ph->p_paddr < out->load_low)
                        out->load_low = ph->p_paddr;
                if (ph->p_paddr + ph->p_memsz > out->load_high)
                        out->load_high = ph->p_paddr + ph->p_memsz;
        }
        if (!have_entry)
                return error_message(err, err_size, "no PVH entry note (Xen ELF note %d, XEN_ELFNOTE_PHYS32_ENTRY): not a PVH image",
                            XEN_ELFNOTE_PHYS32_ENTRY);
        if (out->segments == 0)
                return error_message(err, err_size, "no loadable segments");
        if (!entry_is_loaded(out->entry, phdrs, eh.e_phnum))
                return error_message(err, err_size, "PVH entry 0x%x is not inside any loaded segment", out->entry);
        return 0;
}

static unsigned build_memmap(struct hvm_memmap_table_entry *map, uint64_t ram_size)
{
        map[0] = (struct hvm_memmap_table_entry){
                .addr = 0, .size = LOW_RAM_END, .type = HVM_MEMMAP_TYPE_RAM };
        map[1] = (struct hvm_memmap_table_entry){
                .addr = LOW_RAM_END, .size = HIGH_RAM_START - LOW_RAM_END,
                .type = HVM_MEMMAP_TYPE_RESERVED };
        map[2] = (struct hvm_memmap_table_entry){
                .addr = HIGH_RAM_START, .size = ram_size - HIGH_RAM_START,
                .type = HVM_MEMMAP_TYPE_RAM };
        return 3;
}

uint64_t pvh_loader__write_start_info(uint8_t *ram, uint64_t ram_size,
                                      const char *cmdline,
                                      char *err, size_t err_size)
{
        size_t cmdline_len = strlen(cmdline);
        if (ram_size < 2 * HIGH_RAM_START) {
                error_message(err, err_size, "guest RAM of %llu bytes is too small to boot",
                     (unsigned long long)ram_size);
                return 0;
        }
        if (cmdline_len > PVH_CMDLINE_MAX) {
                error_message(err, err_size, "command line of %zu bytes exceeds %u", cmdline_len,
                     PVH_CMDLINE_MAX);
                return 0;
        }
        struct hvm_memmap_table_entry map[3];
        unsigned entries = build_memmap(map, ram_size);
        struct hvm_start_info info = {
                .magic = HVM_START_MAGIC,
                .version = 1,
                .cmdline_paddr = PVH_CMDLINE_ADDR,
                .memmap_paddr = PVH_MEMMAP_ADDR,
                .memmap_entries = entries,
        };
        memcpy(ram + PVH_START_INFO_ADDR, &info, sizeof(info));
        memcpy(ram + PVH_MEMMAP_ADDR, map, sizeof(map[0]) * entries);
        memcpy(ram + PVH_CMDLINE_ADDR, cmdline, cmdline_len + 1);
        return PVH_START_INFO_ADDR;
}
