/* Checkpoint epochs (BRIEF.md, "Exit-free stretches"): when an interrupt
 * has waited too long because the guest makes no deterministic exit, the
 * recorder stops the guest wherever it is and logs what a replay needs to be
 * at that same point without executing the epoch: the vCPU, every device,
 * and the pages the guest wrote since the previous checkpoint.
 *
 * The state is a zlib stream, preceded by its unpacked size (u64), of
 * device-state records: "VCPU", the devices (vmm/device_states.h), then
 * "PAGE": a u32 count and, per page, its u64 page number and 4096 bytes. */
#ifndef FTVMM_CHECKPOINT_H
#define FTVMM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "machine.h"
#include "vcpu_state.h"

/* Starts tracking the pages the guest writes. Returns 0 or -errno. */
int checkpoint__start_tracking(struct machine *m);
/* Encodes the machine as it stands and restarts page tracking. On success
 * *state is malloc'd; returns 0 or -errno. */
int checkpoint__encode(struct machine *m, uint8_t **state, size_t *length,
                       uint32_t *pages);
/* Puts a machine that is where the checkpoint's epoch began into the
 * checkpoint's state. Returns 0, or -1 with a reason in err. */
int checkpoint__apply(struct machine *m, const uint8_t *state, size_t length,
                      char *err, size_t err_size);

/* The two halves that do not touch KVM, for tests and fuzzing: encoding
 * the given vCPU state, the machine's devices and the pages set in dirty
 * (one bit per page); decoding into RAM, devices and *vcpu. */
int checkpoint__encode_state(const struct machine *m, const struct vcpu_state *vcpu,
                             const uint64_t *dirty, uint8_t **state, size_t *length,
                             uint32_t *pages);
int checkpoint__decode(struct machine *m, const uint8_t *state, size_t length,
                       struct vcpu_state *vcpu, char *err, size_t err_size);

#endif
