/* System-call stubs: int3 with rax = number, rdi/rsi/rdx = arguments. The
 * kernel's C dispatcher may clobber every caller-saved register. */
#ifndef GUEST_USER_SYSCALL_H
#define GUEST_USER_SYSCALL_H

#include "abi.h"

static inline long syscall3(long number, long a0, long a1, long a2)
{
        long ret = number;
        __asm__ volatile("int3"
                         : "+a"(ret), "+D"(a0), "+S"(a1), "+d"(a2)
                         :
                         : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
        return ret;
}

static inline long sys_write(const void *buf, unsigned long len)
{
        return syscall3(SYS_WRITE, (long)buf, (long)len, 0);
}

static inline _Noreturn void sys_exit(int status)
{
        syscall3(SYS_EXIT, status, 0, 0);
        __builtin_unreachable();
}

static inline unsigned long long sys_time_ns(void)
{
        return (unsigned long long)syscall3(SYS_TIME_NS, 0, 0, 0);
}

static inline unsigned long long sys_wait_tick(void)
{
        return (unsigned long long)syscall3(SYS_WAIT_TICK, 0, 0, 0);
}

static inline unsigned long long sys_ticks(void)
{
        return (unsigned long long)syscall3(SYS_TICKS, 0, 0, 0);
}

static inline long sys_set_timer_hz(unsigned long hz)
{
        return syscall3(SYS_SET_TIMER_HZ, (long)hz, 0, 0);
}

static inline long sys_cmdline(char *buf, unsigned long size)
{
        return syscall3(SYS_CMDLINE, (long)buf, (long)size, 0);
}

static inline unsigned long long sys_rtc_time(void)
{
        return (unsigned long long)syscall3(SYS_RTC_TIME, 0, 0, 0);
}

static inline long sys_crash(long how)
{
        return syscall3(SYS_CRASH, how, 0, 0);
}

static inline long sys_blk_info(struct blk_info *info)
{
        return syscall3(SYS_BLK_INFO, (long)info, 0, 0);
}

static inline long sys_blk_submit(const struct blk_req *reqs, long n)
{
        return syscall3(SYS_BLK_SUBMIT, (long)reqs, n, 0);
}

static inline long sys_blk_wait(struct blk_done *done, long max)
{
        return syscall3(SYS_BLK_WAIT, (long)done, max, 0);
}

/* Like sys_blk_wait, but returns 0 at once when no completion is ready. */
static inline long sys_blk_poll(struct blk_done *done, long max)
{
        return syscall3(SYS_BLK_POLL, (long)done, max, 0);
}

#endif
