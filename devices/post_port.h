/* Port 0x80, the POST diagnostic port: writes are discarded and reads give
 * 0xff, as on a PC and on QEMU. Guests use it as a harmless I/O delay, and
 * the benchmarks use it to measure the cost of a port I/O exit. */
#ifndef FTVMM_POST_PORT_H
#define FTVMM_POST_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"

struct post_port {
        uint8_t last_code; /* last value written, for diagnostics */
};

void post_port__init(struct post_port *dev);
int post_port__io(void *dev, uint64_t offset, uint8_t *data, uint32_t size,
                  bool is_write);
int post_port__save(const struct post_port *dev, struct state_writer *w);
int post_port__load(struct post_port *dev, struct state_reader *r);

#endif
