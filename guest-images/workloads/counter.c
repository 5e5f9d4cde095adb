/* counter: `lines=N` (5) lines, one every `period_ms=M` (100) ms of guest
 * time, each with the guest clock. Waiting counts ticks (no port access per
 * tick); only the printed time reads the PIT. */
#include "ulib.h"

const char workload_name[] = "counter";

int main(void);

int main(void)
{
        long lines = arg_long("lines", 5);
        long period_ms = arg_long("period_ms", 100);
        if (lines < 0 || period_ms < 1) {
                printf("counter: lines must be >= 0 and period_ms >= 1\n");
                return 2;
        }
        unsigned long long period_ticks =
                ((unsigned long long)period_ms * TIMER_DEFAULT_HZ + 999) / 1000;
        unsigned long long deadline = sys_ticks();
        for (long seq = 0; seq < lines; seq++) {
                deadline += period_ticks;
                while (sys_wait_tick() < deadline)
                        ;
                printf("counter seq=%ld t_us=%llu\n", seq, sys_time_ns() / 1000);
        }
        return 0;
}
