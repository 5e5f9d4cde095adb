#include "pic8259.h"

#include <errno.h>
#include <string.h>

#define ICW1_INIT 0x10
#define ICW1_NEED_ICW4 0x01
#define ICW1_SINGLE 0x02
#define ICW4_AUTO_EOI 0x02
#define OCW3_SELECT 0x08
#define OCW3_READ 0x02
#define OCW3_READ_ISR 0x01
#define OCW3_POLL 0x04
#define OCW3_SMM_SET 0x40
#define OCW3_SMM_VALUE 0x20
#define CASCADE_IRQ 2

static void chip_reset(struct pic8259_chip *c)
{
        /* The guest programs the PIC itself; until it does every input is
         * masked, so nothing is delivered through an unset vector base. */
        memset(c, 0, sizeof(*c));
        c->imr = 0xff;
        c->lowest_priority = 7;
}

void pic8259__reset(struct pic8259 *pic)
{
        uint8_t master_levels = pic->chip[0].line_levels;
        uint8_t slave_levels = pic->chip[1].line_levels;
        chip_reset(&pic->chip[0]);
        chip_reset(&pic->chip[1]);
        /* Reset does not change what the devices drive on the pins. */
        pic->chip[0].line_levels = master_levels;
        pic->chip[1].line_levels = slave_levels;
}

void pic8259__init(struct pic8259 *pic)
{
        memset(pic, 0, sizeof(*pic));
        pic8259__reset(pic);
}

/* Priority of irq relative to the rotation: 0 is highest. */
static unsigned priority_of(const struct pic8259_chip *c, unsigned irq)
{
        return (irq - c->lowest_priority - 1) & 7;
}

/* Highest-priority bit set in mask, or -1. */
static int highest(const struct pic8259_chip *c, uint8_t mask)
{
        for (unsigned p = 0; p < 8; p++) {
                unsigned irq = (c->lowest_priority + 1 + p) & 7;
                if (mask & (1u << irq))
                        return (int)irq;
        }
        return -1;
}

/* The IRQ this chip would raise INT for, or -1. */
static int chip_pending_irq(const struct pic8259_chip *c)
{
        int req = highest(c, c->irr & ~c->imr);
        if (req < 0)
                return -1;
        uint8_t in_service = c->isr;
        if (c->special_mask)
                in_service &= ~c->imr;
        int busy = highest(c, in_service);
        if (busy >= 0 && priority_of(c, (unsigned)busy) <= priority_of(c, (unsigned)req))
                return -1;
        return req;
}

static void chip_set_input(struct pic8259_chip *c, unsigned line, bool level)
{
        uint8_t bit = (uint8_t)(1u << line);
        /* Edge triggered: the rising edge latches the request, which then
         * stays in IRR after the line drops, so a device may pulse it. */
        if (level && !(c->line_levels & bit))
                c->irr |= bit;
        c->line_levels = level ? (c->line_levels | bit) : (c->line_levels & ~bit);
}

/* The slave's INT reaches master IRQ 2 as a level: it requests for as long
 * as the slave has something to deliver. */
static void update_cascade(struct pic8259 *pic)
{
        struct pic8259_chip *master = &pic->chip[0];
        uint8_t bit = 1u << CASCADE_IRQ;
        if (chip_pending_irq(&pic->chip[1]) >= 0)
                master->irr |= bit;
        else
                master->irr &= (uint8_t)~bit;
}

void pic8259__set_irq(void *opaque, unsigned irq, bool level)
{
        struct pic8259 *pic = opaque;
        if (irq >= 16 || irq == CASCADE_IRQ)
                return;
        chip_set_input(&pic->chip[irq >> 3], irq & 7, level);
        update_cascade(pic);
}

bool pic8259__interrupt_pending(const struct pic8259 *pic)
{
        return chip_pending_irq(&pic->chip[0]) >= 0;
}

/* INTA on one chip: the IRQ acknowledged, or 7 (spurious) with no ISR bit. */
static unsigned chip_acknowledge(struct pic8259_chip *c)
{
        int irq = chip_pending_irq(c);
        if (irq < 0)
                return 7;
        uint8_t bit = (uint8_t)(1u << irq);
        c->irr &= (uint8_t)~bit;
        if (!c->auto_eoi)
                c->isr |= bit;
        return (unsigned)irq;
}

uint8_t pic8259__acknowledge(struct pic8259 *pic)
{
        struct pic8259_chip *master = &pic->chip[0];
        bool from_slave = chip_pending_irq(master) == CASCADE_IRQ;
        unsigned irq = chip_acknowledge(master);
        uint8_t vector = (uint8_t)(master->vector_base + irq);
        if (from_slave)
                vector = (uint8_t)(pic->chip[1].vector_base + chip_acknowledge(&pic->chip[1]));
        update_cascade(pic);
        return vector;
}

static void non_specific_eoi(struct pic8259_chip *c, bool rotate)
{
        int irq = highest(c, c->isr);
        if (irq < 0)
                return;
        c->isr &= (uint8_t)~(1u << irq);
        if (rotate)
                c->lowest_priority = (uint8_t)irq;
}

static void write_ocw2(struct pic8259_chip *c, uint8_t v)
{
        unsigned level = v & 7;
        switch (v >> 5) {
        case 1: non_specific_eoi(c, false); break;          /* EOI */
        case 3: c->isr &= (uint8_t)~(1u << level); break;    /* specific EOI */
        case 5: non_specific_eoi(c, true); break;           /* rotate on EOI */
        case 6: c->lowest_priority = (uint8_t)level; break;  /* set priority */
        case 7:                                              /* rotate, specific EOI */
                c->isr &= (uint8_t)~(1u << level);
                c->lowest_priority = (uint8_t)level;
                break;
        default: break; /* rotate-in-auto-EOI modes: no state we model */
        }
}

static void write_ocw3(struct pic8259_chip *c, uint8_t v)
{
        if (v & OCW3_READ)
                c->read_isr = v & OCW3_READ_ISR;
        if (v & OCW3_POLL)
                c->poll = true;
        if (v & OCW3_SMM_SET)
                c->special_mask = v & OCW3_SMM_VALUE;
}

static void write_command(struct pic8259_chip *c, uint8_t v)
{
        if (v & ICW1_INIT) {
                uint8_t levels = c->line_levels;
                chip_reset(c);
                c->imr = 0;
                c->line_levels = levels;
                c->icw4_needed = v & ICW1_NEED_ICW4;
                c->init_step = 1;
                c->single = v & ICW1_SINGLE;
                return;
        }
        if (v & OCW3_SELECT)
                write_ocw3(c, v);
        else
                write_ocw2(c, v);
}

static void write_data(struct pic8259_chip *c, uint8_t v)
{
        switch (c->init_step) {
        case 0:
                c->imr = v;
                return;
        case 1:
                c->vector_base = v & 0xf8;
                c->init_step = c->single ? (c->icw4_needed ? 3 : 0) : 2;
                return;
        case 2:
                c->cascade = v;
                c->init_step = c->icw4_needed ? 3 : 0;
                return;
        case 3:
                c->auto_eoi = v & ICW4_AUTO_EOI;
                c->init_step = 0;
                return;
        }
}

static uint8_t read_poll(struct pic8259 *pic, unsigned index)
{
        struct pic8259_chip *c = &pic->chip[index];
        c->poll = false;
        int irq = chip_pending_irq(c);
        if (irq < 0)
                return 0;
        c->irr &= (uint8_t)~(1u << irq);
        c->isr |= (uint8_t)(1u << irq);
        update_cascade(pic);
        return (uint8_t)(0x80 | irq);
}

static int chip_io(struct pic8259 *pic, unsigned index, uint64_t offset, uint8_t *data,
                   uint32_t size, bool is_write)
{
        struct pic8259_chip *c = &pic->chip[index];
        if (size != 1 || offset > 1)
                return -EINVAL;
        if (is_write) {
                if (offset == 0)
                        write_command(c, data[0]);
                else
                        write_data(c, data[0]);
                update_cascade(pic);
                return 0;
        }
        if (c->poll)
                data[0] = read_poll(pic, index);
        else if (offset == 0)
                data[0] = c->read_isr ? c->isr : c->irr;
        else
                data[0] = c->imr;
        return 0;
}

int pic8259__io_master(void *pic, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        return chip_io(pic, 0, offset, data, size, is_write);
}

int pic8259__io_slave(void *pic, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        return chip_io(pic, 1, offset, data, size, is_write);
}

static void save_chip(const struct pic8259_chip *c, struct state_writer *w)
{
        state_writer__u8(w, c->irr);
        state_writer__u8(w, c->isr);
        state_writer__u8(w, c->imr);
        state_writer__u8(w, c->vector_base);
        state_writer__u8(w, c->cascade);
        state_writer__u8(w, c->line_levels);
        state_writer__u8(w, c->init_step);
        state_writer__u8(w, c->lowest_priority);
        state_writer__bool(w, c->icw4_needed);
        state_writer__bool(w, c->single);
        state_writer__bool(w, c->auto_eoi);
        state_writer__bool(w, c->read_isr);
        state_writer__bool(w, c->poll);
        state_writer__bool(w, c->special_mask);
}

static void load_chip(struct pic8259_chip *c, struct state_reader *r, const char *name)
{
        c->irr = state_reader__u8(r);
        c->isr = state_reader__u8(r);
        c->imr = state_reader__u8(r);
        c->vector_base = state_reader__u8(r);
        c->cascade = state_reader__u8(r);
        c->line_levels = state_reader__u8(r);
        c->init_step = state_reader__u8(r);
        c->lowest_priority = state_reader__u8(r);
        c->icw4_needed = state_reader__bool(r);
        c->single = state_reader__bool(r);
        c->auto_eoi = state_reader__bool(r);
        c->read_isr = state_reader__bool(r);
        c->poll = state_reader__bool(r);
        c->special_mask = state_reader__bool(r);
        if (c->init_step > 3)
                state_reader__fail(r, "PIC %s init_step %u out of range", name, c->init_step);
        if (c->lowest_priority > 7)
                state_reader__fail(r, "PIC %s lowest_priority %u out of range", name,
                                   c->lowest_priority);
        if (c->vector_base & 7)
                state_reader__fail(r, "PIC %s vector base 0x%x not a multiple of 8", name,
                                   c->vector_base);
}

int pic8259__save(const struct pic8259 *pic, struct state_writer *w)
{
        state_writer__begin(w, "PIC ", 1);
        save_chip(&pic->chip[0], w);
        save_chip(&pic->chip[1], w);
        return state_writer__end(w);
}

int pic8259__load(struct pic8259 *pic, struct state_reader *r)
{
        struct pic8259 loaded;
        if (state_reader__begin(r, "PIC ", 1))
                return -EINVAL;
        load_chip(&loaded.chip[0], r, "master");
        load_chip(&loaded.chip[1], r, "slave");
        if (state_reader__end(r))
                return -EINVAL;
        *pic = loaded;
        return 0;
}
