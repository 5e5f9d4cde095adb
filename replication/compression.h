/* Compression of large state (checkpoint pages, snapshot RAM) with LZ4,
 * chosen over zlib because a checkpoint stalls the guest: profiled under
 * `record`, zlib's level 1 took half of the recorder's time.
 *
 * Layout: the unpacked size (u64), then chunks of up to
 * COMPRESSION_CHUNK unpacked bytes, each a u32 packed length and an LZ4
 * block (LZ4 blocks are limited to 2 GB; a checkpoint of a large guest is
 * not). */
#ifndef FTVMM_COMPRESSION_H
#define FTVMM_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

#include "state_record.h"

#define COMPRESSION_CHUNK (64u << 20)

/* Appends the packed form of in[0..n) to w. Returns 0 or -errno. */
int compression__pack(const uint8_t *in, size_t n, struct state_writer *w);
/* The unpacked size a packed buffer claims; -1 (with a reason) if it has
 * none. */
int compression__unpacked_size(const uint8_t *in, size_t n, uint64_t *size,
                               char *err, size_t err_size);
/* Unpacks into out, which must hold exactly the claimed size. Returns 0, or
 * -1 with a reason (damage anywhere is refused, never half-applied to the
 * caller's state: out is the caller's scratch). */
int compression__unpack(const uint8_t *in, size_t n, uint8_t *out, uint64_t out_size,
                        char *err, size_t err_size);

#endif
