/* The 8259 pair, remapped to vectors 0x20-0x2f with everything masked but
 * IRQ 0 (the PIT) and IRQ 2 (the cascade). The master runs in auto-EOI mode
 * so that a tick costs no EOI exit. After initialisation both PICs read back
 * IRR on the command port (that is the reset state of OCW3), so checking
 * for a pending tick is one inb. */
#include "io.h"
#include "kernel.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define ICW1_INIT_WITH_ICW4 0x11
#define ICW4_8086 0x01
#define ICW4_AUTO_EOI 0x02
#define MASK_ALL_BUT_TIMER_AND_CASCADE 0xfa
#define MASK_ALL 0xff

#define MSR_APIC_BASE 0x1b
#define APIC_GLOBAL_ENABLE (1u << 11)
#define LAPIC_LVT0 ((volatile uint32_t *)0xfee00350ul)
#define LVT_EXTINT 0x700  /* delivery mode ExtINT, not masked */

void pic_init(void)
{
        outb(PIC1_CMD, ICW1_INIT_WITH_ICW4);
        outb(PIC1_DATA, 0x20);                 /* ICW2: vector base */
        outb(PIC1_DATA, 1u << 2);              /* ICW3: slave on IRQ 2 */
        outb(PIC1_DATA, ICW4_8086 | ICW4_AUTO_EOI);
        outb(PIC2_CMD, ICW1_INIT_WITH_ICW4);
        outb(PIC2_DATA, 0x28);
        outb(PIC2_DATA, 2);                    /* ICW3: cascade identity */
        outb(PIC2_DATA, ICW4_8086);
        outb(PIC1_DATA, MASK_ALL_BUT_TIMER_AND_CASCADE);
        outb(PIC2_DATA, MASK_ALL);
}

/* Two exits: read the mask, write it back without the line's bit. */
void pic_unmask(unsigned irq)
{
        uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
        outb(port, (uint8_t)(inb(port) & ~(1u << (irq & 7))));
}

int pic_timer_pending(void)
{
        return inb(PIC1_CMD) & 1;
}

/* No firmware set up virtual-wire mode on a PVH boot, and the 8259's
 * output reaches the CPU only through a local APIC in that mode or through
 * one that is globally disabled. Disabling it (MSR 0x1b bit 11) is enough
 * for KVM's local APIC, and KVM handles the MSR without an exit. QEMU's
 * emulated APIC (TCG) still gates the 8259 with LINT0's mask after the
 * disable, so where ACPI describes the platform (QEMU microvm passes an
 * RSDP) LINT0 is also set to ExtINT, as PC firmware does: one MMIO write.
 * ftvmm passes no RSDP and never sees it. */
void pic_connect_to_cpu(void)
{
        if (boot_has_acpi())
                *LAPIC_LVT0 = LVT_EXTINT;
        wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) & ~(uint64_t)APIC_GLOBAL_ENABLE);
}
