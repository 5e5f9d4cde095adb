/* libFuzzer target: any byte string handed to the log reader, in chunks
 * whose sizes the input itself chooses (so "need more" is exercised at
 * every point), is read or refused with a one-line reason; every record it
 * accepts is decoded the way a replay would: a BOOT's description checked,
 * a machine state restored, a checkpoint's state applied to a machine. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/log_reader.h"
#include "../../vmm/checkpoint.h"
#include "../../vmm/machine_description.h"
#include "../../vmm/snapshot.h"
#include "fuzz_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *why)
{
        if (strchr(why, '\n'))
                abort();
}

static void decode_like_a_replay(const struct log_entry *e)
{
        char err[512] = "";
        struct machine *m = fuzz_machine();
        if (e->kind == LOG_CHECKPOINT &&
            checkpoint__decode(m, e->state.data, (size_t)e->state.length, fuzz_vcpu(), err, sizeof(err)))
                check_message(err);
        if (e->kind == LOG_BOOT) {
                struct cpu_model cpu;
                if (machine_description__check(m, e->description.data, (size_t)e->description.length,
                                               &cpu, err, sizeof(err)))
                        check_message(err);
        }
        if (e->kind == LOG_MACHINE_STATE) {
                uint64_t ram_size;
                struct snapshot_extras extras;
                if (!snapshot__ram_size(e->state.data, (size_t)e->state.length, &ram_size, err, sizeof(err)) &&
                    ram_size == FUZZ_MACHINE_RAM &&
                    snapshot__decode(e->state.data, (size_t)e->state.length, m, fuzz_vcpu(), &extras,
                                     err, sizeof(err)))
                        check_message(err);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct log_reader rd;
        log_reader__init(&rd, 16u << 20);
        size_t fed = 0;
        enum log_read got = LOG_READ_NEED_MORE;
        while (got != LOG_READ_CORRUPT) {
                struct log_entry e;
                while ((got = log_reader__next(&rd, &e)) == LOG_READ_RECORD) {
                        if (e.output.length + e.state.length + e.image.length > size)
                                abort();
                        decode_like_a_replay(&e);
                }
                if (got == LOG_READ_CORRUPT || fed == size)
                        break;
                size_t chunk = 1 + (size_t)data[fed] * 7;
                if (chunk > size - fed)
                        chunk = size - fed;
                if (log_reader__feed(&rd, data + fed, chunk))
                        abort();
                fed += chunk;
        }
        if (got == LOG_READ_CORRUPT && !rd.problem[0])
                abort();
        check_message(rd.problem);
        log_reader__release(&rd);
        return 0;
}
