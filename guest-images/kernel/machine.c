/* Ways to leave the machine: the normal one (isa-debug-exit) and the
 * deliberate crashes the VMM's error tests need. None uses int3 or int n:
 * those fail emulation at CPL0 on the target KVM. */
#include "abi.h"
#include "io.h"
#include "kernel.h"

#define DEBUG_EXIT_PORT 0xf4
#define UNKNOWN_PORT 0x2f0
#define CRASH_SURVIVED_STATUS 4

/* QEMU exits with (status << 1) | 1, ftvmm with status. Should the device
 * be missing, halting with interrupts off is the next best stop. */
_Noreturn void machine_exit(uint32_t status)
{
        outl(DEBUG_EXIT_PORT, status);
        for (;;)
                __asm__ volatile("cli; hlt");
}

void machine_crash(uint64_t how)
{
        switch (how) {
        case CRASH_PORT:
                outb(UNKNOWN_PORT, 0);
                machine_exit(CRASH_SURVIVED_STATUS);
        case CRASH_TRIPLE:
                cpu_load_empty_idt();
                __asm__ volatile("ud2");
                machine_exit(CRASH_SURVIVED_STATUS);
        case CRASH_HALT:
                __asm__ volatile("cli; hlt");
                machine_exit(CRASH_SURVIVED_STATUS);
        default:
                return;
        }
}
