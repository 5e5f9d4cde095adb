/* crash: `mode=port|triple|halt|user-fault`, the failures the VMM's error
 * tests provoke. The first three happen in the kernel (a system call); the
 * last is a user-mode page fault the kernel reports as exception 14. A
 * machine that survives exits with status 4. */
#include "ulib.h"

const char workload_name[] = "crash";

#define SURVIVED_STATUS 4

int main(void);

int main(void)
{
        char mode[16];
        if (arg_string("mode", mode, sizeof(mode)) < 0) {
                printf("crash: mode=port|triple|halt|user-fault is required\n");
                return 2;
        }
        if (strcmp(mode, "port") == 0)
                sys_crash(CRASH_PORT);
        else if (strcmp(mode, "triple") == 0)
                sys_crash(CRASH_TRIPLE);
        else if (strcmp(mode, "halt") == 0)
                sys_crash(CRASH_HALT);
        else if (strcmp(mode, "user-fault") == 0)
                (void)*(volatile long *)UNMAPPED_ADDRESS;
        else {
                printf("crash: unknown mode '%s'\n", mode);
                return 2;
        }
        return SURVIVED_STATUS;
}
