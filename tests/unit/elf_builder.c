#include "elf_builder.h"

#include <string.h>

#define LOAD_OFFSET 0x200
#define NOTE_OFFSET 0x180
#define LOAD_ADDR 0x100000

void test_elf__build(struct test_elf *elf)
{
        memset(elf, 0, sizeof(*elf));
        Elf64_Ehdr *eh = (Elf64_Ehdr *)elf->bytes;
        memcpy(eh->e_ident, ELFMAG, SELFMAG);
        eh->e_ident[EI_CLASS] = ELFCLASS64;
        eh->e_ident[EI_DATA] = ELFDATA2LSB;
        eh->e_ident[EI_VERSION] = EV_CURRENT;
        eh->e_type = ET_EXEC;
        eh->e_machine = EM_X86_64;
        eh->e_version = EV_CURRENT;
        eh->e_entry = LOAD_ADDR;
        eh->e_phoff = sizeof(*eh);
        eh->e_ehsize = sizeof(*eh);
        eh->e_phentsize = sizeof(Elf64_Phdr);
        eh->e_phnum = 2;

        Elf64_Phdr *ph = (Elf64_Phdr *)(elf->bytes + eh->e_phoff);
        ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = LOAD_OFFSET,
                              .p_vaddr = LOAD_ADDR, .p_paddr = LOAD_ADDR,
                              .p_filesz = 256, .p_memsz = 512, .p_flags = PF_R | PF_X };
        ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFFSET,
                              .p_filesz = sizeof(Elf64_Nhdr) + 4 + 4 };

        Elf64_Nhdr *nh = (Elf64_Nhdr *)(elf->bytes + NOTE_OFFSET);
        nh->n_namesz = 4;
        nh->n_descsz = 4;
        nh->n_type = 18; /* XEN_ELFNOTE_PHYS32_ENTRY */
        memcpy(nh + 1, "Xen", 4);
        uint32_t entry = LOAD_ADDR;
        memcpy((uint8_t *)(nh + 1) + 4, &entry, 4);

        memset(elf->bytes + LOAD_OFFSET, 0x90, 256); /* recognisable payload */
        elf->size = LOAD_OFFSET + 256;
        elf->eh = eh;
        elf->load = &ph[0];
        elf->note = &ph[1];
        elf->nhdr = nh;
}
