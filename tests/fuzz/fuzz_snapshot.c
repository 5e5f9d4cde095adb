/* libFuzzer target: any byte string handed to `ftvmm run --restore` is
 * either restored into a machine or refused with a one-line reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/snapshot.h"
#include "fuzz_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[256] = "";
        uint64_t ram_size;
        int rc = snapshot__ram_size(data, size, &ram_size, err, sizeof(err));
        /* Only the RAM size the fuzzing machine has is worth allocating. */
        struct snapshot_extras extras;
        if (!rc && ram_size == FUZZ_MACHINE_RAM)
                rc = snapshot__decode(data, size, fuzz_machine(), fuzz_vcpu(), &extras, err, sizeof(err));
        if (rc && (!err[0] || strchr(err, '\n')))
                abort();
        return 0;
}
