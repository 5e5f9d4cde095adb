/* The state of every device of the machine, in one fixed order: what a
 * snapshot and a checkpoint epoch both carry. */
#ifndef FTVMM_DEVICE_STATES_H
#define FTVMM_DEVICE_STATES_H

#include "../devices/device_state.h"
#include "machine.h"

/* Returns 0 or -errno. */
int device_states__save(const struct machine *m, struct state_writer *w);
/* Returns 0, or -1 with the reason (naming the record) in r->error. A
 * device whose record is rejected keeps its state; the others before it
 * have already been loaded. */
int device_states__load(struct machine *m, struct state_reader *r);

#endif
