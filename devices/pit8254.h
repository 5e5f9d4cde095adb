/* Intel 8254 programmable interval timer at ports 0x40-0x43; channel 0
 * drives IRQ 0. Counters are computed from the environment's monotonic
 * clock, never from a host clock directly. */
#ifndef FTVMM_PIT8254_H
#define FTVMM_PIT8254_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "irq.h"
#include "../replication/environment.h"

#define PIT_FREQUENCY_HZ 1193182u

struct pit8254_channel {
        uint8_t mode;          /* 0..5 */
        uint8_t access;        /* 1 lsb, 2 msb, 3 lsb then msb */
        bool bcd;
        bool gate;
        uint32_t reload;       /* 1..65536 (0 written means 65536) */
        uint64_t start_ns;     /* environment time the count was loaded */
        bool counting;         /* a count has been written */
        bool write_msb_next;   /* lsb-then-msb: next write is the msb */
        bool read_msb_next;
        uint8_t write_lsb;     /* lsb waiting for its msb */
        bool latched_count_valid;
        uint16_t latched_count;
        bool latched_msb_next;
        bool latched_status_valid;
        uint8_t latched_status;
        bool null_count;
        /* Counting suspended while the gate is low (modes 0, 2, 3, 4), or a
         * count written with the gate low waiting for it to rise: the
         * elapsed clocks are frozen in paused_ticks. Implies counting and
         * !gate. */
        bool paused;
        uint64_t paused_ticks;
};

struct pit8254 {
        struct pit8254_channel channel[3];
        uint64_t next_irq_ns;  /* UINT64_MAX when channel 0 raises nothing */
        uint64_t irqs_raised;
        struct environment *env;
        struct irq_line irq0;
};

void pit8254__init(struct pit8254 *pit, struct environment *env,
                   struct irq_line irq0);
void pit8254__reset(struct pit8254 *pit);
int pit8254__io(void *pit, uint64_t offset, uint8_t *data, uint32_t size,
                bool is_write);
/* The GATE input of a channel. On a PC only channel 2's is wired, to bit 0
 * of port 0x61; channels 0 and 1 are tied high. A rising edge restarts
 * modes 1, 2, 3 and 5; a low gate suspends modes 0, 2, 3 and 4. */
void pit8254__set_gate(struct pit8254 *pit, unsigned channel, bool level);
bool pit8254__gate(const struct pit8254 *pit, unsigned channel);
/* The OUT pin of a channel now (channel 2's is readable in port 0x61). */
bool pit8254__output(struct pit8254 *pit, unsigned channel);
/* Environment time of the next IRQ 0 edge, UINT64_MAX if none is due. */
uint64_t pit8254__next_deadline_ns(const struct pit8254 *pit);
/* Raise IRQ 0 if its deadline is at or before now. Periods missed while the
 * host was late are coalesced into one interrupt, as a late PC would. */
void pit8254__advance(struct pit8254 *pit, uint64_t now_ns);
/* Moves the PIT's time base, for a machine saved when its environment's
 * clock read from_ns and restored when another clock reads to_ns. */
void pit8254__rebase(struct pit8254 *pit, uint64_t from_ns, uint64_t to_ns);
int pit8254__save(const struct pit8254 *pit, struct state_writer *w);
int pit8254__load(struct pit8254 *pit, struct state_reader *r);

#endif
