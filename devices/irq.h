/* An interrupt line from a device to the interrupt controller.
 *
 * Devices drive a level; the controller decides what an edge means. Keeping
 * this indirection lets unit tests observe a device's line without a PIC. */
#ifndef FTVMM_IRQ_H
#define FTVMM_IRQ_H

#include <stdbool.h>

struct irq_line {
        void (*set_level)(void *controller, unsigned irq, bool level);
        void *controller;
        unsigned irq;
};

static inline void irq_line__set(const struct irq_line *line, bool level)
{
        if (line && line->set_level)
                line->set_level(line->controller, line->irq, level);
}

static inline void irq_line__pulse(const struct irq_line *line)
{
        irq_line__set(line, true);
        irq_line__set(line, false);
}

#endif
