/* System calls, entered from syscall_entry (vectors.S) with interrupts off.
 * Each handler is a few lines: the code runs emulated at CPL0. Buffers are
 * checked against the user range because the kernel reads them directly
 * through the identity map. */
#include "abi.h"
#include "kernel.h"

static int user_range_ok(long addr, long len)
{
        return len >= 0 && (unsigned long)addr >= USER_BASE &&
               (unsigned long)addr <= USER_LIMIT &&
               (unsigned long)len <= USER_LIMIT - (unsigned long)addr;
}

static long sys_write(long buf, long len)
{
        if (!user_range_ok(buf, len))
                return -1;
        console_write((const char *)buf, (size_t)len);
        return len;
}

static long sys_cmdline(long buf, long size)
{
        size_t len = boot_cmdline_length();
        if (size <= 0 || !user_range_ok(buf, size))
                return -1;
        size_t n = len < (size_t)size - 1 ? len : (size_t)size - 1;
        const char *src = boot_cmdline();
        char *dst = (char *)buf;
        for (size_t i = 0; i < n; i++)
                dst[i] = src[i];
        dst[n] = '\0';
        return (long)len;
}

long syscall_dispatch(long a0, long a1, long a2, long number)
{
        (void)a2;
        switch (number) {
        case SYS_WRITE:        return sys_write(a0, a1);
        case SYS_EXIT:         machine_exit((uint32_t)a0);
        case SYS_TIME_NS:      return (long)clock_now_ns();
        case SYS_WAIT_TICK:    return (long)clock_wait_tick();
        case SYS_TICKS:        return (long)timer_ticks;
        case SYS_SET_TIMER_HZ: return clock_set_hz((uint64_t)a0);
        case SYS_CMDLINE:      return sys_cmdline(a0, a1);
        case SYS_RTC_TIME:     return (long)rtc_boot_unix_time();
        case SYS_CRASH:        machine_crash((uint64_t)a0); return -1;
        case SYS_BLK_INFO:     return virtio_blk_info((struct blk_info *)a0);
        case SYS_BLK_SUBMIT:   return virtio_blk_submit((const struct blk_req *)a0, a1);
        case SYS_BLK_WAIT:     return virtio_blk_wait((struct blk_done *)a0, a1);
        case SYS_BLK_POLL:     return virtio_blk_poll((struct blk_done *)a0, a1);
        default:               return -1;
        }
}
