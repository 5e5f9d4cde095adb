/* QEMU's isa-debug-exit (iobase 0xf4, iosize 4): a guest writes a status and
 * the machine stops. QEMU exits with (status << 1) | 1; the VMM decides what
 * to do with the request. */
#ifndef FTVMM_DEBUG_EXIT_H
#define FTVMM_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"

struct debug_exit {
        bool requested;
        uint32_t status;
};

void debug_exit__init(struct debug_exit *dev);
int debug_exit__io(void *dev, uint64_t offset, uint8_t *data, uint32_t size,
                   bool is_write);
int debug_exit__save(const struct debug_exit *dev, struct state_writer *w);
int debug_exit__load(struct debug_exit *dev, struct state_reader *r);

#endif
