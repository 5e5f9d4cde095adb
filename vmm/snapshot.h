/* A snapshot: the whole machine at one position, in one file that a fresh
 * process turns back into a running VM.
 *
 * Layout: the magic "FTVMSNAP", a little-endian u32 format version, then
 * records in the device-state format (tag, version, length, payload, CRC32),
 * in this order: "MACH" (RAM size, position, the
 * environment clock the PIT last saw, so a restore can rebase it), "VCPU", "PIC ", "PIT ",
 * "RTC ", "UART", "DBGX", "POST", "RAM " (guest RAM, zlib-compressed).
 * Bump SNAPSHOT_VERSION on any change to the layout or to a record. */
#ifndef FTVMM_SNAPSHOT_H
#define FTVMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "../devices/device_state.h"
#include "machine.h"
#include "vcpu_state.h"

#define SNAPSHOT_MAGIC "FTVMSNAP"
#define SNAPSHOT_VERSION 2u
#define SNAPSHOT_MAX_FILE_SIZE (80ull << 30)

/* Serialises machine and vCPU state. Returns 0 or -errno. */
int snapshot__encode(const struct machine *m, const struct vcpu_state *vcpu,
                     struct state_writer *w);
/* The RAM size a snapshot needs, so the machine can be created first.
 * Returns 0, or -1 with a one-line reason in err. */
int snapshot__ram_size(const uint8_t *buf, size_t length, uint64_t *ram_size,
                       char *err, size_t err_size);
/* Restores into a machine created with that RAM size (devices wired, KVM not
 * yet started). Returns 0, or -1 with a reason naming the record at fault. */
int snapshot__decode(const uint8_t *buf, size_t length, struct machine *m,
                     struct vcpu_state *vcpu, char *err, size_t err_size);

/* Whole-file helpers for the command. Return 0 or an exit_status. */
int snapshot__save_file(struct machine *m, const char *path, char *err, size_t err_size);
int snapshot__read_file(const char *path, uint8_t **buf, size_t *length,
                        char *err, size_t err_size);

#endif
