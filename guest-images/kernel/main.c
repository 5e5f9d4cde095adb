/* kernel_main: from the long-mode entry to the workload in about 30 port
 * exits (UART 1, PIC 10, PIT 3, RTC ~16) plus one per boot-line byte, and a
 * few hundred emulated instructions; after that the kernel runs only for a
 * system call or a tick. */
#include "kernel.h"

static void print_boot_line(void)
{
        kprint("ftvmm-guest: ");
        kprint(workload_name);
        kprint(" cmdline='");
        console_write(boot_cmdline(), boot_cmdline_length());
        kprint("'\n");
}

_Noreturn void kernel_main(uint32_t start_info_paddr);

_Noreturn void kernel_main(uint32_t start_info_paddr)
{
        cpu_tables_init();
        console_init();
        boot_info_read(start_info_paddr);
        print_boot_line();
        pic_init();
        virtio_blk_probe();
        clock_init();
        rtc_read_boot_time();
        pic_connect_to_cpu();
        enter_user(user_start, user_stack_top);
}
