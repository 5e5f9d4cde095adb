/* pio: `count=N` (100000) writes to port 0x80 from CPL3, the one port the
 * TSS bitmap opens: the cost of a user-mode port exit. */
#include "ulib.h"

const char workload_name[] = "pio";

int main(void);

int main(void)
{
        long count = arg_long("count", 100000);
        if (count < 0) {
                printf("pio: count must be >= 0\n");
                return 2;
        }
        unsigned long long start_ns = sys_time_ns();
        for (long i = 0; i < count; i++)
                __asm__ volatile("outb %%al, $0x80" : : "a"(0));
        unsigned long long elapsed_ns = sys_time_ns() - start_ns;
        printf("pio count=%ld elapsed_us=%llu\n", count, elapsed_ns / 1000);
        return 0;
}
