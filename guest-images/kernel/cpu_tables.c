/* The TSS and the IDT: the parts of the CPU's tables that cannot be laid out
 * statically (gate and TSS descriptors split addresses into fields). */
#include "kernel.h"
#include "selectors.h"

#define GATE_INTERRUPT 0x8e  /* present, DPL 0, 64-bit interrupt gate */
#define GATE_USER      0x60  /* DPL 3: reachable by int3 from CPL3 */
#define IRQ_BASE       0x20
#define SYSCALL_VECTOR 3
#define TSS_IOMAP_BYTES 18

/* The I/O permission bitmap covers ports 0-0x8f only; ports past the TSS
 * limit are denied. CPL3 may touch port 0x80 and nothing else, so the PIO
 * benchmark runs from user mode while a stray access to a device traps. The
 * CPU reads two bitmap bytes per check, hence the trailing 0xff. */
struct tss {
        uint32_t reserved0;
        uint64_t rsp[3];
        uint64_t reserved1;
        uint64_t ist[7];
        uint64_t reserved2;
        uint16_t reserved3;
        uint16_t iomap_base;
        uint8_t iomap[TSS_IOMAP_BYTES];
} __attribute__((packed));

extern char kernel_stack_top[];
extern uint64_t gdt[GDT_ENTRIES];

static struct tss tss __attribute__((aligned(16))) = {
        .rsp = { (uint64_t)kernel_stack_top },
        .iomap_base = __builtin_offsetof(struct tss, iomap),
        .iomap = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                   0xfe, 0xff },
};

struct idt_gate {
        uint16_t offset_low, selector;
        uint8_t ist, type;
        uint16_t offset_mid;
        uint32_t offset_high, reserved;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));

struct table_pointer {
        uint16_t limit;
        uint64_t base;
} __attribute__((packed));

static void set_gate(unsigned vector, void (*handler)(void), uint8_t type)
{
        uint64_t a = (uint64_t)handler;
        idt[vector] = (struct idt_gate){
                .offset_low = (uint16_t)a, .selector = KERNEL_CS, .type = type,
                .offset_mid = (uint16_t)(a >> 16), .offset_high = (uint32_t)(a >> 32),
        };
}

static void load_tss(void)
{
        uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
        gdt[TSS_SEL / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
                           0x89ull << 40 | (base >> 24 & 0xff) << 56;
        gdt[TSS_SEL / 8 + 1] = base >> 32;
        __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
}

static void load_idt(uint16_t limit)
{
        struct table_pointer p = { .limit = limit, .base = (uint64_t)idt };
        __asm__ volatile("lidt %0" : : "m"(p));
}

void cpu_tables_init(void)
{
        for (unsigned v = 0; v < 32; v++)
                set_gate(v, (void (*)(void))exception_stubs[v], GATE_INTERRUPT);
        set_gate(SYSCALL_VECTOR, syscall_entry, GATE_INTERRUPT | GATE_USER);
        set_gate(IRQ_BASE, irq_timer, GATE_INTERRUPT);
        for (unsigned v = IRQ_BASE + 1; v < IRQ_BASE + 16; v++)
                set_gate(v, irq_ignore, GATE_INTERRUPT);
        load_idt(sizeof(idt) - 1);
        load_tss();
}

void cpu_set_irq_gate(unsigned irq, void (*handler)(void))
{
        set_gate(IRQ_BASE + irq, handler, GATE_INTERRUPT);
}

/* For the triple-fault test: with no gates at all, the next exception
 * escalates to a double fault and then to shutdown. */
void cpu_load_empty_idt(void)
{
        load_idt(0);
}
