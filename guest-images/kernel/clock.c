/* Guest monotonic time: the ticks since the rate was last set, times the
 * period, plus the part of the current period the PIT count shows. Reading
 * costs 3 exits (4 near a period boundary), so it happens only when a
 * workload asks.
 *
 * The PIT reloads its counter before IRQ 0 reaches the CPU (on QEMU by up
 * to a few hundred microseconds under TCG), so a count from early in a
 * period may belong to a tick not yet counted. Two checks find it: the
 * count went down since the last reading with no tick in between (free),
 * or, early in a period, IRQ 0 is latched in the PIC's IRR (one more exit).
 * Whatever is left (a tick later than a whole period, coalesced ticks) is
 * caught by never returning less than the last value returned. */
#include "abi.h"
#include "kernel.h"

#define PIT_HZ 1193182ull
#define NS_PER_S 1000000000ull

static uint32_t reload;        /* PIT counts per tick */
static uint64_t base_ns;       /* time when the rate was last set */
static uint64_t base_ticks;    /* timer_ticks that time stands for */

/* The previous reading, to recognise a reload the tick count missed. */
static uint64_t last_ticks, last_elapsed, last_ns;
static int last_saw_reload;

static uint64_t pit_counts_to_ns(uint64_t counts)
{
        return counts / PIT_HZ * NS_PER_S + counts % PIT_HZ * NS_PER_S / PIT_HZ;
}

static uint32_t reload_for(uint64_t hz)
{
        return (uint32_t)((PIT_HZ + hz / 2) / hz);
}

static void forget_last_reading(void)
{
        last_ticks = timer_ticks;
        last_elapsed = 0;
        last_saw_reload = 0;
}

void clock_init(void)
{
        reload = reload_for(TIMER_DEFAULT_HZ);
        pit_set_reload(reload);
        forget_last_reading();
}

/* 1 if the counter has reloaded since the tick timer_ticks last counted. */
static int reload_not_yet_counted(uint64_t ticks, uint64_t elapsed)
{
        if (ticks == last_ticks && (last_saw_reload || elapsed < last_elapsed))
                return 1;
        return elapsed < reload / 2 && pic_timer_pending();
}

uint64_t clock_now_ns(void)
{
        uint32_t count = pit_read_count();
        uint64_t elapsed = count >= 1 && count <= reload ? reload - count : 0;
        uint64_t ticks = timer_ticks;
        int pending = reload_not_yet_counted(ticks, elapsed);
        last_ticks = ticks;
        last_elapsed = elapsed;
        last_saw_reload = pending;
        ticks += (uint64_t)pending;
        uint64_t periods = ticks > base_ticks ? ticks - base_ticks : 0;
        uint64_t now = base_ns + pit_counts_to_ns(periods * reload + elapsed);
        if (now < last_ns)
                now = last_ns;
        last_ns = now;
        return now;
}

int clock_set_hz(uint64_t hz)
{
        if (hz < TIMER_MIN_HZ || hz > TIMER_MAX_HZ)
                return -1;
        base_ns = clock_now_ns();
        /* A tick still pending belongs to the old rate and is in base_ns. */
        base_ticks = timer_ticks + (uint64_t)pic_timer_pending();
        reload = reload_for(hz);
        pit_set_reload(reload);
        forget_last_reading();
        return 0;
}

/* Interrupts are off inside a system call; sti;hlt opens them for exactly
 * the halt (the sti shadow covers the hlt), so no tick slips in between the
 * check and the halt. */
uint64_t clock_wait_tick(void)
{
        uint64_t seen = timer_ticks;
        while (timer_ticks == seen)
                __asm__ volatile("sti; hlt; cli" : : : "memory");
        return timer_ticks;
}
