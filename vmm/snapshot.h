/* A snapshot: the whole machine at one position, in one file that a fresh
 * process turns back into a running VM.
 *
 * Layout: the magic "FTVMSNAP", a little-endian u32 format version, then
 * state records (replication/state_record.h) in this order: "MACH" (RAM
 * size, position, the environment clock the PIT last saw, so a restore can
 * rebase it, and the console bytes the guest wrote so far), the machine's
 * description ("VERS", "DEVF", "CPUM": vmm/machine_description.h), "VCPU",
 * the devices ("PIC ", "PIT ", "RTC ", "UART", "DBGX", "POST", "NMSC", "PCI1"), "RAM "
 * (its size, then guest RAM compressed: replication/compression.h). Bump SNAPSHOT_VERSION on any change to the
 * layout or to a record; tests/unit/test_log_layout.c fails until you do. */
#ifndef FTVMM_SNAPSHOT_H
#define FTVMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "machine.h"
#include "vcpu_state.h"

#define SNAPSHOT_MAGIC "FTVMSNAP"
#define SNAPSHOT_VERSION 5u /* 5: PIT record v2, NMSC and PCI1 */
#define SNAPSHOT_MAX_FILE_SIZE (80ull << 30)

/* Serialises machine and vCPU state. Returns 0 or -errno. */
int snapshot__encode(const struct machine *m, const struct vcpu_state *vcpu,
                     struct state_writer *w);
/* What snapshot__decode also hands back. */
struct snapshot_extras {
        struct cpu_model cpu;  /* the guest's CPU model, to start the VM with */
};
/* The RAM size a snapshot needs, so the machine can be created first.
 * Returns 0, or -1 with a one-line reason in err. */
int snapshot__ram_size(const uint8_t *buf, size_t length, uint64_t *ram_size,
                       char *err, size_t err_size);
/* Restores into a machine created with that RAM size (devices wired, KVM not
 * yet started). Returns 0, or an exit status with a reason naming the
 * record at fault: EXIT_BAD_IMAGE (damaged), EXIT_REFUSED (written by
 * another ftvmm version or device format). */
int snapshot__decode(const uint8_t *buf, size_t length, struct machine *m,
                     struct vcpu_state *vcpu, struct snapshot_extras *extras,
                     char *err, size_t err_size);

/* Whole-file helpers for the command. Return 0 or an exit_status. */
int snapshot__save_file(struct machine *m, const char *path, char *err, size_t err_size);
int snapshot__read_file(const char *path, uint8_t **buf, size_t *length,
                        char *err, size_t err_size);

#endif
