/* Checks every device's saved state gets: a save/load round trip that
 * reproduces the same bytes, and rejection of every truncation and of every
 * single-byte corruption with the device left unchanged. */
#ifndef FTVMM_TEST_STATE_CHECKS_H
#define FTVMM_TEST_STATE_CHECKS_H

#include <stddef.h>

#include "../../replication/state_record.h"

struct state_ops {
        int (*save)(const void *device, struct state_writer *w);
        int (*load)(void *device, struct state_reader *r);
        size_t size; /* sizeof the device struct */
};

/* Saves `device`, loads the blob into `fresh` and saves that again: both
 * blobs must be identical. */
void check_state_round_trip(const struct state_ops *ops, const void *device, void *fresh);
/* Feeds every prefix and every one-byte corruption of `device`'s blob to
 * load on `victim`: each must fail with a message and leave it unchanged. */
void check_state_rejects_damage(const struct state_ops *ops, const void *device, void *victim);

/* Adapts a device's typed save/load to struct state_ops. */
#define STATE_OPS(type, prefix)                                                          \
        static int prefix##_save_any(const void *d, struct state_writer *w)              \
        { return prefix##__save((const type *)d, w); }                                   \
        static int prefix##_load_any(void *d, struct state_reader *r)                    \
        { return prefix##__load((type *)d, r); }                                         \
        static const struct state_ops prefix##_state_ops = {                              \
                prefix##_save_any, prefix##_load_any, sizeof(type) }

#endif
