/* What a replication session asks of the machine beyond its devices and
 * RAM: the operations that need KVM. They are function pointers so that
 * the session's unit tests can run without KVM (tests/unit/
 * fake_machine_control.c stands in for them). */
#ifndef FTVMM_MACHINE_CONTROL_H
#define FTVMM_MACHINE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

struct machine;

struct machine_control {
        /* checkpoint__capture. Returns 0 or -errno. */
        int (*capture)(struct machine *m, struct checkpoint_capture *c);
        /* checkpoint__apply. Returns 0 or -1 with a reason. */
        int (*apply)(struct machine *m, const uint8_t *state, size_t length,
                     char *err, size_t err_size);
        /* memory_hash__compute. Returns 0 or -errno. */
        int (*memory_hash)(struct machine *m, uint64_t *value);
        /* Turns on KVM's dirty-page log. Returns 0 or -errno. */
        int (*track_dirty_pages)(struct machine *m);
        /* The whole machine as a snapshot (vmm/snapshot.h), vCPU from KVM:
         * how a backup joins. Returns 0 or -errno. */
        int (*snapshot)(struct machine *m, struct state_writer *w);
};

/* The real thing, through KVM. */
extern const struct machine_control machine_control__kvm;

#endif
