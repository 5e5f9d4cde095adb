/* Where a device's guest-visible output goes (console bytes today).
 * Outputs are a separate interface because replication holds them until the
 * backup has acknowledged the log that produced them (output commit). */
#ifndef FTVMM_OUTPUT_SINK_H
#define FTVMM_OUTPUT_SINK_H

#include <stddef.h>
#include <stdint.h>

struct output_sink {
        void (*write)(void *context, const uint8_t *bytes, size_t count);
        void *context;
};

static inline void output_sink__write(const struct output_sink *sink,
                                      const uint8_t *bytes, size_t count)
{
        if (sink->write)
                sink->write(sink->context, bytes, count);
}

#endif
