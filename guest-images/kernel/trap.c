/* Every exception is fatal: report it on the console in one line a test can
 * match, then exit with status 3. */
#include "kernel.h"

#define EXCEPTION_EXIT_STATUS 3

_Noreturn void trap_report(const struct trap_frame *frame)
{
        kprint("guest: exception ");
        kprint_dec(frame->vector);
        kprint(" error=");
        kprint_hex(frame->error);
        kprint(" rip=");
        kprint_hex(frame->rip);
        kprint(" cpl=");
        kprint_dec(frame->cs & 3);
        kprint("\n");
        machine_exit(EXCEPTION_EXIT_STATUS);
}
