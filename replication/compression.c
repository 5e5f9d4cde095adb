#include "compression.h"

#include <errno.h>
#include <lz4.h>
#include <string.h>

#include "../vmm/error_message.h"

int compression__pack(const uint8_t *in, size_t n, struct state_writer *w)
{
        state_writer__u64(w, n);
        for (size_t done = 0; done < n;) {
                size_t chunk = n - done < COMPRESSION_CHUNK ? n - done : COMPRESSION_CHUNK;
                int bound = LZ4_compressBound((int)chunk);
                uint8_t *at = state_writer__reserve(w, 4 + (size_t)bound);
                if (!at)
                        return -ENOMEM;
                int packed = LZ4_compress_default((const char *)in + done, (char *)at + 4,
                                                  (int)chunk, bound);
                if (packed <= 0)
                        return -EIO;
                for (int i = 0; i < 4; i++)
                        at[i] = (uint8_t)((uint32_t)packed >> (8 * i));
                state_writer__advance(w, 4 + (size_t)packed);
                done += chunk;
        }
        return w->failed ? -ENOMEM : 0;
}

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; i++)
                v |= (uint64_t)p[i] << (8 * i);
        return v;
}

int compression__unpacked_size(const uint8_t *in, size_t n, uint64_t *size,
                               char *err, size_t err_size)
{
        if (n < 8)
                return error_message(err, err_size, "compressed state of %zu bytes has no size", n);
        *size = get_le(in, 8);
        return 0;
}

int compression__unpack(const uint8_t *in, size_t n, uint8_t *out, uint64_t out_size,
                        char *err, size_t err_size)
{
        uint64_t claimed = 0;
        if (compression__unpacked_size(in, n, &claimed, err, err_size))
                return -1;
        if (claimed != out_size)
                return error_message(err, err_size, "compressed state claims %llu bytes, %llu expected",
                                     (unsigned long long)claimed, (unsigned long long)out_size);
        size_t at = 8;
        for (uint64_t done = 0; done < out_size;) {
                uint64_t chunk = out_size - done < COMPRESSION_CHUNK ? out_size - done : COMPRESSION_CHUNK;
                if (n - at < 4)
                        return error_message(err, err_size, "compressed state ends before byte %llu",
                                             (unsigned long long)done);
                uint32_t packed = (uint32_t)get_le(in + at, 4);
                at += 4;
                if (packed > n - at || packed > (uint32_t)LZ4_compressBound((int)chunk))
                        return error_message(err, err_size, "compressed chunk of %u bytes runs past its state",
                                             packed);
                int got = LZ4_decompress_safe((const char *)in + at, (char *)out + done, (int)packed,
                                              (int)chunk);
                if (got < 0 || (uint64_t)got != chunk)
                        return error_message(err, err_size, "compressed chunk at byte %zu does not unpack to %llu bytes",
                                             at, (unsigned long long)chunk);
                at += packed;
                done += chunk;
        }
        if (at != n)
                return error_message(err, err_size, "%zu bytes after the compressed state", n - at);
        return 0;
}
