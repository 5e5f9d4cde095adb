/* Loads an ELF64 guest image through its PVH entry note and writes the
 * hvm_start_info the entry expects. Works on a byte buffer and a guest RAM
 * buffer only, so that it can be unit tested and fuzzed without KVM. */
#ifndef FTVMM_PVH_LOADER_H
#define FTVMM_PVH_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Boot information lives in one page-aligned window below the legacy
 * 640 KiB limit; image segments may not overlap it. */
#define PVH_BOOT_INFO_BASE 0x6000u
#define PVH_BOOT_INFO_SIZE 0x3000u
#define PVH_START_INFO_ADDR PVH_BOOT_INFO_BASE
#define PVH_MODLIST_ADDR (PVH_BOOT_INFO_BASE + 0x80u) /* one entry, before the memory map */
#define PVH_MEMMAP_ADDR (PVH_BOOT_INFO_BASE + 0x100u)
#define PVH_CMDLINE_ADDR (PVH_BOOT_INFO_BASE + 0x1000u)
#define PVH_CMDLINE_MAX (0x2000u - 1)

#define PVH_MAX_IMAGE_SIZE (1ull << 30)
/* Linux reads the module's address into 32 bits (boot_params.ramdisk_image). */
#define PVH_INITRD_LIMIT (1ull << 32)
#define PVH_PAGE_SIZE 4096u

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

/* Whether image is a Linux kernel: an ELF with a note that names Linux as
 * the guest OS (Xen's XEN_ELFNOTE_GUEST_OS "linux", in every kernel built
 * with Xen support, Debian's included) or a note of Linux's own owner
 * "Linux" (its build salt note, in kernels since 2018). False for
 * anything else, malformed input included. */
bool pvh_loader__is_linux(const uint8_t *image, size_t size);

/* Chooses where an initrd of initrd_size bytes goes: page aligned, as high
 * as possible in the RAM above 1 MiB and below PVH_INITRD_LIMIT, clear of
 * the loaded image (above it, or else below it). Touches no memory. Returns
 * the guest-physical address, or 0 with a reason naming the sizes in err. */
uint64_t pvh_loader__place_initrd(uint64_t ram_size, const struct pvh_image *image,
                                  uint64_t initrd_size, char *err, size_t err_size);

/* Copies an initrd into RAM where pvh_loader__place_initrd says and makes
 * it the first PVH module: writes the module list and sets nr_modules and
 * modlist_paddr in the hvm_start_info that pvh_loader__write_start_info
 * wrote before. Returns the initrd's guest-physical address, or 0 with a
 * reason in err (the caller prefixes the initrd's file name); on error RAM
 * is unchanged. */
uint64_t pvh_loader__add_initrd(uint8_t *ram, uint64_t ram_size, const struct pvh_image *image,
                                const uint8_t *initrd, size_t initrd_size,
                                char *err, size_t err_size);

#endif
