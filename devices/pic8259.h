/* Intel 8259A programmable interrupt controller, master and slave cascaded
 * on IRQ 2 as in the PC. Ports 0x20-0x21 (master) and 0xa0-0xa1 (slave). */
#ifndef FTVMM_PIC8259_H
#define FTVMM_PIC8259_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"

struct pic8259_chip {
        uint8_t irr, isr, imr;
        uint8_t vector_base;   /* ICW2 & 0xf8 */
        uint8_t cascade;       /* ICW3 */
        uint8_t line_levels;   /* input pin levels, for edge detection */
        uint8_t init_step;     /* 0 = operational, 1..3 = awaiting ICW2..4 */
        bool icw4_needed;
        bool single;           /* ICW1 SNGL: no ICW3 follows */
        bool auto_eoi;
        bool read_isr;         /* OCW3 RR/RIS: next read of port 0 gives ISR */
        bool poll;             /* OCW3 poll command pending */
        bool special_mask;
        uint8_t lowest_priority; /* rotation: IRQ with lowest priority */
};

struct pic8259 {
        struct pic8259_chip chip[2]; /* [0] master, [1] slave */
};

void pic8259__init(struct pic8259 *pic);
void pic8259__reset(struct pic8259 *pic);
/* io_handler_fn for the master's and the slave's two ports. */
int pic8259__io_master(void *pic, uint64_t offset, uint8_t *data,
                       uint32_t size, bool is_write);
int pic8259__io_slave(void *pic, uint64_t offset, uint8_t *data,
                      uint32_t size, bool is_write);
/* Input pin for IRQ 0..15; usable as irq_line.set_level. Edge triggered:
 * a rising edge latches the request until it is acknowledged. */
void pic8259__set_irq(void *pic, unsigned irq, bool level);
/* True when the INTR output to the CPU is asserted. */
bool pic8259__interrupt_pending(const struct pic8259 *pic);
/* The CPU's interrupt acknowledge: returns the vector to inject and moves
 * the request from IRR to ISR (spurious IRQ 7/15 when nothing is left). */
uint8_t pic8259__acknowledge(struct pic8259 *pic);
int pic8259__save(const struct pic8259 *pic, struct state_writer *w);
/* On error the PIC is unchanged and r->error says why. */
int pic8259__load(struct pic8259 *pic, struct state_reader *r);

#endif
