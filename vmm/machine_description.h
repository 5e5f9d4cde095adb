/* What a log says about the machine that wrote it, so that a replay or a
 * backup refuses a log it cannot execute faithfully (replication/
 * log_format.h): three state records,
 *   "VERS" ftvmm's version (u16 length, bytes),
 *   "DEVF" every device's state format: u16 count, then tag[4] and u16
 *          version each, in save order,
 *   "CPUM" the CPU model the guest sees (cpu_model.h). */
#ifndef FTVMM_MACHINE_DESCRIPTION_H
#define FTVMM_MACHINE_DESCRIPTION_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_model.h"
#include "machine.h"

/* Describes m (devices created; CPU model cpu). Returns 0 or -errno. */
int machine_description__encode(const struct machine *m, const struct cpu_model *cpu,
                                 struct state_writer *w);
/* Checks a description against this build (version and device formats)
 * and takes out its CPU model. Returns 0, or an exit status (EXIT_REFUSED
 * for a mismatch, EXIT_BAD_IMAGE for damage) with a message. */
int machine_description__check(const struct machine *m, const uint8_t *bytes, size_t length,
                               struct cpu_model *cpu, char *err, size_t err_size);

#endif
