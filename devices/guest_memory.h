/* Guest RAM as a device that does DMA sees it: bytes at guest-physical
 * addresses [0, size), every access bounds-checked by the device first.
 *
 * KVM's dirty log sees only the guest's own writes, so a device that
 * writes guest RAM (a disk read, a used ring) reports each write through
 * `written`: checkpoint epochs and the memory hash must ship and hash it. */
#ifndef FTVMM_GUEST_MEMORY_H
#define FTVMM_GUEST_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct guest_memory {
        uint8_t *ram;
        uint64_t size;
        void (*written)(void *context, uint64_t addr, uint64_t length);
        void *context;
};

/* [addr, addr + length) lies inside RAM (length 0 included), without
 * overflow. */
static inline bool guest_memory__contains(const struct guest_memory *m, uint64_t addr,
                                          uint64_t length)
{
        return addr <= m->size && length <= m->size - addr;
}

/* Callers check guest_memory__contains first. */
static inline void guest_memory__read(const struct guest_memory *m, uint64_t addr,
                                      void *out, uint64_t length)
{
        memcpy(out, m->ram + addr, length);
}

static inline void guest_memory__write(const struct guest_memory *m, uint64_t addr,
                                       const void *in, uint64_t length)
{
        memcpy(m->ram + addr, in, length);
        if (m->written && length)
                m->written(m->context, addr, length);
}

#endif
