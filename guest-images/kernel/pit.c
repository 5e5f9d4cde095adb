/* 8254 channel 0 in mode 2 (rate generator), the only interrupt source.
 * Programming it costs three exits, reading it three (latch, lsb, msb). */
#include "io.h"
#include "kernel.h"

#define PIT_CH0  0x40
#define PIT_CMD  0x43
#define PIT_CH0_LOBYTE_HIBYTE_MODE2 0x34
#define PIT_CH0_LATCH 0x00

/* Incremented by irq_timer (vectors.S) and nothing else. */
volatile uint64_t timer_ticks;

void pit_set_reload(uint32_t reload)
{
        outb(PIT_CMD, PIT_CH0_LOBYTE_HIBYTE_MODE2);
        outb(PIT_CH0, (uint8_t)reload);
        outb(PIT_CH0, (uint8_t)(reload >> 8));
}

/* The current count, from reload down to 1. */
uint32_t pit_read_count(void)
{
        outb(PIT_CMD, PIT_CH0_LATCH);
        uint32_t lo = inb(PIT_CH0);
        uint32_t hi = inb(PIT_CH0);
        return hi << 8 | lo;
}
