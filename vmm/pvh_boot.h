/* The PVH boot ABI as the guest sees it: the start-of-day structure and its
 * memory map, laid out by the Xen public header arch-x86/hvm/start_info.h. */
#ifndef FTVMM_PVH_BOOT_H
#define FTVMM_PVH_BOOT_H

#include <stdint.h>

#define HVM_START_MAGIC 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_ELFNOTE_GUEST_OS 6

#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_start_info {
        uint32_t magic;
        uint32_t version;
        uint32_t flags;
        uint32_t nr_modules;
        uint64_t modlist_paddr;
        uint64_t cmdline_paddr;
        uint64_t rsdp_paddr;
        uint64_t memmap_paddr;   /* version 1 and later */
        uint32_t memmap_entries;
        uint32_t reserved;
};

struct hvm_memmap_table_entry {
        uint64_t addr;
        uint64_t size;
        uint32_t type;
        uint32_t reserved;
};

/* One entry of the module list at modlist_paddr; Linux takes the first
 * module as its initrd. */
struct hvm_modlist_entry {
        uint64_t paddr;
        uint64_t size;
        uint64_t cmdline_paddr;
        uint64_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "PVH ABI layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "PVH ABI layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "PVH ABI layout");

#endif
