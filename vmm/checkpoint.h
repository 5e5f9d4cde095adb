/* Checkpoint epochs (BRIEF.md, "Exit-free stretches"): when an interrupt
 * has waited too long because the guest makes no deterministic exit, the
 * recorder stops the guest wherever it is and logs what a replay needs to be
 * at that same point without executing the epoch: the vCPU, every device,
 * and the pages that changed since the previous checkpoint.
 *
 * The state is compressed (replication/compression.h: LZ4 in chunks, after
 * the unpacked size) state records: "VCPU", the devices
 * (vmm/device_states.h), then "PAGE": a u32 count and, per page, its u64
 * page number and 4096 bytes. */
#ifndef FTVMM_CHECKPOINT_H
#define FTVMM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "machine.h"
#include "vcpu_state.h"

struct checkpoint_capture {
        uint8_t *state;   /* malloc'd */
        size_t length;
        uint32_t pages;
};

/* Encodes the machine as it stands: the vCPU (from KVM), the devices and
 * the pages dirty for checkpoints (which it then clears). Returns 0 or
 * -errno. */
int checkpoint__capture(struct machine *m, struct checkpoint_capture *c);
/* Puts a machine that is where the checkpoint's epoch began into the
 * checkpoint's state, vCPU included. Returns 0, or -1 with a reason. */
int checkpoint__apply(struct machine *m, const uint8_t *state, size_t length,
                      char *err, size_t err_size);

/* The two halves that do not touch KVM, for tests and fuzzing: encoding
 * the given vCPU state, the machine's devices and the pages set in dirty
 * (one bit per page); decoding into RAM (marking the pages it writes),
 * devices and *vcpu. */
int checkpoint__encode_state(const struct machine *m, const struct vcpu_state *vcpu,
                             const uint64_t *dirty, struct checkpoint_capture *c);
int checkpoint__decode(struct machine *m, const uint8_t *state, size_t length,
                       struct vcpu_state *vcpu, char *err, size_t err_size);

#endif
