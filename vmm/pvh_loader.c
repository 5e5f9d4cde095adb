#include "pvh_loader.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

struct elf_note {
        uint32_t type;
        uint32_t name_size;   /* including the NUL */
        uint32_t desc_size;
        const uint8_t *name;
        const uint8_t *desc;
};

/* Calls visit on each note of one note segment until it returns nonzero.
 * Returns that value, 0 at the end, or -1 with a reason in err when a note
 * runs past the segment. */
static int walk_notes(const uint8_t *notes, uint64_t length,
                      int (*visit)(const struct elf_note *note, void *context),
                      void *context, char *err, size_t err_size)
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
                struct elf_note note = {
                        .type = nh.n_type, .name_size = nh.n_namesz, .desc_size = nh.n_descsz,
                        .name = notes + pos, .desc = notes + pos + name_len,
                };
                pos += name_len + desc_len;
                int rc = visit(&note, context);
                if (rc)
                        return rc;
        }
        return 0;
}

static bool note_owner_is(const struct elf_note *note, const char *owner)
{
        size_t n = strlen(owner) + 1;
        return note->name_size == n && memcmp(note->name, owner, n) == 0;
}

static bool note_is(const struct elf_note *note, const char *owner, uint32_t type)
{
        return note->type == type && note_owner_is(note, owner);
}

struct entry_search {
        uint32_t *entry;
        char *err;
        size_t err_size;
};

/* Returns 1 at XEN_ELFNOTE_PHYS32_ENTRY, -1 if it is malformed. */
static int visit_pvh_note(const struct elf_note *note, void *context)
{
        struct entry_search *search = context;
        if (!note_is(note, "Xen", XEN_ELFNOTE_PHYS32_ENTRY))
                return 0;
        if (note->desc_size != 4 && note->desc_size != 8)
                return error_message(search->err, search->err_size,
                                     "PVH entry note has a %u-byte value, expected 4",
                                     note->desc_size);
        uint64_t value = 0;
        memcpy(&value, note->desc, note->desc_size);
        if (value > UINT32_MAX)
                return error_message(search->err, search->err_size,
                                     "PVH entry 0x%llx is above 4 GiB", (unsigned long long)value);
        *search->entry = (uint32_t)value;
        return 1;
}

/* Scans one note segment for XEN_ELFNOTE_PHYS32_ENTRY. Returns 1 if found,
 * 0 if absent, -1 on a malformed note. */
static int find_pvh_note(const uint8_t *notes, uint64_t length, uint32_t *entry,
                         char *err, size_t err_size)
{
        struct entry_search search = { entry, err, err_size };
        return walk_notes(notes, length, visit_pvh_note, &search, err, err_size);
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

/* Copies and checks the ELF header; the program headers it describes lie
 * inside the image when it returns 0. */
static int read_header(const uint8_t *image, size_t size, Elf64_Ehdr *eh,
                       char *err, size_t err_size)
{
        memset(eh, 0, sizeof(*eh));
        memcpy(eh, image, size < sizeof(*eh) ? size : sizeof(*eh));
        if (size > PVH_MAX_IMAGE_SIZE)
                return error_message(err, err_size, "image of %zu bytes is larger than the 1 GiB limit", size);
        return check_header(image, size, eh, err, err_size);
}

int pvh_loader__load(const uint8_t *image, size_t size, uint8_t *ram,
                     uint64_t ram_size, struct pvh_image *out,
                     char *err, size_t err_size)
{
        Elf64_Ehdr eh;
        if (read_header(image, size, &eh, err, err_size))
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

static int visit_linux_note(const struct elf_note *note, void *context)
{
        (void)context;
        if (note_owner_is(note, "Linux"))
                return 1;
        if (!note_is(note, "Xen", XEN_ELFNOTE_GUEST_OS) || note->desc_size < 5)
                return 0;
        /* "linux", NUL-terminated or exactly filling the note */
        return strncasecmp((const char *)note->desc, "linux", 5) == 0 &&
               (note->desc_size == 5 || note->desc[5] == '\0');
}

bool pvh_loader__is_linux(const uint8_t *image, size_t size)
{
        Elf64_Ehdr eh;
        char err[128];
        if (read_header(image, size, &eh, err, sizeof(err)))
                return false;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                memcpy(&ph, image + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
                if (ph.p_type != PT_NOTE || !range_inside(ph.p_offset, ph.p_filesz, size))
                        continue;
                if (walk_notes(image + ph.p_offset, ph.p_filesz, visit_linux_note, NULL,
                               err, sizeof(err)) == 1)
                        return true;
        }
        return false;
}

_Static_assert(PVH_MODLIST_ADDR >= PVH_START_INFO_ADDR + sizeof(struct hvm_start_info) &&
               PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry) <= PVH_MEMMAP_ADDR,
               "the module list lies between the start info and the memory map");

static uint64_t page_down(uint64_t a)
{
        return a & ~(uint64_t)(PVH_PAGE_SIZE - 1);
}

/* The highest page-aligned start for size bytes inside [low, high), or 0. */
static uint64_t highest_fit(uint64_t low, uint64_t high, uint64_t size)
{
        if (high < size || page_down(high - size) < low)
                return 0;
        return page_down(high - size);
}

static uint64_t free_bytes(uint64_t low, uint64_t high)
{
        return high > low ? high - low : 0;
}

uint64_t pvh_loader__place_initrd(uint64_t ram_size, const struct pvh_image *image,
                                  uint64_t size, char *err, size_t err_size)
{
        if (size == 0) {
                error_message(err, err_size, "initrd is empty");
                return 0;
        }
        uint64_t top = page_down(ram_size < PVH_INITRD_LIMIT ? ram_size : PVH_INITRD_LIMIT);
        uint64_t above_low = image->load_high > HIGH_RAM_START ? image->load_high : HIGH_RAM_START;
        uint64_t below_high = image->load_low < top ? image->load_low : top;
        /* The top of RAM first, where QEMU puts it, far from the kernel's
         * early allocations; below the image if it sits at the top. */
        uint64_t addr = highest_fit(above_low, top, size);
        if (!addr)
                addr = highest_fit(HIGH_RAM_START, below_high, size);
        if (!addr)
                error_message(err, err_size,
                              "initrd of %llu bytes does not fit in guest RAM of %llu MiB: %llu bytes are free above the image at [0x%llx, 0x%llx) and %llu below it, between 1 MiB and %s",
                              (unsigned long long)size, (unsigned long long)(ram_size >> 20),
                              (unsigned long long)free_bytes(above_low, top),
                              (unsigned long long)image->load_low,
                              (unsigned long long)image->load_high,
                              (unsigned long long)free_bytes(HIGH_RAM_START, below_high),
                              ram_size > PVH_INITRD_LIMIT ? "4 GiB" : "the top of RAM");
        return addr;
}

uint64_t pvh_loader__add_initrd(uint8_t *ram, uint64_t ram_size, const struct pvh_image *image,
                                const uint8_t *initrd, size_t initrd_size,
                                char *err, size_t err_size)
{
        struct hvm_start_info info;
        if (ram_size < PVH_START_INFO_ADDR + sizeof(info)) {
                error_message(err, err_size, "guest RAM of %llu bytes has no room for boot information",
                              (unsigned long long)ram_size);
                return 0;
        }
        memcpy(&info, ram + PVH_START_INFO_ADDR, sizeof(info));
        if (info.magic != HVM_START_MAGIC) {
                error_message(err, err_size, "no hvm_start_info to add the initrd to");
                return 0;
        }
        uint64_t addr = pvh_loader__place_initrd(ram_size, image, initrd_size, err, err_size);
        if (!addr)
                return 0;
        memcpy(ram + addr, initrd, initrd_size);
        struct hvm_modlist_entry module = { .paddr = addr, .size = initrd_size };
        memcpy(ram + PVH_MODLIST_ADDR, &module, sizeof(module));
        info.nr_modules = 1;
        info.modlist_paddr = PVH_MODLIST_ADDR;
        memcpy(ram + PVH_START_INFO_ADDR, &info, sizeof(info));
        return addr;
}
