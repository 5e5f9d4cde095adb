/* National Semiconductor 16550A UART (COM1: ports 0x3f8-0x3ff, IRQ 4).
 * Transmitted bytes go to an output sink at once, so the transmitter is
 * always empty; received bytes arrive through uart16550__receive. */
#ifndef FTVMM_UART16550_H
#define FTVMM_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "irq.h"
#include "output_sink.h"

#define UART16550_FIFO_SIZE 16

struct uart16550 {
        uint8_t ier, iir_fifo_bits, fcr, lcr, mcr, msr, scr;
        uint8_t dll, dlm;
        bool thr_interrupt_pending; /* THRE interrupt not yet cleared */
        uint8_t rx_fifo[UART16550_FIFO_SIZE];
        uint8_t rx_head, rx_count;
        bool overrun;
        struct irq_line irq;
        struct output_sink out;
};

void uart16550__init(struct uart16550 *uart, struct irq_line irq,
                     struct output_sink out);
void uart16550__reset(struct uart16550 *uart);
int uart16550__io(void *uart, uint64_t offset, uint8_t *data, uint32_t size,
                  bool is_write);
/* Bytes arriving on the line; returns how many fit in the receive FIFO. */
size_t uart16550__receive(struct uart16550 *uart, const uint8_t *bytes,
                          size_t count);
int uart16550__save(const struct uart16550 *uart, struct state_writer *w);
int uart16550__load(struct uart16550 *uart, struct state_reader *r);

#endif
