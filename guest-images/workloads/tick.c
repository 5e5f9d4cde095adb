/* tick: sets the PIT to `hz=H` (2000), waits for `ticks=N` (2000) timer
 * interrupts and reports how long that took in guest time; a measure of
 * interrupt delivery. Restores the boot rate before exiting. */
#include "ulib.h"

const char workload_name[] = "tick";

int main(void);

int main(void)
{
        long hz = arg_long("hz", 2000);
        long ticks = arg_long("ticks", 2000);
        if (ticks < 0 || sys_set_timer_hz((unsigned long)hz) < 0) {
                printf("tick: hz must be %d..%d and ticks >= 0\n", TIMER_MIN_HZ, TIMER_MAX_HZ);
                return 2;
        }
        unsigned long long start_ns = sys_time_ns();
        unsigned long long target = sys_ticks() + (unsigned long long)ticks;
        while (ticks > 0 && sys_wait_tick() < target)
                ;
        unsigned long long elapsed_ns = sys_time_ns() - start_ns;
        sys_set_timer_hz(TIMER_DEFAULT_HZ);
        printf("tick hz=%ld ticks=%ld elapsed_us=%llu\n", hz, ticks, elapsed_ns / 1000);
        return 0;
}
