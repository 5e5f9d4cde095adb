/* Loads an ELF64 guest image through its PVH entry note and writes the
 * hvm_start_info the entry expects. Works on a byte buffer and a guest RAM
 * buffer only, so that it can be unit tested and fuzzed without KVM. */
#ifndef FTVMM_PVH_LOADER_H
#define FTVMM_PVH_LOADER_H

#include <stddef.h>
#include <stdint.h>

/* Boot information lives in one page-aligned window below the legacy
 * 640 KiB limit; image segments may not overlap it. */
#define PVH_BOOT_INFO_BASE 0x6000u
#define PVH_BOOT_INFO_SIZE 0x3000u
#define PVH_START_INFO_ADDR PVH_BOOT_INFO_BASE
#define PVH_MEMMAP_ADDR (PVH_BOOT_INFO_BASE + 0x100u)
#define PVH_CMDLINE_ADDR (PVH_BOOT_INFO_BASE + 0x1000u)
#define PVH_CMDLINE_MAX (0x2000u - 1)

#define PVH_MAX_IMAGE_SIZE (1ull << 30)

struct pvh_image {
        uint32_t entry;       /* 32-bit physical entry point */
        uint64_t load_low;    /* lowest guest-physical byte written */
        uint64_t load_high;   /* one past the highest */
        unsigned segments;
};

/* Copies the PT_LOAD segments of image[0..size) into ram (ram_size bytes at
 * guest-physical 0) and finds the PVH entry. Returns 0, or -1 with a one-line
 * reason in err. Nothing outside ram is written. */
int pvh_loader__load(const uint8_t *image, size_t size, uint8_t *ram,
                     uint64_t ram_size, struct pvh_image *out,
                     char *err, size_t err_size);

/* Writes hvm_start_info, the memory map and the command line into the boot
 * information window. Returns the start info's guest-physical address, or 0
 * with a reason in err. */
uint64_t pvh_loader__write_start_info(uint8_t *ram, uint64_t ram_size,
                                      const char *cmdline,
                                      char *err, size_t err_size);

#endif
