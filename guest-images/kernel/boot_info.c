/* Reads what the loader passed in struct hvm_start_info: the command line,
 * copied because the loader's pages below 1 MiB are not promised to stay
 * intact, and whether firmware tables (ACPI) describe the platform. */
#include "kernel.h"

#define HVM_START_MAGIC 0x336ec578u
#define CMDLINE_MAX 4096

struct hvm_start_info {
        uint32_t magic, version, flags, nr_modules;
        uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
        uint64_t memmap_paddr;   /* version >= 1 */
        uint32_t memmap_entries, reserved;
};

static char cmdline[CMDLINE_MAX];
static size_t cmdline_length;
static int has_acpi;

void boot_info_read(uint32_t start_info_paddr)
{
        const struct hvm_start_info *info =
                (const struct hvm_start_info *)(uintptr_t)start_info_paddr;
        if (!info || info->magic != HVM_START_MAGIC)
                return;
        has_acpi = info->rsdp_paddr != 0;
        if (!info->cmdline_paddr)
                return;
        const char *src = (const char *)(uintptr_t)info->cmdline_paddr;
        size_t n = 0;
        while (n < CMDLINE_MAX - 1 && src[n])
                n++;
        char *dst = cmdline;
        size_t count = n;
        __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(count) : : "memory");
        cmdline_length = n;
}

const char *boot_cmdline(void)
{
        return cmdline;
}

size_t boot_cmdline_length(void)
{
        return cmdline_length;
}

int boot_has_acpi(void)
{
        return has_acpi;
}
