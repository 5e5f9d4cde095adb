#include "io_bus.h"

#include <errno.h>
#include <string.h>

void io_bus__init(struct io_bus *bus, const char *name)
{
        memset(bus, 0, sizeof(*bus));
        bus->name = name;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
        return a < b + blen && b < a + alen;
}

int io_bus__register(struct io_bus *bus, uint64_t base, uint64_t length,
                     const char *name, io_handler_fn handler, void *device)
{
        if (length == 0 || base + length < base || !handler)
                return -EINVAL;
        if (bus->count == IO_BUS_MAX_RANGES)
                return -ENOSPC;
        for (unsigned i = 0; i < bus->count; i++)
                if (ranges_overlap(base, length, bus->ranges[i].base,
                                   bus->ranges[i].length))
                        return -EEXIST;
        bus->ranges[bus->count++] = (struct io_range){
                .base = base, .length = length, .name = name,
                .handler = handler, .device = device,
        };
        return 0;
}

const struct io_range *io_bus__find(const struct io_bus *bus, uint64_t addr,
                                    uint32_t size)
{
        for (unsigned i = 0; i < bus->count; i++) {
                const struct io_range *r = &bus->ranges[i];
                /* The whole access must fall inside one device's range; an
                 * empty access touches no device. */
                if (size && addr >= r->base && size <= r->length &&
                    addr - r->base <= r->length - size)
                        return r;
        }
        return NULL;
}

int io_bus__access(const struct io_bus *bus, uint64_t addr, uint8_t *data,
                   uint32_t size, bool is_write)
{
        const struct io_range *r = io_bus__find(bus, addr, size);

        if (!r)
                return -ENODEV;
        return r->handler(r->device, addr - r->base, data, size, is_write);
}
