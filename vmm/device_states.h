/* The state of every device of the machine, in one fixed order: what a
 * snapshot and a checkpoint epoch both carry. */
#ifndef FTVMM_DEVICE_STATES_H
#define FTVMM_DEVICE_STATES_H

#include "../replication/state_record.h"
#include "machine.h"

/* Returns 0 or -errno. */
int device_states__save(const struct machine *m, struct state_writer *w);
/* Returns 0, or -1 with the reason (naming the record) in r->error. A
 * device whose record is rejected keeps its state; the others before it
 * have already been loaded. */
int device_states__load(struct machine *m, struct state_reader *r);

/* Continues crc (zlib's crc32) over every device's saved state. */
uint32_t device_states__crc(const struct machine *m, uint32_t crc);
/* The same by device, in save order: a crc32 of each record's tag,
 * version and payload. (Not of the whole record: a record ends with its
 * own crc32, and a CRC over a message followed by its CRC is the same for
 * every message, so such a digest would see no state at all.) Writes at
 * most max and returns how many. */
size_t device_states__crcs(const struct machine *m, uint32_t *out, size_t max);
/* The format of every device's state, (tag, version) in save order: what
 * a log's description carries so that a replay refuses device models it
 * does not share. Returns the number written, at most max. */
size_t device_states__formats(const struct machine *m, struct state_record_header *out,
                              size_t max);

#endif
