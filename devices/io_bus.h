/* Dispatch of guest port I/O and MMIO accesses to devices by address range.
 *
 * A device registers the ranges it decodes and receives the offset into the
 * range, so it never needs to know where the platform placed it. */
#ifndef FTVMM_IO_BUS_H
#define FTVMM_IO_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* Return 0 when the access was handled; a negative errno when the device
 * refuses it (wrong size, register that does not exist). On a read the
 * handler fills data[0..size). */
typedef int (*io_handler_fn)(void *device, uint64_t offset, uint8_t *data,
                             uint32_t size, bool is_write);

struct io_range {
        uint64_t base;
        uint64_t length;
        const char *name;
        io_handler_fn handler;
        void *device;
};

#define IO_BUS_MAX_RANGES 32

struct io_bus {
        const char *name; /* "pio" or "mmio", for error messages */
        unsigned count;
        struct io_range ranges[IO_BUS_MAX_RANGES];
};

void io_bus__init(struct io_bus *bus, const char *name);
/* Fails with -EEXIST on overlap, -ENOSPC when full, -EINVAL on empty range. */
int io_bus__register(struct io_bus *bus, uint64_t base, uint64_t length,
                     const char *name, io_handler_fn handler, void *device);
const struct io_range *io_bus__find(const struct io_bus *bus, uint64_t addr,
                                    uint32_t size);
/* -ENODEV when no device decodes [addr, addr+size). */
int io_bus__access(const struct io_bus *bus, uint64_t addr, uint8_t *data,
                   uint32_t size, bool is_write);

#endif
